"""Execution tracking: a PPA's work-breakdown tree generated from a structure template, and the PPA's progress
and status following that tree (DOMAIN.md "Structure templates", "The PPA from its tree").

    nodes = preview_structure(ppa, "program")                    # what would be generated; writes nothing
    root = enable_tracking(ppa, user, "program", "weighted")     # the tree, linked as ppa.execution_project_id
    disable_tracking(ppa, admin, confirmed=True)                 # the tree is kept, detached
    ensure_execution_project(ppa, user)                          # idempotent (approval: entering technical_review)
    result = sync_ppa_from_tree([root.id])                       # set-based; result.changed, result.moved (≥ 5 points)
    follow_ppa_status(ppa, user)                                 # a PPA status edit → the project's transition
    follow_ppa_organization(ppa)                                 # a new implementing MOA → its work items' organization
    follow_ppa_plan(ppa, user, before)                           # a new budget or dates → the project's root

Generation (one bulk insert through workitems.services.build_tree, in the caller's transaction):
- The root is a `project` titled with the PPA title, carrying its budget allocation (0 when none), its dates
  (start_date → target_end_date), its priority and the status matching the PPA's (planning → not_started,
  ongoing → in_progress, on_hold → blocked, completed, cancelled: so enabling never resets the PPA's status;
  its progress does follow the new tree), with ppa_id and the implementing MOA as organization on
  every node. Generated activities have the category `ppa`. A child takes its parent's priority unless the
  template names one.
- Budgets: each level's percentages are the weights of obcms/budget/distribution.py (largest remainder at the
  centavo; ties to the earlier sibling), so every level sums to its parent exactly.
- Dates: a parent's window counts its days inclusively (start and due both belong to it). The days are split
  over the children by the time percentages with the same largest-remainder rule on whole days (_split_days),
  and the children follow each other: each starts the day after its previous sibling's due date, and the last
  ends on the parent's due date. A child whose share rounds to no whole day takes one from the sibling with the
  most days (the earlier on ties); only in a window with fewer days than children do the extra children
  get the single day where they would begin (sharing it), never a day outside the parent. Without both PPA
  dates no dates are set.
- `milestone`: one activity per PPA milestone in date order, equal budget shares, due on the milestone date,
  starting the day after the previous one's due date (the first on the PPA start; never after its own due
  date); its status from the milestone: pending → not_started, in_progress → in_progress, completed →
  completed (progress 100), missed → at_risk. Creating a node with a status is allowed by the workflow
  guard (it refuses only *changes* outside fire()). Every node generated completed (so also the root of a
  completed PPA) gets completed_at. No milestones → one task "Main Deliverable".
- `outcome`: one activity per outcome, one task per output, equal shares of budget and time; no outcomes →
  one task "Main Deliverable".

Disabling keeps the tree, detached: execution_project_id is cleared, the nodes keep their ppa_id (so the
tree stays in the PPA's scope and history, and is deleted with the PPA), and progress no longer flows from
it. Re-enabling generates a new tree from the chosen template.

The sync (only for PPAs with tracking on, and only the parts whose auto_sync_progress / auto_sync_status is
on): progress = the execution project's progress (an integer already, rounded half up by the roll-ups);
status not_started→planning, in_progress→ongoing, at_risk→ongoing, blocked→on_hold, completed→completed,
cancelled→cancelled. It runs after every roll-up (obcms.workitems.rollup.AFTER_RECOMPUTE), in the same
transaction, and nightly (jobs/ppas.py). The reverse (follow_ppa_status) fires the project's transition when
an editor sets the PPA's status: planning→not_started, ongoing→in_progress, on_hold→blocked. The sync never
calls it back (it writes set-based), so the two cannot loop.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..audit.context import audit_cause
from ..audit.recording import change_entries, record_bulk_change
from ..auth.permissions import require
from ..budget.distribution import distribute_equal, distribute_weighted
from ..database import is_sqlite
from ..db_types import utcnow
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..money import format_pesos, split_largest_remainder
from ..notifications.services import notify_each
from ..workflow import fire
from ..workflow.guard import derived_status
from ..workitems import rollup
from ..workitems.models import WorkItem
from ..workitems.services import build_tree, update_work_item
from ..workitems.tree.session_sync import expire_loaded
from .locking import lock_ppa
from .models import DISTRIBUTION_POLICIES, STRUCTURE_TEMPLATES, Ppa, label

TEMPLATES = STRUCTURE_TEMPLATES
# Told when a PPA's execution project was just generated: callback(ppa, root, actor), in the same transaction.
# Task generation subscribes (obcms/tasking: the PPA's budget-cycle tasks move under the new project); a
# registry keeps this package from importing the ones built on it.
AFTER_EXECUTION_PROJECT = []
DEFAULT_TEMPLATE = "program"
TEMPLATE_DESCRIPTIONS = {
    "program": "3 sub-projects (Planning & Design, Implementation, Monitoring & Evaluation), 3 activities each",
    "activity": "3 activities (Preparation, Execution, Completion), 2 tasks each",
    "milestone": "one activity per PPA milestone, due on its date",
    "outcome": "one activity per outcome, one task per output",
    "minimal": "one task: Main Deliverable",
}
MAIN_DELIVERABLE = "Main Deliverable"

# (title, budget %, time %, priority or None, [(child title, % of budget and time)])
PROGRAM = (
    ("Planning & Design", "20", "20", "high", (
        ("Needs Assessment & Feasibility Study", "50"), ("Stakeholder Consultation", "30"),
        ("Program Design & Approval", "20"))),
    ("Implementation", "60", "65", "critical", (
        ("Phase 1: Launch & Mobilization", "30"), ("Phase 2: Service Delivery", "50"),
        ("Phase 3: Consolidation", "20"))),
    ("Monitoring & Evaluation", "20", "15", "medium", (
        ("Data Collection & Analysis", "40"), ("Impact Assessment", "40"), ("Final Report & Documentation", "20"))),
)
ACTIVITY = (
    ("Preparation", "15", "20", "high", (("Planning & Coordination", "50"), ("Resource Mobilization", "50"))),
    ("Execution", "75", "70", "critical", (("Core Activities", "80"), ("Support & Logistics", "20"))),
    ("Completion", "10", "10", "medium", (("Documentation & Reporting", "60"), ("Lessons Learned", "40"))),
)
# (container type, child type) of the two-level templates
LEVELS = {"program": (PROGRAM, "sub_project", "activity"), "activity": (ACTIVITY, "activity", "task")}
MILESTONE_STATUS = {"pending": "not_started", "in_progress": "in_progress", "completed": "completed",
                    "missed": "at_risk"}

# The PPA from its tree.
STATUS_FROM_PROJECT = {"not_started": "planning", "in_progress": "ongoing", "at_risk": "ongoing",
                       "blocked": "on_hold", "completed": "completed", "cancelled": "cancelled"}
PROJECT_STATUS_FROM_PPA = {"planning": "not_started", "ongoing": "in_progress", "on_hold": "blocked"}
# A generated root starts where the PPA is, so enabling tracking never resets the PPA's status.
INITIAL_PROJECT_STATUS = {**PROJECT_STATUS_FROM_PPA, "completed": "completed", "cancelled": "cancelled"}
# (wanted project status, current project status) → the transition that gets there
ROUTES = {("in_progress", "not_started"): "start", ("in_progress", "blocked"): "resume",
          ("in_progress", "completed"): "reopen", ("in_progress", "cancelled"): "reopen",
          ("blocked", "not_started"): "block", ("blocked", "in_progress"): "block", ("blocked", "at_risk"): "block"}
NOTIFY_POINTS = 5
SYNC_STATUSES = ("planning", "ongoing")  # the nightly job's PPAs


# ------------------------------------------------------------------------------------------------- generation
def _split_days(count, weights):
    """Whole days per child: `count` days split by `weights` (percentages, or None for equal shares) by
    largest remainder in whole days (obcms.money.split_largest_remainder with unit 1); then a child left
    without a day takes one from the sibling with the most (the earlier on ties), while there are enough days."""
    basis = [1] * len(weights) if weights[0] is None else [Decimal(w) for w in weights]
    days = [int(d) for d in split_largest_remainder(count, basis, unit=1)]
    while 0 in days and count >= len(days):
        days[days.index(max(days))] -= 1
        days[days.index(0)] = 1
    return days


def _windows(start, due, weights):
    """Consecutive (start, due) windows inside [start, due] for the children (see the module docstring)."""
    if start is None or due is None:
        return [(None, None)] * len(weights)
    out, cursor = [], start
    for days in _split_days((due - start).days + 1, weights):
        if days == 0:
            day = min(cursor, due)
            out.append((day, day))
            continue
        out.append((cursor, cursor + timedelta(days=days - 1)))
        cursor += timedelta(days=days)
    return out


def _budgets(amount, weights):
    if weights[0] is None:
        return list(distribute_equal(amount, len(weights)).amounts().values())
    return list(distribute_weighted(amount, weights).amounts().values())


def _node(title, work_type, priority, budget, window, children=(), **extra):
    node = {"title": title, "work_type": work_type, "priority": priority, "allocated_budget": budget,
            "start_date": window[0], "due_date": window[1], "children": list(children), **extra}
    if work_type == "activity":
        node["activity_category"] = "ppa"
    return node


def _split(parent, specs, work_type, budget_weights=None, time_weights=None):
    """Children of `parent` (a node dict) from specs [(title, priority, extra fields)], equal shares unless
    weights are given."""
    n = len(specs)
    budgets = _budgets(parent["allocated_budget"], budget_weights or [None] * n)
    windows = _windows(parent["start_date"], parent["due_date"], time_weights or [None] * n)
    return [_node(title, work_type, priority or parent["priority"], budget, window, **extra)
            for (title, priority, extra), budget, window in zip(specs, budgets, windows, strict=True)]


def _main_deliverable(root):
    return _split(root, [(MAIN_DELIVERABLE, None, {})], "task")


def _two_levels(root, template):
    spec, container_type, child_type = LEVELS[template]
    containers = _split(root, [(title, priority, {}) for title, _, _, priority, _ in spec], container_type,
                        [b for _, b, _, _, _ in spec], [t for _, _, t, _, _ in spec])
    for container, (_, _, _, _, kids) in zip(containers, spec, strict=True):
        weights = [pct for _, pct in kids]
        container["children"] = _split(container, [(title, None, {}) for title, _ in kids], child_type,
                                       weights, weights)
    return containers


def _milestones(root, milestones):
    if not milestones:
        return _main_deliverable(root)
    budgets = _budgets(root["allocated_budget"], [None] * len(milestones))
    children, previous_due = [], None
    for milestone, budget in zip(milestones, budgets, strict=True):
        due = _as_date(milestone["date"])
        start = root["start_date"] if previous_due is None else previous_due + timedelta(days=1)
        if start is None or start > due:
            start = due
        status = MILESTONE_STATUS.get(milestone.get("status"), "not_started")
        extra = {"status": status, "progress": 100} if status == "completed" else {"status": status}
        children.append(_node(milestone["title"], "activity", root["priority"], budget, (start, due), **extra))
        previous_due = due
    return children


def _as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(value)


def _outcomes(root, outcomes):
    if not outcomes:
        return _main_deliverable(root)
    activities = _split(root, [(o["title"], None, {}) for o in outcomes], "activity")
    for activity, outcome in zip(activities, outcomes, strict=True):
        outputs = outcome.get("outputs") or []
        if outputs:
            activity["children"] = _split(activity, [(title, None, {}) for title in outputs], "task")
    return activities


def preview_structure(ppa, template):
    """The tree `template` would generate for `ppa`: [root] as nested dicts (title, work_type, priority,
    allocated_budget, start_date, due_date, status…, children) in the shape build_tree takes. Writes nothing,
    reads nothing beyond the PPA's own fields."""
    if template not in TEMPLATES:
        raise ValidationFailed(f"Unknown structure template '{template}'.",
                               errors={"template": [f"Choose one of: {', '.join(TEMPLATES)}."]})
    budget = ppa.budget_allocation if ppa.budget_allocation is not None else Decimal("0.00")
    root = _node(ppa.title, "project", ppa.priority or "medium", budget, (ppa.start_date, ppa.target_end_date),
                 status=INITIAL_PROJECT_STATUS.get(ppa.status, "not_started"))
    if template in LEVELS:
        root["children"] = _two_levels(root, template)
    elif template == "milestone":
        root["children"] = _milestones(root, ppa.milestones or [])
    elif template == "outcome":
        root["children"] = _outcomes(root, ppa.outcome_framework or [])
    else:
        root["children"] = _main_deliverable(root)
    return [root]


