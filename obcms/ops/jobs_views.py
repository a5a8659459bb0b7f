"""The Jobs page for administrators ("jobs.run"): every registered job with its cron schedule and latest runs
(counts, duration, errors, per-item failures linked to their objects), and "Run now".

    GET  /jobs                   the page
    GET  /jobs/<name>            one job's rows (a fragment that polls itself while its latest run is unfinished)
    POST /jobs/<name>/run        enqueue the job (after commit; inline without Redis) → the job's rows again
The JobRun rows are the truth (obcms/jobqueue); the admin console lists them all under System → Job runs.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from jobs.schedule import SCHEDULE

from ..auth.permissions import require
from ..errors import NotFound
from ..extensions import db
from ..htmx import is_htmx, render_page
from ..jobqueue import JOBS, JobRun, enqueue
from ..transaction import respond_after_commit, writes

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

RUNS_SHOWN = 5
UNFINISHED = ("queued", "running", "retrying")
# Where the ids of a job's per-item failures lead (the job's `subject`, obcms.jobqueue.registry.job).
SUBJECT_LINKS = {"ppa": ("ppas.detail", "ppa_id", "PPA"), "work_item": ("workitems.show", "item_id", "Work item")}


@dataclass(frozen=True)
class JobSummary:
    name: str
    description: str
    schedule: str | None
    subject: str | None
    runs: list

    @property
    def polling(self):
        return bool(self.runs) and self.runs[0].status in UNFINISHED

    def failure_links(self, run):
        """[(label, url or None, error)] of a run's per-item failures."""
        failures = (run.counts or {}).get("failures") or {}
        endpoint, argument, label = SUBJECT_LINKS.get(self.subject, (None, None, "Item"))
        links = []
        for key, error in sorted(failures.items(), key=lambda item: str(item[0])):
            url = url_for(endpoint, **{argument: int(key)}) if endpoint and str(key).isdigit() else None
            links.append((f"{label} #{key}", url, error))
        return links


def _summaries(names):
    """The JobSummary of each job in `names`, with its latest RUNS_SHOWN runs (one query)."""
    schedule = {name: expression for expression, name in SCHEDULE}
    latest = (sa.select(JobRun.id, sa.func.row_number().over(partition_by=JobRun.name, order_by=JobRun.id.desc())
                        .label("n")).where(JobRun.name.in_(names)).subquery())
    runs = {}
    for run in db.session.scalars(sa.select(JobRun).join(latest, latest.c.id == JobRun.id)
                                  .where(latest.c.n <= RUNS_SHOWN).order_by(JobRun.id.desc())):
        runs.setdefault(run.name, []).append(run)
    return [JobSummary(name, ((JOBS[name].__doc__ or "").strip().split("\n\n")[0]), schedule.get(name),
                       getattr(JOBS[name], "subject", None), runs.get(name, [])) for name in names]


def _job_names():
    """Scheduled jobs in schedule order, then the others by name."""
    scheduled = [name for _, name in SCHEDULE if name in JOBS]
    return scheduled + sorted(set(JOBS) - set(scheduled))


def _known(name):
    if name not in JOBS:
        raise NotFound(f"There is no job {name!r}.")
    return name


@bp.get("")
def index():
    require(current_user, "jobs.run")
    return render_page("ops/jobs.html", jobs=_summaries(_job_names()))


@bp.get("/<job_name>")
def job_rows(job_name):
    _known(job_name)
    require(current_user, "jobs.run")
    (job,) = _summaries([job_name])
    return render_template("ops/_job.html", job=job)


@bp.post("/<job_name>/run")
@writes
def run_now(job_name):
    _known(job_name)  # an unknown job is missing (404) before it is forbidden
    require(current_user, "jobs.run")
    enqueue(job_name, requested_by=current_user)
    if not is_htmx():
        return redirect(url_for(".index"), code=303)
    # The commit starts the run (inline without Redis); the rows then poll until it is done.
    return respond_after_commit(lambda: job_rows(job_name))
