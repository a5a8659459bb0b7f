"""Tasks from templates: what a PPA, an assessment or a calendar event generates (DOMAIN.md "Tasks from
templates"). Called by the generate_tasks job (jobs/tasking.py) after the trigger's transaction committed.

    outcome = generate_tasks([("ppa", 12), ("event", 7)])   # never commits; outcome.counts, outcome.problems

Which template: a PPA of category moa_ppa / oobc_ppa → ppa_budget_cycle; an assessment → assessment_<methodology>;
an event of kind meeting / workshop / conference → event_<kind> (an occurrence edited on its own is part of its
series and generates nothing; a recurring series generates one set, from its first date).

Where the tasks go (always one `activity` holding one `task` per template item, written by
obcms.workitems.services.build_tree, the one write call for a whole structure):
- a PPA: under its execution project when it is tracked; else the activity is a tree of its own carrying the
  PPA's ppa_id and implementing MOA (its task list) — and when tracking is enabled later, that activity is moved
  under the new execution project (attach_to_execution_project), so its tasks count towards the PPA's progress;
- an assessment: a tree of its own in the assessment's organization;
- an event: a tree of its own in the event's organization (else the organizer's). Events link to no PPA or work
  item in this schema, so there is nothing closer to put them under.

Dates: due = the trigger's date + the item's offset — the PPA's start date (the day it was created when it has
none), the assessment's start date, the event's first day (Manila time). The activity spans the trigger's date
to the last due date.

Placeholders ({ppa_title}, {ppa_code}, {fiscal_year}, {assessment_title}, {methodology}, {event_title},
{event_kind}, {location}, {organization}, {start_date}, {title}) are filled in titles and descriptions; an
unknown one stays visible as written and is logged. A template that is missing, inactive, has no items or an
unreadable placeholder ("{ppa_title") is a problem: that trigger generates nothing and outcome.problems says
why (the job turns it into a failed JobRun and a notification to the admins).

Assignees by role: lead = the PPA's creator, the assessment's lead (else its creator), the event's organizer;
reviewer = the active MFBM analysts (the reviewers of the approval workflow); approver = the active OOBC
executives; contributor and monitor stay unassigned (organizations have no focal person in this schema: a
monitor task waits for someone to take it). Inactive users are never assigned.

Idempotency: each (trigger, template) is claimed in task_generations (models.TaskGeneration) before anything is
written, in the same transaction, with one INSERT … ON CONFLICT DO NOTHING: what is already claimed — by an
earlier run, or by a transaction running at the same moment, which PostgreSQL makes this one wait for — is
skipped.
"""
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from string import Formatter

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload

from ..assessments.models import Assessment
from ..auth.models import User
from ..auth.permissions import can
from ..calendar.models import CalendarEvent
from ..db_types import utcnow
from ..extensions import db
from ..ppas.models import Ppa
from ..templating import format_date, local_time
from ..workitems.models import WorkItem
from ..workitems.services import add_assignees, build_tree, move_work_item
from .models import TaskGeneration, TaskTemplate
from .seed import ASSESSMENT_TEMPLATES, EVENT_TEMPLATES, PPA_TEMPLATE

log = logging.getLogger(__name__)

PPA_CATEGORIES = ("moa_ppa", "oobc_ppa")
ROLE_HOLDERS = {"reviewer": "mfbm_analyst", "approver": "oobc_executive"}
CONTAINER = {  # trigger kind → (activity title, activity category)
    "ppa": ("Budget cycle: {ppa_code} {ppa_title}", "ppa"),
    "assessment": ("Assessment: {assessment_title}", "office"),
    "event": ("{event_kind}: {event_title} ({start_date})", "coordination"),
}


class SystemActor:
    """Who writes generated tasks when the trigger's person may not add work items there (an MFBM analyst's
    meeting, a creator since deactivated): the job itself, with the rights of the global editing roles."""

    id = None
    role = "admin"
    organization_id = None
    is_authenticated = True
    is_active = True
    username = "system"


