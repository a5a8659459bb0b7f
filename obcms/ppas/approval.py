"""The PPA approval workflow (DOMAIN.md "Approval workflow"), declared as data and attached to Ppa as its
`__state_machine__` on `approval_status` (registered here). Fire it with obcms.workflow.fire(ppa, "submit", actor, …).

Who acts:
- Submit (draft → technical_review) and resubmit (rejected → draft): the PPA's editors as DOMAIN.md names
  them — oobc_staff, and moa_staff of the PPA's implementing MOA. Decision: admin and oobc_executive do NOT
  submit. The executive is the last reviewer (executive approval) and admin keeps the console; leaving them
  out of submission keeps preparing and approving in different hands. The table names admin where admin
  acts (enact), so its absence from submit is read as meant.
- Each review state has one reviewer role (REVIEWERS) who advances or rejects (reject needs a comment).
  The submitter never acts on a review state (not_by_submitter).
- approved → enacted: oobc_executive or admin. enacted is final (no transition leaves it).

Effects, in the transaction of the transition: submit records submitted_by; entering technical_review
with tracking enabled and no execution project creates it (obcms.ppas.tracking.ensure_execution_project);
leaving a review state closes its open reviewer task (completed when advanced, cancelled when rejected) and
entering one opens a new task for the reviewers (a stand-alone root task linked to the PPA through ppa_id and
organization_id, and recorded in ApprovalTask — it is never the PPA's execution project, which is
Ppa.execution_project_id only); entering enacted starts a not_started execution project (fire() on the
work item); the submitter is notified of every transition someone else makes.
"""
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import has_request_context, url_for
from sqlalchemy.orm import Mapped, mapped_column

from ..audit.context import audit_cause
from ..audit.recording import change_entries, creation_entries, write_entries
from ..auth.models import User
from ..auth.permissions import can
from ..db_types import UTCDateTime, utcnow
from ..errors import NotAllowed
from ..extensions import db
from ..money import format_pesos
from ..notifications.services import notify_each
from ..workflow import (
    StateMachine,
    Transition,
    availability_of,
    batched,
    bump_version,
    derived_status,
    fire_many,
    firing_comment,
    register_machine,
    sets_columns,
)
from ..workitems import tree
from ..workitems.models import WorkItem
from ..workitems.services import add_assignees
from ..workitems.states import OPEN
from ..workitems.tree.session_sync import expire_loaded
from .locking import lock_ppa, lock_ppas
from .models import APPROVAL_STATES, Ppa
from .tracking import ensure_execution_project

# The way to enactment, in order, as the Approval tab's stepper shows it (stakeholder consultation may be skipped).
APPROVAL_PATH = ("draft", "technical_review", "budget_review", "stakeholder_consultation", "executive_approval",
                 "approved", "enacted")
REVIEW_STATES = ("technical_review", "budget_review", "stakeholder_consultation", "executive_approval")
EDITOR_ROLES = ("oobc_staff", "moa_staff")
# The role that acts (advances or rejects) in each review state.
REVIEWERS = {"technical_review": "mfbm_analyst", "budget_review": "mfbm_analyst",
             "stakeholder_consultation": "bpda_planner", "executive_approval": "oobc_executive"}
# "Approve" as a reviewer means the step forward from the review state the PPA is in (bulk approve fires it).
APPROVE_STEP = {"technical_review": "pass_technical_review", "budget_review": "send_to_executive_approval",
                "stakeholder_consultation": "complete_consultation", "executive_approval": "approve"}
ENTRY_REQUIREMENTS = {
    "technical_review": ("title", "category", "sector", "lead_organization_id", "summary"),
    "budget_review": ("budget_allocation", "funding_source", "appropriation_class"),
    "executive_approval": ("outcome_framework",),
}


@dataclass(frozen=True)
class ReviewTask:
    title: str  # with {title}: the PPA title
    priority: str
    days: int  # due this many days after the PPA enters the state


REVIEW_TASKS = {
    "technical_review": ReviewTask("Conduct technical review for: {title}", "high", 5),
    "budget_review": ReviewTask("Review budget allocation for: {title}", "high", 5),
    "stakeholder_consultation": ReviewTask("Coordinate stakeholder consultation for: {title}", "high", 10),
    "executive_approval": ReviewTask("Prepare executive approval package for: {title}", "critical", 3),
}


class ApprovalTask(db.Model):
    """The reviewer task opened when a PPA entered a review state (one per entry; the work item is a
    stand-alone root task, deleted with the PPA)."""

    __tablename__ = "ppa_approval_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="CASCADE"), nullable=False, index=True)
    work_item_id: Mapped[int] = mapped_column(sa.ForeignKey("work_items.id", ondelete="CASCADE"), nullable=False,
                                              unique=True)
    approval_status: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


# --------------------------------------------------------------------------------------------- who acts
def may_edit(ppa, actor):
    """Editors: oobc_staff, or moa_staff of the PPA's implementing MOA (the role itself is checked first)."""
    return True if can(actor, "ppa.edit", ppa) else "Only staff of this PPA's implementing MOA."


