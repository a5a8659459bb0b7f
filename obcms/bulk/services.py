"""Bulk operations: one action over many PPAs or tasks — the dry run first, then the apply.

    found = plan(user, "ppa", "approve", ids, versions=versions)        # Plan: each item allowed or refused, why
    answer = apply(user, "task", "reschedule", ids, {"days": 7}, versions, mode="all")
    answer == {"operation", "total", "succeeded", "failed", "succeeded_ids", "failures": {id: reason},
               "rolled_back"}                                           # DOMAIN.md's answer

An operation is (kind, action, ids, params). Kinds: "ppa" (the PPA list), "task" (My tasks: work items of
type task or subtask), "workitem" (a tree's rows: any work type), "booking" (a resource's bookings) and
"alert" (the budget variance alerts). Actions:
- ppa: transition (params transition = a step of the approval workflow), approve (the reviewer's step forward
  from the PPA's review state: approval.APPROVE_STEP), reject (params comment, required).
- task: transition (params transition = a work-item status step), assign (params to = the person who will hold
  it, alone), priority (params priority), reschedule (params days: start and due move by that many days).
- workitem: the task's actions, and delete (through workitems.delete_work_item: each node with its subtree; a
  selected node under another selected one goes with it, and the dry run says so).
- booking: approve, reject (params comment, required), cancel — the booking machine's steps.
- alert: acknowledge, resolve — the alert machine's steps.

The rules:
- Up to MAX_ITEMS ids, each once (ValidationFailed on "ids" otherwise); ids outside the user's scope (another
  organization's, or not a task) are refused as "not found", exactly like ids that do not exist.
- Each item is checked against the version the page showed (`versions` {id: version}); a changed item is
  refused, naming who changed it.
- plan() changes nothing and runs a constant number of statements whatever the number of ids: the items in
  one query (with what their labels and checks read: a booking's resource and its approvers, an alert's PPA),
  the submitters of the PPAs (not_by_submitter) in one, the names of who changed stale items in one, and for a
  delete the subtree sizes and the selected nodes above each in one (tree.nested_selection).
- apply() plans again, then writes all the allowed items at once through each domain's write call for many
  (workflow.fire_many; the work-item services' update_work_items and assign_many): the locks, the version
  check of every item, the writes, the roll-ups, the effects and the audit rows in a constant number of
  statements whatever the number of items. Deletes are the exception: each goes through the tree's delete
  call (it renumbers its tree), in tree order, ancestors first — a node under a selected one goes with it
  (written only if that one failed). Mode "all" (the default) writes nothing when any item is refused,
  or found changed at write time (rolled_back True); mode "allowed" writes the items that pass and lists the
  others — those refused by the plan and those found changed by the write.
- Every audit row written by an operation carries the cause "bulk <operation id>" (with the domain's own cause
  joined to it), so the entries of one operation are found together.
Services never commit: the caller (a view, or the bulk job for large operations) owns the transaction.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit.context import audit_cause
from ..audit.models import AuditEntry
from ..audit.objects import object_type_of
from ..auth.models import Organization, User
from ..auth.permissions import EDIT_ALL, PERMISSIONS, can, require, scope
from ..calendar import bookings
from ..calendar.models import Booking, Resource
from ..columns import date_in_range
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..ids import parse_id
from ..money import format_pesos
from ..ppas.approval import APPROVE_STEP
from ..ppas.models import Ppa
from ..ppas.variances import BudgetAlert
from ..templating import format_date
from ..workflow import availability_of, fire_many, machine_for
from ..workitems import services as workitems
from ..workitems import tree
from ..workitems.models import PRIORITIES, WorkItem

MAX_ITEMS = 1000
JOB_THRESHOLD = 200  # apply() of more items than this runs as a job (the views decide; the service does not care)
MODES = ("all", "allowed")
MAX_DAYS = 366
MAX_COMMENT = 2000
TASK_TYPES = ("task", "subtask")  # as My tasks lists them (obcms.tasks.queries.TASK_TYPES)
NOT_FOUND = "Not found: it does not exist or is not yours to see."


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    fires: bool = False  # a workflow transition (transition, approve, reject)


ACTIONS = {
    "transition": Action("transition", "Change state", fires=True),
    "approve": Action("approve", "Approve", fires=True),
    "reject": Action("reject", "Reject", fires=True),
    "assign": Action("assign", "Assign"),
    "priority": Action("priority", "Change priority"),
    "reschedule": Action("reschedule", "Reschedule"),
    "delete": Action("delete", "Delete"),
    "cancel": Action("cancel", "Cancel", fires=True),
    "acknowledge": Action("acknowledge", "Acknowledge", fires=True),
    "resolve": Action("resolve", "Resolve", fires=True),
}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    permission: str  # needed to run any bulk operation on this kind (each item is checked besides)
    actions: tuple
    noun: str
    label: Callable  # obj → how the dry run names it
    state: Callable  # obj → its state, as a word
    narrow: Callable = staticmethod(lambda stmt: stmt)  # what of the model the kind covers
    reach: Callable = staticmethod(scope)  # (stmt, model, user) → the rows the user may act on
    options: Callable = staticmethod(tuple)  # () → loader options: what the labels and checks read (built when
    # used: building them at import would configure the mappers before the audit listener is registered)
    steps: dict = field(default_factory=dict)  # fired action → obj → its workflow step (default: the action's name)

    def action(self, name):
        if name not in self.actions:
            message = f"Choose one of: {', '.join(ACTIONS[a].label for a in self.actions)}."
            raise ValidationFailed(message, errors={"action": [message]})
        return ACTIONS[name]


def _ppa_label(ppa):
    return f"{ppa.display_code} “{ppa.title}”"


def _booking_label(booking):
    """The resource and the time: what the booking is for stays within its organization's scope."""
    return f"{booking.resource.name}, {bookings.describe_span(booking.starts_at, booking.ends_at)}"


