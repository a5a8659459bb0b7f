"""Task generation from templates."""
import sqlalchemy as sa

from obcms.auth.models import User
from obcms.extensions import db
from obcms.jobqueue import job
from obcms.notifications import notify
from obcms.tasking.generation import generate_tasks as generate

TEMPLATES_URL = "/admin/task-templates/"


class TaskTemplateProblem(Exception):
    """A trigger's template is missing or broken: the run fails with the reasons, the admins are told."""


@job("generate_tasks")
def generate_tasks(run, triggers=()):
    """After a PPA, an assessment or a meeting/workshop/conference event was created: its tasks from its
    template, once (obcms/tasking/generation.py). Triggers whose template is missing or broken generate nothing:
    the others are kept, the admins get a notification, and the run fails naming each template and why.
    Counts: triggers, generated, tasks, already (generated before), skipped (gone or no template), problems."""
    outcome = generate(triggers)
    if not outcome.problems:
        return outcome.counts
    reasons = " ".join(outcome.problems.values())
    admins = db.session.scalars(sa.select(User.id).where(User.role == "admin", User.is_active)).all()
    notify(admins, "task_template", f"Tasks were not generated for {outcome.counts['problems']} new record(s): "
           f"{reasons}", url=TEMPLATES_URL)
    db.session.commit()  # what could be generated, and the notification, stay; the run fails
    raise TaskTemplateProblem(reasons)