def reviews_current_state(ppa, actor):
    """Reject: the role that may advance from the PPA's current review state."""
    role = REVIEWERS.get(ppa.approval_status)
    if role is None or actor.role == role:
        return True
    return f"In {ppa.approval_status.replace('_', ' ')} only a {role.replace('_', ' ')} may reject."


# --------------------------------------------------------------------------------------------- effects
record_submitter = sets_columns(lambda transition, actor: {"submitted_by_id": actor.id})


def create_execution_project(ppa, transition, actor):
    if ppa.workitem_tracking_enabled and ppa.execution_project_id is None:
        ensure_execution_project(ppa, actor)


def _close_review_tasks_of(ppas, transition, actor):
    """The reviewer tasks still open for these PPAs are done (advanced) or cancelled (rejected): one read, one
    UPDATE, one INSERT of audit rows (each with its PPA's cause)."""
    status = "cancelled" if transition.target == "rejected" else "completed"
    session = db.session
    session.flush()
    tasks = session.execute(
        sa.select(ApprovalTask.ppa_id, WorkItem.id, WorkItem.version, WorkItem.status, WorkItem.progress,
                  WorkItem.completed_at)
        .join(ApprovalTask, ApprovalTask.work_item_id == WorkItem.id)
        .where(ApprovalTask.ppa_id.in_([ppa.id for ppa in ppas]), WorkItem.status.in_(OPEN))).all()
    if not tasks:
        return
    values = {"status": status, "completed_at": utcnow() if status == "completed" else None}
    if status == "completed":
        values["progress"] = 100  # as completing any work item does (a review task is a tree of one)
    ids = [task.id for task in tasks]
    entries = []
    with derived_status(f"approval '{transition.name}'"):
        session.execute(sa.update(WorkItem.__table__).where(WorkItem.__table__.c.id.in_(ids))
                        .values(bump_version(values, WorkItem)))
    for task in tasks:
        old = {"status": task.status, "completed_at": task.completed_at, "progress": task.progress}
        with audit_cause(f"approval '{transition.name}' of PPA #{task.ppa_id}"):
            entries += change_entries(WorkItem, {task.id: {k: (old[k], v) for k, v in values.items()}},
                                      versions={task.id: task.version + 1})
    write_entries(entries, session.connection())
    expire_loaded(session, ids, ("status", "completed_at", "progress", "version", "updated_at"))


@batched(_close_review_tasks_of)
def close_review_tasks(ppa, transition, actor):
    _close_review_tasks_of([ppa], transition, actor)


def _open_review_tasks_of(ppas, transition, actor):
    """A task per PPA for every active user of the role that acts in the state just entered: the tasks in one
    INSERT (stand-alone roots), their assignees, ApprovalTask rows, audit rows and notifications in one each."""
    session = db.session
    state = transition.target
    spec = REVIEW_TASKS[state]
    reviewers = session.scalars(sa.select(User).where(User.role == REVIEWERS[state], User.is_active)
                                .order_by(User.id)).all()
    today = date.today()
    actor_id = getattr(actor, "id", None)
    nodes = [dict(title=spec.title.format(title=ppa.title)[:500], work_type="task", status="not_started",
                  priority=spec.priority, start_date=today, due_date=today + timedelta(days=spec.days),
                  ppa_id=ppa.id, organization_id=ppa.implementing_moa_id, created_by_id=actor_id,
                  description=f"{ppa.display_code}: the PPA is in {state.replace('_', ' ')}.") for ppa in ppas]
    ids = tree.insert_many([dict(node) for node in nodes], session=session)
    add_assignees([(task_id, user.id) for task_id in ids for user in reviewers], session=session)
    session.execute(sa.insert(ApprovalTask), [dict(ppa_id=ppa.id, work_item_id=task_id, approval_status=state)
                                              for ppa, task_id in zip(ppas, ids, strict=True)])
    write_entries([row for task_id, node in zip(ids, nodes, strict=True)
                   for row in creation_entries(WorkItem, task_id, node)], session.connection())
    # The people who must act hear of it, not only the submitter.
    due = f"{today + timedelta(days=spec.days):%-d %b %Y}"
    notify_each([([u.id for u in reviewers if u.id != actor_id], "approval",
                  f"{ppa.display_code} “{ppa.title}” waits for your {state.replace('_', ' ')}, sent by "
                  f"{_who(actor)}. Your review task is due {due}.", approval_url(ppa)) for ppa in ppas],
                session=session)


@batched(_open_review_tasks_of)
def open_review_task(ppa, transition, actor):
    _open_review_tasks_of([ppa], transition, actor)


def _start_execution_projects_of(ppas, transition, actor):
    """Enacting starts the execution projects that have not started: through their workflow, all at once."""
    ids = [ppa.execution_project_id for ppa in ppas if ppa.execution_project_id is not None]
    if not ids:
        return
    projects = db.session.scalars(sa.select(WorkItem).where(WorkItem.id.in_(ids),
                                                            WorkItem.status == "not_started")).all()
    options = availability_of(projects, "start", actor)
    for project in projects:
        if not options[project.id].allowed:  # what fire() would answer
            raise NotAllowed(f"You tried 'Start' on {project}. {options[project.id].reason}")
    fire_many([(project, "start") for project in projects], actor)