def flatten(nodes, depth=0):
    """[(depth, node)] in tree order, for showing a preview as a table."""
    out = []
    for node in nodes:
        out.append((depth, node))
        out.extend(flatten(node["children"], depth + 1))
    return out


# ------------------------------------------------------------------------------------------------- enable
def _lock(ppa):
    lock_ppa(ppa)
    db.session.refresh(ppa)


def _generate(ppa, actor, template):
    structure = preview_structure(ppa, template)
    ids = build_tree(structure, actor, organization_id=ppa.implementing_moa_id, ppa_id=ppa.id)
    if any(node.get("status") == "completed" for _, node in flatten(structure)):
        _stamp_completed(ids[0])
    ppa.execution_project_id = ids[0]
    db.session.flush()
    sync_ppa_from_tree([ids[0]])
    root = db.session.get(WorkItem, ids[0])
    for callback in AFTER_EXECUTION_PROJECT:
        callback(ppa, root, actor)
    return root


def _stamp_completed(root_id):
    """Nodes generated as completed (a completed milestone, the root of a completed PPA) get completed_at like
    any completed item: one UPDATE of the new tree (its rows are this transaction's own, still at version 1)."""
    db.session.execute(sa.update(work_items).where(work_items.c.tree_id == root_id,
                                                   work_items.c.status == "completed",
                                                   work_items.c.completed_at.is_(None)).values(completed_at=utcnow()))