def _reach_bookings(stmt, model, user):
    """Bookings of the user's scope, and those of the resources they approve (as on the resource page)."""
    return stmt.where(sa.or_(Booking.id.in_(scope(sa.select(Booking.id), Booking, user)),
                             Booking.resource_id.in_(bookings.approved_resource_ids(user))))


KINDS = {
    "ppa": Kind("ppa", Ppa, "ppa.bulk", ("transition", "approve", "reject"), "PPA", _ppa_label,
                lambda ppa: ppa.approval_status, steps={"approve": lambda ppa: APPROVE_STEP.get(ppa.approval_status)}),
    "task": Kind("task", WorkItem, "task.bulk", ("transition", "assign", "priority", "reschedule"), "task",
                 lambda item: f"“{item.title}”", lambda item: item.status,
                 narrow=lambda stmt: stmt.where(WorkItem.work_type.in_(TASK_TYPES))),
    "workitem": Kind("workitem", WorkItem, "workitem.bulk", ("transition", "assign", "priority", "reschedule", "delete"),
                     "work item", lambda item: f"“{item.title}”", lambda item: item.status),
    "booking": Kind("booking", Booking, "booking.bulk", ("approve", "reject", "cancel"), "booking", _booking_label,
                    lambda booking: booking.status, reach=_reach_bookings,
                    options=lambda: (selectinload(Booking.resource).selectinload(Resource.approvers),)),
    "alert": Kind("alert", BudgetAlert, "alert.bulk", ("acknowledge", "resolve"), "alert",
                  lambda alert: f"{alert.kind_label} alert of {alert.ppa.display_code}", lambda alert: alert.status,
                  options=lambda: (selectinload(BudgetAlert.ppa),)),
}


def kind_of(name):
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"There is no bulk operation on '{name}'.")
    return kind


# ------------------------------------------------------------------------------------------------- input
def _fail(name, message):
    raise ValidationFailed(message, errors={name: [message]})