@batched(_start_execution_projects_of)
def start_execution_project(ppa, transition, actor):
    _start_execution_projects_of([ppa], transition, actor)


def approval_url(ppa):
    return url_for("ppas.detail", ppa_id=ppa.id, tab="approval") if has_request_context() else \
        f"/ppas/{ppa.id}/approval"


def _who(actor):
    return getattr(actor, "display_name", None) or "the system"


def _submitter_message(ppa, transition, actor, comment):
    """(user ids, kind, message, url) telling the submitter of the step, or None (none, or they acted)."""
    if ppa.submitted_by_id is None or ppa.submitted_by_id == getattr(actor, "id", None):
        return None
    state = transition.target.replace("_", " ")
    where = f"in {state}" if transition.target in REVIEWERS or transition.target == "draft" else state
    message = f"{ppa.display_code} “{ppa.title}” is now {where}: {_who(actor)} chose “{transition.label}”."
    if comment:
        message += f" Their comment: “{comment}”"
    return [ppa.submitted_by_id], "approval", message, approval_url(ppa)


def _notify_submitters_of(ppas, transition, actor):
    comment = firing_comment()
    notify_each([m for m in (_submitter_message(ppa, transition, actor, comment) for ppa in ppas) if m])


@batched(_notify_submitters_of)
def notify_submitter(ppa, transition, actor):
    """The submitter hears of every step, as a sentence with the PPA's code; a rejection quotes its comment."""
    _notify_submitters_of([ppa], transition, actor)


def _effects(target, leaving_review=True):
    """The effects of a transition into `target`: leaving a review state closes its task, entering one opens
    the next, entering enacted starts the execution project; the submitter hears of it last."""
    effects = [close_review_tasks] if leaving_review else []
    if target == "technical_review":
        effects.append(create_execution_project)
    if target in REVIEW_TASKS:
        effects.append(open_review_task)
    if target == "enacted":
        effects.append(start_execution_project)
    return [*effects, notify_submitter]


def _sent_to(state):
    return lambda ppa: f"{ppa.display_code} sent to {state.replace('_', ' ')}."


def _asks(verb):
    """The confirmation of a decision that commits money: names the PPA and its amount."""
    return lambda ppa: (f"{verb} {ppa.display_code} “{ppa.title}” with its budget allocation of "
                        f"{format_pesos(ppa.budget_allocation)}?")


def _review(name, source, target, label, kind="primary", **extra):
    return Transition(name, source, target, label=label, roles=(REVIEWERS[source],), not_by_submitter=True,
                      effects=_effects(target), kind=kind, done=extra.pop("done", _sent_to(target)), **extra)


APPROVAL_MACHINE = StateMachine(
    field="approval_status",
    states=APPROVAL_STATES,
    initial="draft",
    permission="ppa.read",
    lock=lock_ppa,  # the execution project's tree first, then the PPA row (enact starts the project)
    lock_many=lock_ppas,
    entry_requirements=ENTRY_REQUIREMENTS,
    transitions=[
        Transition("submit", "draft", "technical_review", label="Submit for technical review", roles=EDITOR_ROLES,
                   allow=may_edit, submits=True,
                   effects=[record_submitter, *_effects("technical_review", leaving_review=False)],
                   done=lambda ppa: f"{ppa.display_code} submitted for technical review."),
        _review("pass_technical_review", "technical_review", "budget_review", "Pass technical review"),
        _review("send_to_executive_approval", "budget_review", "executive_approval", "Send to executive approval"),
        _review("send_to_consultation", "budget_review", "stakeholder_consultation",
                "Send to stakeholder consultation", kind="secondary"),
        _review("complete_consultation", "stakeholder_consultation", "executive_approval",
                "Consultation done: send to executive approval"),
        _review("approve", "executive_approval", "approved", "Approve", confirm=_asks("Approve"),
                done=lambda ppa: f"{ppa.display_code} approved."),
        Transition("enact", "approved", "enacted", label="Enact", roles=("oobc_executive", "admin"),
                   effects=_effects("enacted", leaving_review=False), confirm=_asks("Enact"),
                   done=lambda ppa: f"{ppa.display_code} enacted: its execution project has started."),
        Transition("reject", REVIEW_STATES, "rejected", label="Reject", roles=tuple(sorted(set(REVIEWERS.values()))),
                   allow=reviews_current_state, not_by_submitter=True, comment_required=True,
                   effects=_effects("rejected"), kind="danger",
                   done=lambda ppa: f"{ppa.display_code} rejected and returned to its editors."),
        Transition("resubmit", "rejected", "draft", label="Return to draft", roles=EDITOR_ROLES, allow=may_edit,
                   effects=[notify_submitter], done=lambda ppa: f"{ppa.display_code} is a draft again."),
    ],
)
register_machine(Ppa, APPROVAL_MACHINE)