def enable_tracking(ppa, actor, template, policy):
    """Turn WorkItem tracking on: generate the execution project from `template` (one bulk insert, rolled up),
    link it, and remember the template and the distribution `policy`. Returns the root WorkItem.

    Raises ValidationFailed (unknown template or policy), Conflict (tracking is already on), NotAllowed."""
    require(actor, "ppa.edit", ppa)
    errors = {}
    if template not in TEMPLATES:
        errors["template"] = [f"Choose one of: {', '.join(label(t) for t in TEMPLATES)}."]
    if policy not in DISTRIBUTION_POLICIES:
        errors["policy"] = [f"Choose one of: {', '.join(label(p) for p in DISTRIBUTION_POLICIES)}."]
    if errors:
        raise ValidationFailed("Choose a structure template and a distribution policy.", errors=errors)
    _lock(ppa)
    if ppa.workitem_tracking_enabled or ppa.execution_project_id is not None:
        where = f" (execution project: work item #{ppa.execution_project_id})" if ppa.execution_project_id else ""
        raise Conflict(f"WorkItem tracking is already enabled for {ppa.display_code}{where}. "
                       "Disable it first to generate a new structure.")
    with audit_cause(f"WorkItem tracking enabled with the {template} template"):
        ppa.workitem_tracking_enabled = True
        ppa.budget_distribution_policy = policy
        ppa.structure_template = template
        return _generate(ppa, actor, template)