@dataclass
class Subject:
    """One trigger, read: what its template is, where its tasks go and what fills the placeholders."""

    kind: str
    id: int
    template: str
    base_date: date
    values: dict
    lead_id: int | None
    organization_id: int | None
    ppa_id: int | None = None
    parent: WorkItem | None = None


@dataclass
class Outcome:
    counts: dict = field(default_factory=lambda: {"triggers": 0, "generated": 0, "tasks": 0, "already": 0,
                                                  "skipped": 0, "problems": 0})
    problems: dict = field(default_factory=dict)  # template name → the reason, for the triggers it failed


def generate_tasks(triggers, session=None):
    """Generate the tasks of each trigger [(kind, id)] not generated before; never commits. Returns Outcome."""
    session = session or db.session
    outcome = Outcome()
    wanted = sorted({(str(kind), int(trigger_id)) for kind, trigger_id in triggers})
    outcome.counts["triggers"] = len(wanted)
    subjects = _subjects(session, wanted)
    outcome.counts["skipped"] = len(wanted) - len(subjects)  # gone, or of a kind/category with no template
    templates = _templates(session, {s.template for s in subjects})
    ready = []
    for subject in subjects:
        problem = template_problem(subject.template, templates.get(subject.template))
        if problem:
            outcome.problems[subject.template] = problem
            outcome.counts["problems"] += 1
        else:
            ready.append(subject)
    claimed = _claim(session, ready, templates)
    outcome.counts["already"] = len(ready) - len(claimed)
    todo = [s for s in ready if (s.kind, s.id) in claimed]
    people = _people(session, todo)
    written = _write(todo, templates, people)
    assignments, containers = [], []
    for subject, ids in written:
        template = templates[subject.template]
        assignments += _assignments(subject, template, people, ids[1:])
        containers.append({"_id": claimed[(subject.kind, subject.id)], "_item": ids[0]})
        outcome.counts["tasks"] += len(ids) - 1
    outcome.counts["generated"] = len(written)
    add_assignees(assignments)
    if containers:
        table = TaskGeneration.__table__
        session.execute(sa.update(table).where(table.c.id == sa.bindparam("_id"))
                        .values(work_item_id=sa.bindparam("_item")), containers)
    return outcome


# --------------------------------------------------------------------------------------------- the triggers
def _subjects(session, wanted):
    """The triggers that exist and have a template, read in one query per kind."""
    ids = {kind: [i for k, i in wanted if k == kind] for kind in ("ppa", "assessment", "event")}
    subjects = []
    if ids["ppa"]:
        ppas = session.scalars(sa.select(Ppa).where(Ppa.id.in_(ids["ppa"]), Ppa.category.in_(PPA_CATEGORIES))
                               .options(joinedload(Ppa.implementing_moa))).all()
        roots = _execution_projects(session, ppas)
        subjects += [_ppa_subject(ppa, roots.get(ppa.execution_project_id)) for ppa in ppas]
    if ids["assessment"]:
        subjects += [_assessment_subject(a) for a in session.scalars(
            sa.select(Assessment).where(Assessment.id.in_(ids["assessment"]))
            .options(selectinload(Assessment.organization), selectinload(Assessment.lead)))]
    if ids["event"]:
        subjects += [_event_subject(e) for e in session.scalars(
            sa.select(CalendarEvent).where(CalendarEvent.id.in_(ids["event"]),
                                           CalendarEvent.kind.in_(list(EVENT_TEMPLATES)),
                                           CalendarEvent.series_id.is_(None))
            .options(selectinload(CalendarEvent.organization), selectinload(CalendarEvent.organizer)))]
    return sorted(subjects, key=lambda s: (s.kind, s.id))


def _execution_projects(session, ppas):
    tracked = [p.execution_project_id for p in ppas if p.workitem_tracking_enabled and p.execution_project_id]
    if not tracked:
        return {}
    return {item.id: item for item in session.scalars(sa.select(WorkItem).where(WorkItem.id.in_(tracked)))}