def clean_ids(ids):
    """The ids as ints, in the order given: ValidationFailed on "ids" when one is not an id, one is listed
    twice, there are none, or more than MAX_ITEMS."""
    values = list(ids or ())
    if not values:
        _fail("ids", "Select at least one item.")
    if len(values) > MAX_ITEMS:
        _fail("ids", f"At most {MAX_ITEMS:,} items per operation ({len(values):,} selected). Narrow the filter.")
    parsed, seen, twice = [], set(), []
    for value in values:
        number = parse_id(value)
        if number is None:
            _fail("ids", "Only item ids can be selected.")
        if number in seen:
            twice.append(number)
        seen.add(number)
        parsed.append(number)
    if twice:
        _fail("ids", f"Each item may be selected once: #{', #'.join(map(str, sorted(set(twice))[:10]))} "
                     "more than once.")
    return parsed


def clean_versions(versions):
    """{id: version} of what the page showed; unreadable entries are dropped (the item then counts as unseen)."""
    out = {}
    for key, value in (versions or {}).items():
        item_id, version = parse_id(key), parse_id(value)
        if item_id is not None and version:
            out[item_id] = version
    return out


def clean_params(kind, action, params, session=None):
    """The action's parameters, read and checked (ValidationFailed naming the field)."""
    params = params or {}
    comment = (params.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        _fail("comment", f"At most {MAX_COMMENT:,} characters.")
    out = {"comment": comment or None}
    if action.name == "transition":
        machine = machine_for(kind.model)
        name = params.get("transition") or ""
        if machine.get(name) is None:
            _fail("transition", "Choose one of the steps listed.")
        out["transition"] = name
    elif action.name == "reject" and not comment:
        _fail("comment", f"Say why: rejecting needs a comment, sent with each {kind.noun} rejected.")
    elif action.name == "assign":
        person_id = parse_id(params.get("to"))
        person = (session or db.session).scalar(
            sa.select(User).where(User.id == person_id, User.is_active.is_(True))
            .options(selectinload(User.organization))) if person_id else None
        if person is None:
            _fail("to", "Choose one of the people listed.")
        out["to"] = person
    elif action.name == "priority":
        if params.get("priority") not in PRIORITIES:
            _fail("priority", f"Choose one of: {', '.join(PRIORITIES)}.")
        out["priority"] = params["priority"]
    elif action.name == "reschedule":
        text = str(params.get("days") or "").strip()
        sign = -1 if text.startswith("-") else 1
        days = parse_id(text.lstrip("+-"))
        if not days or days > MAX_DAYS:
            _fail("days", f"A whole number of days from -{MAX_DAYS} to {MAX_DAYS}, not 0 (negative: earlier).")
        out["days"] = sign * days
    return out


# ------------------------------------------------------------------------------------------------- the plan
@dataclass
class ItemPlan:
    id: int
    label: str
    allowed: bool
    reason: str | None = None  # why it is refused
    detail: str | None = None  # what will happen to it
    state: str | None = None
    version: int | None = None  # the version the write will check (what the page showed, else the current one)
    step: str | None = None  # the workflow transition it fires
    with_ancestor: int | None = None  # delete: the selected node above it, whose delete takes it along


@dataclass
class Plan:
    kind: Kind
    action: Action
    params: dict
    items: list
    objects: dict = field(default_factory=dict, repr=False)

    @property
    def total(self):
        return len(self.items)

    @property
    def allowed(self):
        return [item for item in self.items if item.allowed]

    @property
    def refused(self):
        return [item for item in self.items if not item.allowed]


def _load(kind, action, ids, user, session):
    stmt = kind.narrow(sa.select(kind.model).where(kind.model.id.in_(ids))).options(*kind.options())
    if action.name == "assign":
        stmt = stmt.options(selectinload(WorkItem.assignees))
    # scope: another organization's ids read as missing ones
    return {obj.id: obj for obj in session.scalars(kind.reach(stmt, kind.model, user))}


def _changed_by(kind, stale, session):
    """{id: names of who changed it after the version the page showed} for stale items (one query)."""
    if not stale:
        return {}
    rows = session.execute(
        sa.select(AuditEntry.object_id, AuditEntry.object_version, AuditEntry.actor_label)
        .where(AuditEntry.object_type == object_type_of(kind.model), AuditEntry.object_id.in_(list(stale)),
               AuditEntry.object_version > min(stale.values()))).all()
    names = {}
    for object_id, object_version, actor in rows:
        if object_version is not None and object_version > stale[object_id]:
            names.setdefault(object_id, set()).add(actor)
    return {object_id: ", ".join(sorted(who)) for object_id, who in names.items()}


def _word(value):
    return str(value or "").replace("_", " ")


def _step_of(kind, action, params):
    if action.name == "transition":
        return lambda obj: params["transition"]
    return kind.steps.get(action.name, lambda obj: action.name)


def _check_steps(kind, action, params, objs, user, session):
    """{id: (allowed, reason, detail, step)} for the workflow actions: workflow.availability_of, set-based."""
    step_of = _step_of(kind, action, params)
    options = availability_of(objs, step_of, user, session=session)
    machine = machine_for(kind.model)
    out = {}
    for obj in objs:
        option = options.get(obj.id)
        if option is None:  # approve on a PPA in no review state
            out[obj.id] = (False, f"Not waiting for a review (now {_word(kind.state(obj))}).", None, None)
        elif not option.allowed:
            out[obj.id] = (False, option.reason, None, option.name)
        else:
            detail = f"{_word(getattr(obj, machine.field))} → {_word(option.transition.target)}"
            if option.transition.confirm is not None and hasattr(obj, "budget_allocation"):
                detail += f", with its budget allocation of {format_pesos(obj.budget_allocation)}"  # money: named
            out[obj.id] = (True, None, detail, option.name)
    return out


def _check_task(action, params, obj, user):
    """(allowed, reason, detail) of assign, priority and reschedule on one task (no query)."""
    if not can(user, "workitem.edit", obj):
        return False, "Only editors of this task's organization may change it.", None
    if action.name == "priority":
        if obj.priority == params["priority"]:
            return True, None, f"already {params['priority']}"
        return True, None, f"{obj.priority} → {params['priority']}"
    if action.name == "assign":
        person = params["to"]
        if not workitems.may_hold(person, obj):
            return False, f"{person.display_name} cannot hold it (not of its organization, or may not edit it).", None
        if [u.id for u in obj.assignees] == [person.id]:
            return True, None, f"already with {person.display_name}"
        names = ", ".join(u.display_name for u in obj.assignees) or "nobody"
        return True, None, f"{names} → {person.display_name}"
    # reschedule
    if obj.start_date is None and obj.due_date is None:
        return False, "It has no start or due date to move.", None
    shift = timedelta(days=params["days"])
    moved = [(name, getattr(obj, name), getattr(obj, name) + shift) for name in ("start_date", "due_date")
             if getattr(obj, name) is not None]
    if not all(date_in_range(new) for _, _, new in moved):
        return False, "Its dates would fall outside the range obcms accepts.", None
    return True, None, "; ".join(f"{name.split('_')[0]} {format_date(old)} → {format_date(new)}"
                                 for name, old, new in moved)


def _check_deletes(kind, objs, user, session):
    """({id: (allowed, reason, detail, None)}, {id: the selected ancestor it goes with}, [ids in tree order]) of
    a delete: each node with its subtree (sizes, the selected nodes above each and the tree order: one query);
    posted money is never deleted."""
    nested = tree.nested_selection([obj.id for obj in objs], session=session) if objs else {}
    by_id = {obj.id: obj for obj in objs}
    out = {}
    for obj in objs:
        size = nested[obj.id][0]
        if not can(user, "workitem.delete", obj):
            out[obj.id] = (False, "Only editors of this item's organization may delete it.", None, None)
        elif obj.obligated or obj.disbursed:
            out[obj.id] = (False, "It has obligations or disbursements recorded under it: posted money is never "
                                  "deleted. Cancel it instead.", None, None)
        else:
            under = f", with the {size - 1} item{'s' if size != 2 else ''} under it" if size > 1 else ""
            out[obj.id] = (True, None, f"deleted{under}", None)
    along = {}
    for obj in objs:
        above = [i for i in nested[obj.id][1] if out[i][0]]
        if out[obj.id][0] and above:
            along[obj.id] = above[0]
            out[obj.id] = (True, None, f"goes with {kind.label(by_id[above[0]])} (selected too)", None)
    return out, along, list(nested)


def plan(user, kind, action, ids, params=None, versions=None, session=None):
    """The dry run: each item allowed or refused (and why), nothing changed. Statements: constant."""
    session = session or db.session
    kind = kind_of(kind) if isinstance(kind, str) else kind
    require(user, kind.permission)
    action = kind.action(action)
    ids = clean_ids(ids)
    params = clean_params(kind, action, params, session)
    versions = clean_versions(versions)
    objs = _load(kind, action, ids, user, session)
    stale = {i: versions[i] for i, obj in objs.items() if i in versions and versions[i] != obj.version}
    who = _changed_by(kind, stale, session)
    fresh = [objs[i] for i in ids if i in objs and i not in stale]
    along, order = {}, []
    if action.fires:
        checks = _check_steps(kind, action, params, fresh, user, session)
    elif action.name == "delete":
        checks, along, order = _check_deletes(kind, fresh, user, session)
    else:
        checks = {obj.id: (*_check_task(action, params, obj, user), None) for obj in fresh}
    items = []
    for item_id in ids:
        obj = objs.get(item_id)
        if obj is None:
            items.append(ItemPlan(item_id, f"#{item_id}", False, NOT_FOUND))
            continue
        label, state = kind.label(obj), _word(kind.state(obj))
        if item_id in stale:
            by = f" by {who[item_id]}" if who.get(item_id) else ""
            items.append(ItemPlan(item_id, label, False, f"Changed{by} since you loaded the page "
                                  f"(version {stale[item_id]} → {obj.version}). Reload and choose again.",
                                  state=state, version=stale[item_id]))
            continue
        allowed, reason, detail, step = checks[item_id]
        items.append(ItemPlan(item_id, label, allowed, reason, detail, state, versions.get(item_id, obj.version),
                              step, along.get(item_id)))
    if order:  # a delete writes ancestors first (in tree order), so that what goes with them is gone already
        rank = {item_id: n for n, item_id in enumerate(order)}
        items.sort(key=lambda item: rank.get(item.id, len(rank)))
    return Plan(kind, action, params, items, objs)


# ------------------------------------------------------------------------------------------------- apply
def new_operation_id():
    return uuid.uuid4().hex[:12]


def answer(operation, total, succeeded_ids, failures, rolled_back):
    """DOMAIN.md's answer of a bulk operation."""
    return {"operation": operation, "total": total, "succeeded": len(succeeded_ids), "failed": len(failures),
            "succeeded_ids": list(succeeded_ids), "failures": dict(failures), "rolled_back": rolled_back}


def _write(found, items, user, skip_stale):
    """The allowed items through their domain's write call for many (workflow.fire_many, the work-item
    services' update_work_items and assign_many), in a constant number of statements. Returns
    {stale id: reason} of the items whose version moved on since the plan (skipped)."""
    action, params = found.action, found.params
    objs = [found.objects[item.id] for item in items]
    versions = {item.id: item.version for item in items}
    if action.fires:
        steps = [(obj, item.step) for obj, item in zip(objs, items, strict=True)]
        return fire_many(steps, user, comment=params.get("comment"), expected_versions=versions,
                         skip_stale=skip_stale)[1]
    if action.name == "delete":
        return _delete(found, items, user, skip_stale)
    if action.name == "assign":
        return workitems.assign_many(objs, user, [params["to"].id], versions, skip_stale=skip_stale)[1]
    if action.name == "priority":
        changes = {obj: {"priority": params["priority"]} for obj in objs}
    else:  # reschedule
        shift = timedelta(days=params["days"])
        changes = {obj: {name: getattr(obj, name) + shift for name in ("start_date", "due_date")
                         if getattr(obj, name) is not None} for obj in objs}
    return workitems.update_work_items(changes, versions, user, skip_stale=skip_stale)[1]


def _delete(found, items, user, skip_stale):
    """Deletes one by one through the tree's write call, in plan order (ancestors first): a node under a deleted
    one went with it. Returns {stale id: reason} (skipped when skip_stale, else the Conflict is raised)."""
    stale = {}
    for item in items:
        if item.with_ancestor is not None and not tree.exists(item.id):
            continue
        try:
            workitems.delete_work_item(found.objects[item.id], user, item.version)  # checks before it writes
        except Conflict as error:
            if not skip_stale:
                raise
            stale[item.id] = error.detail or str(error)
    return stale


WRITE_ERRORS = (Conflict, NotAllowed, NotFound, ValidationFailed)


def apply(user, kind, action, ids, params=None, versions=None, mode="all", operation=None, session=None,
          progress=None):
    """Plan, then write the allowed items (mode "allowed"), or all of them or none (mode "all", the default).
    Returns answer(). `progress(done, total)` is called once the items are written."""
    return apply_planned(user, kind, action, ids, params, versions, mode, operation, session, progress)[1]


def apply_planned(user, kind, action, ids, params=None, versions=None, mode="all", operation=None, session=None,
                  progress=None):
    """apply(), answering (the Plan it made first, the answer): the pages name each item by its plan's label.

    The allowed items are written together, set-based (_write); an item whose version moved on between the
    plan and the write (found inside the lock) fails: mode "all" then rolls everything back, mode "allowed"
    writes the others. An error of the write call rolls the whole write back in either mode."""
    session = session or db.session
    if mode not in MODES:
        _fail("mode", "Apply to all, or to the allowed ones.")
    found = plan(user, kind, action, ids, params, versions, session)
    operation = operation or new_operation_id()
    failures = {item.id: item.reason for item in found.refused}
    if mode == "all" and failures:
        return found, answer(operation, found.total, [], failures, rolled_back=True)
    allowed = found.allowed
    if not allowed:
        return found, answer(operation, found.total, [], failures, rolled_back=False)
    with audit_cause(f"bulk {operation}"):
        batch = session.begin_nested()
        try:
            stale = _write(found, allowed, user, skip_stale=True)
        except WRITE_ERRORS as error:
            batch.rollback()
            reason = error.detail or str(error)
            return found, answer(operation, found.total, [], {**failures, **{item.id: reason for item in allowed}},
                                 rolled_back=True)
        if stale and mode == "all":
            batch.rollback()
            return found, answer(operation, found.total, [], stale, rolled_back=True)
        batch.commit()
    if progress is not None:
        progress(len(allowed), len(allowed))
    failures.update(stale)
    return found, answer(operation, found.total, [item.id for item in allowed if item.id not in stale], failures,
                         rolled_back=False)


def assignable_people(user, session=None):
    """Whom a bulk assign offers: active people who may change work items — everyone's for the OOBC roles that
    edit every organization's, else of the user's organization and of the OOBC (each task still refuses a
    person who may not hold it). One query."""
    session = session or db.session
    stmt = sa.select(User).where(User.is_active.is_(True), User.role.in_(sorted(PERMISSIONS["workitem.edit"])))
    if user.role not in EDIT_ALL:
        oobc = sa.select(Organization.id).where(Organization.kind == "oobc")
        stmt = stmt.where(sa.or_(User.organization_id == user.organization_id, User.organization_id.in_(oobc)))
    return session.scalars(stmt.order_by(User.full_name, User.username)).all()


def matching_ids(user, kind, ids_statement):
    """Up to MAX_ITEMS + 1 ids a list's filter matches (one more than allowed tells the view to say so)."""
    kind = kind_of(kind) if isinstance(kind, str) else kind
    require(user, kind.permission)
    return list(db.session.scalars(ids_statement.limit(MAX_ITEMS + 1)))