def ensure_execution_project(ppa, actor):
    """The PPA's execution project, generated from its chosen template when tracking is on and there is none
    yet (the approval workflow calls this on entering technical_review). None when tracking is off.
    Idempotent: a second call returns the same root."""
    if not ppa.workitem_tracking_enabled:
        return None
    _lock(ppa)
    if ppa.execution_project_id is not None:
        return db.session.get(WorkItem, ppa.execution_project_id)
    if not ppa.workitem_tracking_enabled:
        return None
    template = ppa.structure_template or DEFAULT_TEMPLATE
    with audit_cause(f"execution project generated from the {template} template"):
        ppa.structure_template = template
        return _generate(ppa, actor, template)


def disable_tracking(ppa, actor, confirmed=False):
    """Turn tracking off (admin / OOBC executive, after confirming). The execution project is kept, detached:
    no longer linked, no longer syncing; its nodes keep their ppa_id. Returns the detached root's id."""
    require(actor, "ppa.tracking.disable", ppa)
    if not confirmed:
        message = "Confirm that the PPA stops following its work items."
        raise ValidationFailed(message, errors={"confirm": [message]})
    _lock(ppa)
    if not ppa.workitem_tracking_enabled:
        raise Conflict(f"WorkItem tracking is not enabled for {ppa.display_code}.")
    root_id = ppa.execution_project_id
    kept = f"; execution project #{root_id} kept, detached" if root_id else ""
    with audit_cause(f"WorkItem tracking disabled{kept}"):
        ppa.workitem_tracking_enabled = False
        ppa.execution_project_id = None
        db.session.flush()
    return root_id