def _ppa_subject(ppa, root):
    organization = ppa.implementing_moa
    base = ppa.start_date or local_time(ppa.created_at).date()
    values = dict(title=ppa.title, ppa_title=ppa.title, ppa_code=ppa.display_code, fiscal_year=ppa.fiscal_year,
                  organization=organization.acronym if organization else "OOBC", start_date=format_date(base))
    return Subject("ppa", ppa.id, PPA_TEMPLATE, base, values, ppa.created_by_id, ppa.implementing_moa_id,
                   ppa_id=ppa.id, parent=root)


def _assessment_subject(assessment):
    values = dict(title=assessment.title, assessment_title=assessment.title,
                  methodology=assessment.methodology_label, organization=assessment.organization.acronym,
                  start_date=format_date(assessment.start_date))
    return Subject("assessment", assessment.id, ASSESSMENT_TEMPLATES[assessment.methodology], assessment.start_date,
                   values, assessment.lead_id or assessment.created_by_id, assessment.organization_id)


def _event_subject(event):
    base = local_time(event.starts_at).date()
    organization = event.organization
    organization_id = event.organization_id if organization else getattr(event.organizer, "organization_id", None)
    values = dict(title=event.title, event_title=event.title, event_kind=event.kind.capitalize(),
                  location=event.location, organization=organization.acronym if organization else "",
                  start_date=format_date(base))
    return Subject("event", event.id, EVENT_TEMPLATES[event.kind], base, values, event.organizer_id, organization_id)


# --------------------------------------------------------------------------------------------- templates
def _templates(session, names):
    if not names:
        return {}
    return {t.name: t for t in session.scalars(sa.select(TaskTemplate).where(TaskTemplate.name.in_(sorted(names)))
                                               .options(joinedload(TaskTemplate.items))).unique()}


def template_problem(name, template):
    """Why `template` (named `name`) cannot generate tasks, or None when it can."""
    if template is None:
        return (f"The task template “{name}” does not exist. Run `flask obcms tasks seed-templates` or create it "
                "in the admin console.")
    if not template.active:
        return f"The task template “{name}” is inactive. Activate it in the admin console."
    if not template.items:
        return f"The task template “{name}” has no items."
    for item in template.items:
        for text in (item.title, item.description):
            try:
                list(Formatter().parse(text or ""))
            except ValueError as error:
                return f"The task template “{name}”, item {item.position} “{item.title}”: {error} (a placeholder " \
                       "is written {name})."
    return None


def fill(text, values, template_name=""):
    """`text` with its {placeholders} filled from `values`; an unknown one is kept as written (and logged).
    The text must parse (template_problem checked it)."""
    out, unknown = [], []
    for literal, name, spec, conversion in Formatter().parse(text or ""):
        out.append(literal)
        if name is None:
            continue
        if name in values:
            out.append(str(values[name]))
        else:
            unknown.append(name)
            out.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    if unknown:
        log.warning("task template %s: unknown placeholder(s) %s left as written", template_name,
                    ", ".join(sorted(set(unknown))))
    return "".join(out)


# --------------------------------------------------------------------------------------------- writing
def _claim(session, subjects, templates):
    """Claim (trigger, template) for each subject in one INSERT … ON CONFLICT DO NOTHING; returns
    {(kind, id): generation id} of the claims this transaction made."""
    if not subjects:
        return {}
    table = TaskGeneration.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = (insert(table).values([{"trigger_kind": s.kind, "trigger_id": s.id,
                                   "template_id": templates[s.template].id, "created_at": now} for s in subjects])
            .on_conflict_do_nothing(index_elements=["trigger_kind", "trigger_id", "template_id"])
            .returning(table.c.trigger_kind, table.c.trigger_id, table.c.id))
    return {(kind, trigger_id): generation_id for kind, trigger_id, generation_id in session.execute(stmt)}