# ------------------------------------------------------------------------------------------------- sync
def check_sync_allowed(ppa, actor):
    """May `actor` ask for a progress sync of this PPA now ("Sync now")? It takes the right to edit it
    (NotAllowed) and tracking being on (ValidationFailed; it names no field: the button sends none, and the
    error panel would repeat the message under a field name)."""
    require(actor, "ppa.edit", ppa)
    if not ppa.workitem_tracking_enabled:
        raise ValidationFailed("WorkItem tracking is not enabled for this PPA.")


@dataclass(frozen=True)
class Move:
    """A PPA whose progress changed by NOTIFY_POINTS or more."""

    ppa_id: int
    title: str
    old: int
    new: int
    recipients: tuple


@dataclass
class SyncResult:
    changed: int = 0
    moved: list = field(default_factory=list)


ppas = Ppa.__table__
work_items = WorkItem.__table__


def _candidates(tree_ids, ppa_ids, statuses):
    """PPAs (tracked, auto sync) whose progress or status differ from their execution project's."""
    project_status = sa.case(*((work_items.c.status == k, v) for k, v in STATUS_FROM_PROJECT.items()),
                             else_=ppas.c.status)
    new_progress = sa.case((ppas.c.auto_sync_progress, work_items.c.progress), else_=ppas.c.progress)
    new_status = sa.case((ppas.c.auto_sync_status, project_status), else_=ppas.c.status)
    stmt = (sa.select(ppas.c.id, new_progress.label("new_progress"), new_status.label("new_status"))
            .select_from(ppas.join(work_items, work_items.c.id == ppas.c.execution_project_id))
            .where(ppas.c.workitem_tracking_enabled, sa.or_(ppas.c.auto_sync_progress, ppas.c.auto_sync_status),
                   sa.or_(new_progress != ppas.c.progress, new_status != ppas.c.status)))
    if tree_ids is not None:
        stmt = stmt.where(ppas.c.execution_project_id.in_(sorted(set(tree_ids))))
    if ppa_ids is not None:
        stmt = stmt.where(ppas.c.id.in_(sorted(set(ppa_ids))))
    if statuses is not None:
        stmt = stmt.where(ppas.c.status.in_(statuses))
    return stmt


def sync_ppa_from_tree(tree_ids=None, ppa_ids=None, statuses=None, session=None, entries=None):
    """Carry the execution projects' progress and status to their PPAs, set-based: one SELECT of the PPAs
    that differ (locked), one UPDATE … FROM, one audit INSERT — whatever their number (no INSERT when
    `entries`, a list, takes the audit rows for the caller to write). Limit to the trees `tree_ids` (root
    ids), the PPAs `ppa_ids`, PPAs in `statuses`; None = no limit. Returns SyncResult: `changed` (PPAs
    written) and `moved` (Move for each whose progress changed ≥ NOTIFY_POINTS)."""
    session = session or db.session
    if tree_ids is not None and not tree_ids or ppa_ids is not None and not ppa_ids:
        return SyncResult()
    sub = _candidates(tree_ids, ppa_ids, statuses).subquery("target")
    read = (sa.select(ppas.c.id, ppas.c.version, ppas.c.progress, ppas.c.status, ppas.c.title,
                      ppas.c.created_by_id, ppas.c.submitted_by_id, sub.c.new_progress, sub.c.new_status)
            .join(sub, sub.c.id == ppas.c.id).order_by(ppas.c.id))
    if not is_sqlite(session):
        read = read.with_for_update(of=ppas)
    rows = session.execute(read).all()
    if not rows:
        return SyncResult()
    cause = "synced from the execution project"
    with derived_status(cause):
        session.execute(sa.update(ppas).where(ppas.c.id == sub.c.id).values(
            progress=sub.c.new_progress, status=sub.c.new_status, version=ppas.c.version + 1, updated_at=utcnow()))
        audit = {r.id: {"progress": (r.progress, r.new_progress), "status": (r.status, r.new_status)} for r in rows}
        versions = {r.id: r.version + 1 for r in rows}
        if entries is None:
            record_bulk_change(Ppa, audit, versions=versions, session=session)
        else:
            entries.extend(change_entries(Ppa, audit, versions=versions))
    expire_loaded(session, [r.id for r in rows], ("progress", "status", "version", "updated_at"), model=Ppa)
    moved = [Move(r.id, r.title, r.progress, r.new_progress,
                  tuple(sorted({i for i in (r.created_by_id, r.submitted_by_id) if i is not None})))
             for r in rows if abs(r.new_progress - r.progress) >= NOTIFY_POINTS]
    return SyncResult(changed=len(rows), moved=moved)


def _follow_tree(locked, session, entries=None):
    """After a roll-up: sync the PPAs of the PPA trees it touched (no query for other trees); the audit rows go
    to `entries` when the caller writes them together (rollup.RollupPlan.complete)."""
    roots = [r.id for r in locked.rows.values() if r.parent_id is None and r.ppa_id is not None]
    if roots:
        session.flush()
        sync_ppa_from_tree(roots, session=session, entries=entries)


if _follow_tree not in rollup.AFTER_RECOMPUTE:
    rollup.AFTER_RECOMPUTE.append(_follow_tree)


def follow_ppa_status(ppa, actor):
    """After an editor set the PPA's status: move the execution project to the matching status through its
    workflow (planning→not_started, ongoing→in_progress, on_hold→blocked), when tracking and status sync
    are on. Returns the TransitionLog, or None when nothing needed to change. A status the project cannot
    reach (back to not started; blocked from completed) is refused on the status field."""
    if not (ppa.workitem_tracking_enabled and ppa.auto_sync_status and ppa.execution_project_id):
        return None
    wanted = PROJECT_STATUS_FROM_PPA.get(ppa.status)
    project = db.session.get(WorkItem, ppa.execution_project_id)
    if wanted is None or project is None or STATUS_FROM_PROJECT[project.status] == ppa.status:
        return None
    transition = ROUTES.get((wanted, project.status))
    if transition is None:
        message = (f"The execution project is {label(project.status).lower()}, and it cannot become "
                   f"{label(wanted).lower()}; with status sync on, the PPA's status follows the project.")
        raise ValidationFailed(message, errors={"status": [message]})
    return fire(project, transition, actor, comment=f"The PPA's status was set to {label(ppa.status).lower()}.")


def follow_ppa_organization(ppa, session=None):
    """After the PPA's implementing MOA changed: every work item of the PPA — its execution project, a detached
    earlier one, its approval review tasks — takes the new organization, so MOA scoping (organization_id on
    every node) follows the PPA. Set-based: one SELECT of what changes, one UPDATE (version + 1), one audit
    INSERT with the cause. Call it holding lock_ppa (update_ppa does). Returns the number of work items moved."""
    session = session or db.session
    new = ppa.implementing_moa_id
    differs = sa.and_(work_items.c.ppa_id == ppa.id, work_items.c.organization_id.is_distinct_from(new))
    rows = session.execute(sa.select(work_items.c.id, work_items.c.version, work_items.c.organization_id)
                           .where(differs)).all()
    if not rows:
        return 0
    session.execute(sa.update(work_items).where(differs).values(organization_id=new,
                                                                version=work_items.c.version + 1,
                                                                updated_at=utcnow()))
    record_bulk_change(WorkItem, {r.id: {"organization_id": (r.organization_id, new)} for r in rows},
                       versions={r.id: r.version + 1 for r in rows},
                       cause=f"the implementing MOA of {ppa.display_code} changed", session=session)
    expire_loaded(session, [r.id for r in rows], ("organization_id", "organization", "version", "updated_at"))
    return len(rows)


# The PPA's fields its execution project's root carries (DOMAIN.md "Structure templates").
ROOT_FIELDS = {"budget_allocation": "allocated_budget", "start_date": "start_date", "target_end_date": "due_date"}