def _people(session, subjects):
    """{"lead": {user id: User}, "reviewer": [ids], "approver": [ids]}: the active users the roles map to,
    in one query."""
    leads = sorted({s.lead_id for s in subjects if s.lead_id is not None})
    if not subjects:
        return {"lead": {}, **{role: [] for role in ROLE_HOLDERS}}
    users = session.scalars(sa.select(User).where(User.is_active, sa.or_(
        User.id.in_(leads), User.role.in_(list(ROLE_HOLDERS.values())))).order_by(User.id)).all()
    people = {"lead": {u.id: u for u in users if u.id in leads}}
    for role, holder in ROLE_HOLDERS.items():
        people[role] = [u.id for u in users if u.role == holder]
    return people


def _container(subject, template):
    """The activity holding one task per template item, in the shape build_tree takes."""
    values, name = subject.values, template.name
    title, category = CONTAINER[subject.kind]
    tasks = [dict(title=fill(item.title, values, name)[:500], description=fill(item.description, values, name) or None,
                  work_type="task", priority=item.priority, estimated_hours=item.estimated_hours,
                  due_date=subject.base_date + timedelta(days=item.due_offset_days))
             for item in template.items]
    container = dict(title=fill(title, values, name)[:500], work_type="activity", activity_category=category,
                     priority="medium", start_date=subject.base_date,
                     due_date=max(task["due_date"] for task in tasks), children=tasks,
                     description=f"Generated from the task template {name}.")
    if subject.parent is None:
        container.update(organization_id=subject.organization_id, ppa_id=subject.ppa_id)
    return container


def _actor(subject, people):
    """The lead when they may add work items there, else the job (SystemActor)."""
    lead = people["lead"].get(subject.lead_id)
    where = subject.parent if subject.parent is not None else WorkItem(organization_id=subject.organization_id)
    return lead if can(lead, "workitem.edit", where) else SystemActor()


def _write(subjects, templates, people):
    """Write every subject's activity and tasks through build_tree: one call per subject that goes under an
    existing item (its tree is locked and rolled up), one call for all the new trees of the same actor.
    Returns [(subject, its new ids: activity first, then the tasks in order)]."""
    written, roots = [], {}
    for subject in subjects:
        container, actor = _container(subject, templates[subject.template]), _actor(subject, people)
        if subject.parent is not None:
            written.append((subject, build_tree([container], actor, parent=subject.parent)))
        else:
            roots.setdefault(actor.id, (actor, []))[1].append((subject, container))
    for actor, group in roots.values():
        ids = iter(build_tree([container for _, container in group], actor))
        written += [(subject, [next(ids) for _ in range(1 + len(container["children"]))])
                    for subject, container in group]
    return written


def _assignments(subject, template, people, task_ids):
    """[(task id, user id)]: lead → the subject's lead; reviewer, approver → the role's holders; others nobody."""
    lead = people["lead"].get(subject.lead_id)
    pairs = []
    for task_id, item in zip(task_ids, template.items, strict=True):
        if item.role == "lead":
            holders = [lead.id] if lead is not None else []
        else:
            holders = people.get(item.role, [])  # contributor, monitor: nobody
        pairs += [(task_id, user_id) for user_id in holders]
    return pairs


# --------------------------------------------------------------------------------------------- tracking
def attach_to_execution_project(ppa, root, actor):
    """Tracking was just enabled for `ppa` (its execution project `root` generated): its budget-cycle activity,
    when it is still a tree of its own, moves under the project (move_work_item, the one write call), so the
    tasks count towards the PPA's progress from now on. Subscribed in obcms/ppas/tracking.py's
    AFTER_EXECUTION_PROJECT."""
    activity = db.session.scalar(
        sa.select(WorkItem).join(TaskGeneration, TaskGeneration.work_item_id == WorkItem.id)
        .where(TaskGeneration.trigger_kind == "ppa", TaskGeneration.trigger_id == ppa.id,
               WorkItem.parent_id.is_(None)))
    if activity is None:
        return
    mover = actor if can(actor, "workitem.edit", activity) and can(actor, "workitem.edit", root) else SystemActor()
    move_work_item(activity, mover, activity.version, parent=root)