def follow_ppa_plan(ppa, actor, before):
    """After an editor changed the PPA's budget allocation or dates (`before`: {PPA field: old value}): the
    execution project's root takes them (allocated_budget, 0 when none; start_date, due_date) through the
    tree's normal write path, which re-runs the roll-ups; its children are not shifted. A budget below what
    the root's children already hold is refused on budget_allocation, naming that amount. Call it holding
    lock_ppa (update_ppa does). Returns the root, or None when the PPA has no execution project or nothing
    the root carries changed."""
    changes = {ROOT_FIELDS[name]: getattr(ppa, name) for name in ROOT_FIELDS
               if name in before and getattr(ppa, name) != before[name]}
    if not changes or not ppa.execution_project_id:
        return None
    root = db.session.get(WorkItem, ppa.execution_project_id)
    db.session.refresh(root)
    if "allocated_budget" in changes:
        changes["allocated_budget"] = changes["allocated_budget"] or Decimal("0.00")
        held = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(work_items.c.allocated_budget), 0))
                                 .where(work_items.c.parent_id == root.id))
        if Decimal(held) > changes["allocated_budget"]:
            message = f"The work items already hold {format_pesos(held)}; the budget cannot go below that."
            raise ValidationFailed(message, errors={"budget_allocation": [message]})
    with audit_cause(f"the plan of {ppa.display_code} changed"):
        try:
            return update_work_item(root, root.version, actor, **changes)
        except ValidationFailed as error:
            fields = {v: k for k, v in ROOT_FIELDS.items()}
            raise ValidationFailed(error.detail, errors={fields.get(name, name): messages
                                                         for name, messages in error.errors.items()}) from error


# ------------------------------------------------------------------------------------------------- nightly
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError)  # let the job runner retry these


def sync_tracked_ppas(ppa_ids=None, session=None):
    """The nightly `sync_ppa_progress` (and "Sync now" with `ppa_ids`): for tracked PPAs with auto sync —
    all in planning/ongoing, or exactly `ppa_ids` whatever their status — recompute their trees' roll-ups
    (rollup_trees, set-based) and sync progress and status (sync_ppa_from_tree), then notify the PPA's
    creator and submitter of each progress move of ≥ NOTIFY_POINTS, in one INSERT. A constant number of
    statements for any number of PPAs. When the batch fails, each PPA is retried alone in its own savepoint,
    its error recorded and the run going on. Returns the counts for the JobRun row."""
    session = session or db.session
    statuses = SYNC_STATUSES if ppa_ids is None else None
    stmt = (sa.select(ppas.c.id, ppas.c.execution_project_id).where(
        ppas.c.workitem_tracking_enabled, ppas.c.execution_project_id.is_not(None),
        sa.or_(ppas.c.auto_sync_progress, ppas.c.auto_sync_status)).order_by(ppas.c.id))
    stmt = stmt.where(ppas.c.status.in_(statuses)) if ppa_ids is None else stmt.where(ppas.c.id.in_(list(ppa_ids)))
    targets = session.execute(stmt).all()
    result, failures = SyncResult(), {}
    if targets:
        try:
            result = _sync_batch([t.execution_project_id for t in targets], statuses, session)
        except TRANSIENT:
            raise
        except Exception:  # one bad tree: find it, keep the others
            for ppa_id, tree_id in targets:
                try:
                    one = _sync_batch([tree_id], statuses, session)
                except TRANSIENT:
                    raise
                except Exception as error:
                    failures[ppa_id] = f"{type(error).__name__}: {error}"[:500]
                    continue
                result.changed += one.changed
                result.moved.extend(one.moved)
    sent = notify_each([(m.recipients, "progress", f"{m.title}: progress moved from {m.old} % to {m.new} %.",
                         f"/ppas/{m.ppa_id}/work-items") for m in result.moved], session=session)
    return {"ppas_checked": len(targets), "ppas_changed": result.changed, "notifications": sent,
            "errors": len(failures), "failures": {str(k): v for k, v in failures.items()}}


def _sync_batch(tree_ids, statuses, session):
    with session.begin_nested():
        rollup.rollup_trees(tree_ids, cause="nightly progress sync", session=session)
        return sync_ppa_from_tree(tree_ids, statuses=statuses, session=session)
