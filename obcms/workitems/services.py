"""Work-item rules and the one write call per tree operation.

Each write below is the whole operation — lock the tree(s), re-read inside the lock, the rules, the version
check, the roll-up plan, the statement, the audit rows, the PPA sync (rollup.AFTER_RECOMPUTE) — so every
other domain (views, API, PPA tracking, budget, imports, jobs) calls one of them and sequences none of those
steps itself. Plain functions; they raise domain errors and never commit (the view, job or CLI command does).

    root = create_work_item(None, actor, title="Road project", work_type="project", allocated_budget=100000)
    task = create_work_item(activity, actor, title="Survey", work_type="task")
    update_work_item(task, expected_version=3, actor=actor, title="Site survey", progress=40)
    move_work_item(task, actor, task_version, parent=other_activity)  # or before=sibling, or parent=None
    delete_work_item(activity, actor, activity_version)               # → number of nodes deleted
    ids = build_tree([{"title": …, "work_type": …, "children": […]}], actor, parent=activity)
    set_allocations(node_id, decide)  # decide() checks inside the lock → Allocations({child id: amount}, cause)

Levels (the depth rule): the root is level 1 (depth 0) and a tree has at most MAX_LEVELS = 6 levels, so
the deepest node has depth 5. DOMAIN.md states the limit on subtask chains ("subtask under subtask while
the tree depth stays ≤ 6 levels"); it is applied to every placement, so no tree ever exceeds 6 levels.
Status changes go through the workflow (obcms.workflow.fire with obcms/workitems/states.py); the
derived container status is written by rollup.py.
"""
import dataclasses
import json
import re
from datetime import date, time
from decimal import Decimal
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.recording import NEW_ID, change_entries, record_bulk_change, storage_type, write_entries
from ..auth.models import Organization, User
from ..auth.permissions import EDIT_ALL, can, load_in_scope, require
from ..columns import DATE_RANGE_MESSAGE, date_in_range
from ..database import is_sqlite
from ..errors import ValidationFailed
from ..extensions import db
from ..money import NEGATIVE, TOO_LARGE, TOO_MANY_DECIMALS, AmountError, parse_amount
from ..workflow import available_transitions, fire, machine_for
from ..workflow.locking import check_version, refuse_stale, stale_rows
from . import rollup, tree
from .models import ACTIVITY_CATEGORIES, PRIORITIES, STATUSES, WORK_TYPES, WorkItem, work_item_assignees
from .tree.session_sync import expire_loaded, set_loaded

CONTAINER_CHILDREN = ("sub_project", "activity", "sub_activity", "task", "subtask")
ALLOWED_CHILDREN = {
    "project": CONTAINER_CHILDREN,
    "sub_project": CONTAINER_CHILDREN,
    "activity": ("sub_activity", "task", "subtask"),
    "sub_activity": ("task", "subtask"),
    "task": ("subtask",),
    "subtask": ("subtask",),
}
MAX_LEVELS = 6
TYPE_LABELS = {t: t.replace("_", "-") for t in WORK_TYPES}

# Fields a user edits (status through the workflow; tree position through move; roll-ups derived).
EDITABLE = ("title", "description", "priority", "activity_category", "start_date", "due_date", "start_time",
            "end_time", "progress", "auto_calculate_progress", "allocated_budget", "budget_notes", "calendar_visible",
            "calendar_color")
CREATABLE = EDITABLE + ("work_type", "status", "organization_id", "ppa_id", "estimated_hours")
CREATABLE_SET = frozenset(CREATABLE)
ROLLUP_INPUTS = {"progress", "auto_calculate_progress", "allocated_budget"}
# Spending is the ledger's: a node's actual_expenditure is its rolled-up disbursements (obcms/budget/ledger.py).
SPENDING_MESSAGE = "Spending is recorded as disbursements on the PPA's Budget tab, and summed upward from there."
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


# ------------------------------------------------------------------------------------------------- rules
def check_placement(work_type, parent_type, parent_depth, height=0):
    """Refuse a `work_type` node (with `height` levels below it) under a `parent_type` node at
    `parent_depth`; parent_type None = a root (any type may start a tree)."""
    if parent_type is not None and work_type not in ALLOWED_CHILDREN[parent_type]:
        allowed = ", ".join(TYPE_LABELS[t] for t in ALLOWED_CHILDREN[parent_type])
        message = f"A {TYPE_LABELS[work_type]} cannot be placed under a {TYPE_LABELS[parent_type]} (allowed: {allowed})."
        raise ValidationFailed(message, errors={"work_type": [message]})
    levels = (parent_depth + 2 if parent_type is not None else 1) + height
    if levels > MAX_LEVELS:
        message = f"This would make the tree {levels} levels deep; a tree has at most {MAX_LEVELS} levels."
        raise ValidationFailed(message, errors={"parent": [message]})


def _fail(field, message):
    raise ValidationFailed(message, errors={field: [message]})


def _money(field, value):
    """The amount in `value` (obcms.money.parse_amount; None is 0), else ValidationFailed on `field`."""
    try:
        return parse_amount(value if value is not None else 0)
    except AmountError as error:
        if TOO_LARGE in error.reasons:
            _fail(field, "That amount is too large.")
        if {NEGATIVE, TOO_MANY_DECIMALS}.issuperset(error.reasons):
            _fail(field, "Enter an amount of zero or more with at most two decimals (centavos).")
        _fail(field, "Enter an amount such as 1250.50.")


def clean(fields, work_type):
    """Validate and normalize field values (raises ValidationFailed naming the fields)."""
    out, errors = dict(fields), {}
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"]:
            errors["title"] = ["A title is required."]
        elif len(out["title"]) > 500:
            errors["title"] = ["At most 500 characters."]
    for name, allowed in (("work_type", WORK_TYPES), ("status", STATUSES), ("priority", PRIORITIES)):
        if name in out and out[name] not in allowed:
            errors[name] = [f"Choose one of: {', '.join(allowed)}."]
    if out.get("activity_category") is not None:
        if work_type != "activity":
            errors["activity_category"] = ["Only activities have a category."]
        elif out["activity_category"] not in ACTIVITY_CATEGORIES:
            errors["activity_category"] = [f"Choose one of: {', '.join(ACTIVITY_CATEGORIES)}."]
    if "progress" in out:
        try:
            out["progress"] = int(out["progress"])
            if not 0 <= out["progress"] <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors["progress"] = ["Progress is a whole number from 0 to 100."]
    if "allocated_budget" in out:
        try:
            out["allocated_budget"] = _money("allocated_budget", out["allocated_budget"])
        except ValidationFailed as error:
            errors.update(error.errors)
    if out.get("estimated_hours") is not None:
        try:
            out["estimated_hours"] = Decimal(str(out["estimated_hours"])).quantize(Decimal("0.01"))
            if not Decimal("0") <= out["estimated_hours"] < Decimal("100000"):
                raise ValueError
        except (ArithmeticError, ValueError):
            errors["estimated_hours"] = ["Hours are a number from 0 to 99999.99."]
    for name, kind in (("start_date", date), ("due_date", date), ("start_time", time), ("end_time", time)):
        if out.get(name) is not None and not isinstance(out[name], kind):
            errors[name] = [f"Not a valid {kind.__name__}."]
        elif kind is date and out.get(name) is not None and not date_in_range(out[name]):
            errors[name] = [DATE_RANGE_MESSAGE]
    if out.get("calendar_color") and not COLOR.match(out["calendar_color"]):
        errors["calendar_color"] = ["A colour such as #1f6feb."]
    if errors:
        raise ValidationFailed("Please correct the highlighted fields.", errors=errors)
    return out


def _check_dates(start_date, due_date):
    if start_date and due_date and due_date < start_date:
        _fail("due_date", "The due date cannot be before the start date.")


# ------------------------------------------------------------------------------------------------- writes
def create_work_item(parent, actor, assignees=(), **fields):
    """Create a work item as the last child of `parent` (or before its child `before=`), or as the root of
    a new tree when parent is None. Checks type rules, depth, allocation; rolls the ancestors up."""
    before = fields.pop("before", None)
    unknown = set(fields) - set(CREATABLE)
    if unknown:
        raise ValueError(f"not creatable work item fields: {sorted(unknown)}")
    fields = clean(fields, fields.get("work_type"))
    if not fields.get("work_type"):
        _fail("work_type", "Choose a type.")
    if not fields.get("title"):
        _fail("title", "A title is required.")
    _check_dates(fields.get("start_date"), fields.get("due_date"))
    item = WorkItem(**fields, created_by_id=actor.id)
    if parent is None:
        item.assignees = list(assignees)
        require(actor, "workitem.edit", item)
        return tree.create_root(item)
    require(actor, "workitem.edit", parent)
    child = rollup.Child(fields.get("status") or "not_started", fields.get("progress") or 0,
                         fields.get("allocated_budget") or Decimal("0.00"))
    locked = tree.lock(parent)
    p = locked[tree.id_of(parent)]
    check_placement(item.work_type, p.work_type, p.depth)
    rollup.check_allocation(p, p.children_allocated + child.allocated_budget)
    # 0: the new child, not written yet; NEW_ID: its id in the audit rows
    rollups = rollup.RollupPlan.of(locked, f"derived from new child {NEW_ID}", replace={p.id: {0: child}})
    with rollups.write_with() as rollup_values:
        tree.insert(item, parent, before=before, locked=locked, rollup_values=rollup_values,
                    entries=rollups.audit_entries())
    rollups.complete()
    if assignees:
        set_committed_value(item, "assignees", [])
        item.assignees.extend(assignees)
    return item


def _as_child(item):
    return rollup.Child(item.status, item.progress, item.allocated_budget)


def update_work_item(item, expected_version, actor, **changes):
    """Apply `changes` (EDITABLE fields) when `item` is still at `expected_version`, else Conflict (409)
    with changed_fields (obcms.workflow.locking.check_version). Progress of a container is derived while
    auto_calculate_progress is on; actual expenditure is the ledger's (SPENDING_MESSAGE). Re-runs the roll-ups of
    the ancestors when needed."""
    if "actual_expenditure" in changes:
        _fail("actual_expenditure", SPENDING_MESSAGE)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        _fail(sorted(unknown)[0], "This field cannot be changed here (status: use the workflow actions; "
                                  "position: move).")
    require(actor, "workitem.edit", item)
    locked = tree.lock(item)
    node = locked[item.id]
    db.session.refresh(item)
    check_version(item, expected_version, changes)
    changes = clean(changes, item.work_type)
    changes = {k: v for k, v in changes.items() if getattr(item, k) != v}
    if not changes:
        return item
    _check_dates(changes.get("start_date", item.start_date), changes.get("due_date", item.due_date))
    has_children = bool(locked.kids[node.id])
    auto = changes.get("auto_calculate_progress", item.auto_calculate_progress)
    if "progress" in changes and has_children and auto:
        _fail("progress", "This progress is calculated from the children; turn off automatic progress to set it.")
    if "allocated_budget" in changes:
        new = changes["allocated_budget"]
        rollup.check_allocation(rollup.Envelope(item.title, new), node.children_allocated)
        if node.parent_id is not None:
            parent = locked[node.parent_id]
            rollup.check_allocation(parent, parent.children_allocated - item.allocated_budget + new)
    for name, value in changes.items():
        setattr(item, name, value)
    db.session.flush()
    if ROLLUP_INPUTS & set(changes):
        own = {name: getattr(item, name) for name in ("progress", "auto_calculate_progress")}
        rollup.recompute(locked, replace={item.parent_id: {item.id: _as_child(item)}},
                         overrides={item.id: {**own, "version": item.version}},
                         cause=f"derived from child #{item.id}")
    return item


def move_work_item(item, actor, expected_version, parent=None, before=None):
    """Move `item` with its subtree under `parent` (last, or before its child `before`), or to the root
    level (parent None), when it is still at `expected_version` (checked inside the tree lock), else
    Conflict. Type, depth and allocation rules are checked on the new place; both old and new
    ancestors are rolled up."""
    require(actor, "workitem.edit", item)
    if parent is not None:
        require(actor, "workitem.edit", parent)

    def check(n, p):
        if p is None:
            check_placement(n.work_type, None, 0, n.height)
            return
        check_placement(n.work_type, p.work_type, p.depth, n.height)
        if p.id != n.parent_id:
            rollup.check_allocation(p, p.children_allocated + n.allocated_budget)

    locked = tree.lock(item, parent, measure=item)
    n = locked[tree.id_of(item)]
    check_version(item, expected_version, current_version=n.version)
    new_parent_id = tree.id_of(parent)
    if new_parent_id != n.parent_id and (n.obligated or n.disbursed):
        _fail("parent", f"“{n.title}” has obligations or disbursements posted under it; moving it would move "
                        "posted money to other items. Reverse the entries first, or keep it where it is.")
    cause = f"derived from moved child #{n.id}"
    rollups, entries = rollup.RollupPlan(locked, {}, cause), []
    if new_parent_id != n.parent_id:
        child = rollup.Child(n.status, n.progress, n.allocated_budget)
        replace = {n.parent_id: {n.id: None}}
        if new_parent_id is not None:
            replace[new_parent_id] = {n.id: child}
        rollups = rollup.RollupPlan.of(locked, cause, replace=replace)
        entries = change_entries(WorkItem, {n.id: {"parent_id": (n.parent_id, new_parent_id)}},
                                 versions={n.id: n.version + 1}, cause="moved")
    elif n.parent_id is not None:
        old, new = _sibling_positions(locked.kids[n.parent_id], n.id, tree.id_of(before))
        entries = change_entries(WorkItem, {n.id: {"position": (old, new)}}, versions={n.id: n.version + 1},
                                 cause="reordered")
    with rollups.write_with() as rollup_values:
        moved = tree.move_subtree(item, parent=parent, before=before, check=check, locked=locked,
                                  rollup_values=rollup_values, entries=entries + rollups.audit_entries())
    rollups.complete()
    return moved


def _sibling_positions(siblings, node_id, before_id):
    """(old, new) place of `node_id` among `siblings` (1 = first) when it moves before `before_id` (None: last)."""
    order = [kid.id for kid in siblings]
    others = [kid_id for kid_id in order if kid_id != node_id]
    new = others.index(before_id) if before_id in others else len(others)
    return order.index(node_id) + 1, new + 1


def delete_work_item(item, actor, expected_version):
    """Delete `item` and its subtree (the view asks for confirmation showing subtree_size first) when it is
    still at `expected_version` (checked inside the tree lock), else Conflict; returns
    the number of nodes deleted. The former parent and its ancestors are rolled up."""
    require(actor, "workitem.delete", item)
    locked = tree.lock(item, measure=item)
    n = locked[tree.id_of(item)]
    check_version(item, expected_version, current_version=n.version)
    if n.obligated or n.disbursed:
        _refuse_deleting_money(n.title)
    cause = f"derived from deleted child #{n.id}"
    rollups = rollup.RollupPlan(locked, {}, cause)
    if n.parent_id is not None:
        rollups = rollup.RollupPlan.of(locked, cause, replace={n.parent_id: {n.id: None}}, skip={n.id})
    entries = change_entries(WorkItem, {n.id: {"title": (n.title, None)}}, action="delete",
                             cause=f"deleted with its subtree ({n.size} work items)")
    try:
        with rollups.write_with() as rollup_values:
            tree.delete_subtree(item, locked=locked, rollup_values=rollup_values,
                                entries=entries + rollups.audit_entries())
    except sa.exc.IntegrityError:  # financial entries (RESTRICT) under it, all reversed: nothing rolled up shows them
        _refuse_deleting_money(n.title)
    if n.parent_id is not None:  # a deleted root has no ancestors to roll up
        rollups.complete()
    return n.size


def _refuse_deleting_money(title):
    """Posted money and its history (reversed entries too) are never deleted, so neither is the item they rest on."""
    _fail("confirm", f"“{title}” has obligations or disbursements recorded under it (reversed ones count too): "
                     "posted money and its history are never deleted. Cancel the item instead.")


@dataclasses.dataclass(frozen=True)
class Allocations:
    """New allocated budgets for children of one node, as set_allocations' `decide` returns them.

    shares: {child id: amount} (children not named keep theirs); below: {container id: {item id: amount}}
    for items deeper down that change with them (a distribution that rescales the items under a child), each
    container the node's child or one of those items; cause: the audit cause of every row the write records;
    entries: the caller's own audit rows, written with them; outcome: anything the caller wants back.
    set_allocations returns it with `lineage`: the ids of the node, its ancestors and the containers in
    `below` (deepest first), whose roll-ups may have changed."""

    shares: dict
    cause: str
    entries: tuple = ()
    outcome: object = None
    below: dict = dataclasses.field(default_factory=dict)
    lineage: tuple = ()


def set_allocations(node, decide, session=None):
    """Give children of `node` (a WorkItem or an id) — and, through Allocations.below, items under them —
    new allocated budgets: the one write call for allocations (budget distributions use it).

    Locks the node's tree, then calls `decide()` inside the lock: it re-reads what it needs, checks its rules
    and the versions its user saw — raising writes nothing — and returns Allocations. Then the roll-ups of
    the containers concerned and their ancestors are planned, the changed allocations (version + 1) and those
    roll-ups written together (each row once), loaded objects brought up to date, the PPA sync told
    (rollup.AFTER_RECOMPUTE), and every audit row — the caller's, the allocations', the roll-ups' and the
    sync's — written at once. Returns the Allocations with `lineage` filled in."""
    session = session or db.session
    locked = tree.lock(node, session=session)
    node_id = tree.id_of(node)
    allocations = decide()
    levels = {node_id: {kid_id: share for kid_id, share in allocations.shares.items() if share is not None},
              **{container: dict(shares) for container, shares in allocations.below.items() if container != node_id}}
    if len(levels) > 1:  # the families below, read inside the same lock
        locked = tree.read_families(list(levels), session=session)
    changed, replace = {}, {}
    for container, shares in levels.items():
        kids = locked.kids.get(container, [])
        changed.update({kid.id: (kid, shares[kid.id]) for kid in kids
                        if kid.id in shares and shares[kid.id] != kid.allocated_budget})
        replace[container] = {kid.id: rollup.Child(kid.status, kid.progress, shares.get(kid.id, kid.allocated_budget))
                              for kid in kids}
    rollups = rollup.RollupPlan.of(locked, allocations.cause, replace=replace)
    entries = list(allocations.entries) + change_entries(
        WorkItem, {kid.id: {"allocated_budget": (kid.allocated_budget, share)} for kid, share in changed.values()},
        versions={kid.id: kid.version + 1 for kid, _ in changed.values()}, cause=allocations.cause)
    with rollups.write_with() as rollup_values:
        params = {kid.id: {"_id": kid.id, "_allocated": share, "_progress": kid.progress, "_status": kid.status,
                           "_completed_at": kid.completed_at}
                  for kid, share in changed.values()}
        for row_id, v in rollup_values.items():  # a rescaled item may roll up too: one row, both changes
            row = params.setdefault(row_id, {"_id": row_id, "_allocated": locked[row_id].allocated_budget})
            row.update(_progress=v["progress"], _status=v["status"], _completed_at=v["completed_at"])
        if params:
            session.execute(_allocations_statement(), list(params.values()))
    expire_loaded(session, list(changed), ("allocated_budget", "version", "updated_at"))
    rollups.complete(entries, session=session)
    return dataclasses.replace(allocations, lineage=tuple(locked.rows))


@cache
def _allocations_statement():
    """The children's new allocations and the roll-ups of the node and its ancestors: one executemany UPDATE,
    each row with all four values (a child keeps its roll-up values, a container its allocation)."""
    column = WorkItem.__table__.c
    return sa.update(WorkItem.__table__).where(column.id == sa.bindparam("_id")).values(
        allocated_budget=sa.bindparam("_allocated", type_=column.allocated_budget.type),
        progress=sa.bindparam("_progress"), status=sa.bindparam("_status"),
        completed_at=sa.bindparam("_completed_at", type_=column.completed_at.type), version=column.version + 1)


def assign_users(item, actor, user_ids):
    """Replace the assignees of `item` with the given active users. A change of people is something a person
    sees: it moves the item's version (a form opened before answers 409) and is audited as "assigned_to"
    (names, old → new). Giving the same people again changes nothing."""
    require(actor, "workitem.edit", item)
    user_ids = sorted(set(int(i) for i in user_ids))
    users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids), User.is_active).order_by(User.id)).all()
    if len(users) != len(user_ids):
        missing = sorted(set(user_ids) - {u.id for u in users})
        _fail("assignees", f"Unknown or inactive users: {', '.join(f'#{i}' for i in missing)}.")
    before = list(item.assignees)
    if sorted(u.id for u in before) == user_ids:
        return item
    item.assignees = list(users)
    db.session.flush()
    table = WorkItem.__table__
    version = db.session.scalar(sa.update(table).where(table.c.id == item.id)
                                .values(version=table.c.version + 1).returning(table.c.version))
    set_committed_value(item, "version", version)
    record_bulk_change(WorkItem, {item.id: {"assigned_to": (_names(before), _names(users))}},
                       versions={item.id: version})
    return item


# Fields update_work_items() writes set-based: none of them is a roll-up input (those need update_work_item).
SET_BASED_EDITS = frozenset(EDITABLE) - ROLLUP_INPUTS


def _lock_fresh(items, expected_versions, actor, skip_stale, session):
    """The tree locks and the version check of a write over many items: their trees locked in one statement
    (roots in id order), their versions read inside the lock in one; a stale item raises Conflict (as
    check_version) or, with skip_stale, is answered. Returns ({id: expected version} of the fresh items,
    {stale id: reason})."""
    for item in items:
        require(actor, "workitem.edit", item)
    expected = {item.id: int(expected_versions.get(item.id) or item.version) for item in items}
    session.flush()
    tree.lock_trees(list(expected), session=session)
    stale = stale_rows(WorkItem, expected, session)
    if not skip_stale:
        refuse_stale(items, expected, stale, session)
    return {i: v for i, v in expected.items() if i not in stale}, stale


def update_work_items(changes, expected_versions, actor, skip_stale=False, session=None):
    """update_work_item() of many items at once (bulk operations): changes = {item: {field: value}} of
    SET_BASED_EDITS fields (no roll-up reads them), each item checked against expected_versions {id: version}
    (else its loaded version) inside the lock. Statements, whatever the number: the lock, the versions, one
    executemany UPDATE (version + 1) per set of fields changed, one INSERT of the audit rows. Returns
    (written ids, {stale id: reason})."""
    session = session or db.session
    fields = set().union(*changes.values()) if changes else set()
    if not SET_BASED_EDITS.issuperset(fields):
        raise ValueError(f"not set-based work item fields: {sorted(fields - SET_BASED_EDITS)}")
    cleaned = {}
    for item, values in changes.items():
        values = clean(values, item.work_type)
        _check_dates(values.get("start_date", item.start_date), values.get("due_date", item.due_date))
        cleaned[item] = {k: v for k, v in values.items() if getattr(item, k) != v}
    fresh, stale = _lock_fresh(list(changes), expected_versions, actor, skip_stale, session)
    groups, entries = {}, []
    for item, values in cleaned.items():
        if item.id in fresh and values:
            groups.setdefault(tuple(sorted(values)), []).append(item)
    sqlite = is_sqlite(session)
    for keys, members in groups.items():
        rows = [{"id": item.id, "version": fresh[item.id], **{k: cleaned[item][k] for k in keys}} for item in members]
        if sqlite:  # one prepared statement stepped by executemany
            session.execute(_update_statement(keys), [{f"_{k}": v for k, v in row.items()} for row in rows])
        else:  # one statement: the rows as one JSON document
            session.execute(_json_update_statement(keys), {"_rows": json.dumps(rows, default=str)})
        entries += change_entries(WorkItem, {item.id: {k: (getattr(item, k), cleaned[item][k]) for k in keys}
                                             for item in members},
                                  versions={item.id: fresh[item.id] + 1 for item in members})
        for item in members:
            set_loaded(item, version=fresh[item.id] + 1, **cleaned[item])
    write_entries(entries, session.connection())
    expire_loaded(session, [item.id for members in groups.values() for item in members], ("updated_at",))
    return [item.id for item in changes if item.id in fresh], stale


@cache
def _update_statement(keys):
    """UPDATE of `keys` by id where the version is still the one read inside the lock (executemany)."""
    column = WorkItem.__table__.c
    return (sa.update(WorkItem.__table__)
            .where(column.id == sa.bindparam("_id"), column.version == sa.bindparam("_version"))
            .values({**{key: sa.bindparam(f"_{key}", type_=column[key].type) for key in keys},
                     "version": column.version + 1}))


@cache
def _json_update_statement(keys):
    """PostgreSQL: UPDATE work_items SET <keys> = v.<keys>, version = version + 1 FROM json_to_recordset(:_rows)
    AS v(id, version, <keys>) WHERE id = v.id AND version = v.version — every row in one statement."""
    column = WorkItem.__table__.c
    source = (sa.func.json_to_recordset(sa.cast(sa.bindparam("_rows", type_=sa.Text), sa.JSON))
              .table_valued(sa.column("id", sa.Integer), sa.column("version", sa.Integer),
                            *[sa.column(key, storage_type(column[key])) for key in keys])
              .render_derived(name="v", with_types=True))
    return (sa.update(WorkItem.__table__).where(column.id == source.c.id, column.version == source.c.version)
            .values({**{key: source.c[key] for key in keys}, "version": column.version + 1}))


def assign_many(items, actor, user_ids, expected_versions, skip_stale=False, session=None):
    """assign_users() of many items at once (bulk assign): each item's assignees become `user_ids`, checked
    against expected_versions {id: version} inside the lock; items that hold exactly them already are
    checked, not written. Statements, whatever the number: the people, the lock, the versions, one DELETE and
    one INSERT of assignments, one UPDATE of versions, one INSERT of audit rows. The items' assignees must
    be loaded. Returns (checked ids, {stale id: reason})."""
    session = session or db.session
    user_ids = sorted(set(int(i) for i in user_ids))
    users = session.scalars(sa.select(User).where(User.id.in_(user_ids), User.is_active).order_by(User.id)).all()
    if len(users) != len(user_ids):
        missing = sorted(set(user_ids) - {u.id for u in users})
        _fail("assignees", f"Unknown or inactive users: {', '.join(f'#{i}' for i in missing)}.")
    fresh, stale = _lock_fresh(items, expected_versions, actor, skip_stale, session)
    moved = [item for item in items if item.id in fresh and sorted(u.id for u in item.assignees) != user_ids]
    if moved:
        ids = [item.id for item in moved]
        links = work_item_assignees.c
        session.execute(sa.delete(work_item_assignees).where(links.work_item_id.in_(ids)))
        add_assignees([(i, u) for i in ids for u in user_ids], session=session)
        table = WorkItem.__table__
        session.execute(sa.update(table).where(table.c.id.in_(ids)).values(version=table.c.version + 1))
        record_bulk_change(WorkItem, {item.id: {"assigned_to": (_names(item.assignees), _names(users))}
                                      for item in moved},
                           versions={i: fresh[i] + 1 for i in ids}, session=session)
        for item in moved:
            set_committed_value(item, "assignees", list(users))
            set_committed_value(item, "version", fresh[item.id] + 1)
        expire_loaded(session, ids, ("updated_at",))
    return [item.id for item in items if item.id in fresh], stale


def _names(users):
    return ", ".join(sorted(u.display_name for u in users)) or None


def may_hold(user, item):
    """True when `item` may be handed to `user`: an active person of its organization or of the OOBC who may
    change it (workitem.edit on it), so that they can start and complete it."""
    organization = user.organization
    return bool(user.is_active and organization is not None
                and (organization.id == item.organization_id or organization.kind == "oobc")
                and can(user, "workitem.edit", item))


def add_assignees(assignments, session=None):
    """Assign users to work items just created (generated tasks): `assignments` = [(work item id, user id)],
    in one INSERT. Assignees are not audited field by field (as assign_users)."""
    rows = [{"work_item_id": item_id, "user_id": user_id} for item_id, user_id in sorted(set(assignments))]
    if rows:
        (session or db.session).execute(sa.insert(work_item_assignees), rows)
    return len(rows)


def build_tree(nodes, actor, parent=None, organization_id=None, ppa_id=None):
    """Create whole subtrees at once (structure templates, imports, the benchmark's bulk build): `nodes` as
    for tree.insert_many, checked against the type, depth and allocation rules first, their containers
    rolled up in memory before the one INSERT. New roots take organization_id/ppa_id (passed down) unless
    they name their own (many trees in one INSERT: generated task lists); nodes under `parent` take its
    tree's, and its ancestors are rolled up. Returns the new ids in tree order."""
    if parent is not None:
        require(actor, "workitem.edit", parent)
    for organization in {node.get("organization_id", organization_id) for node in nodes} if parent is None else ():
        require(actor, "workitem.edit", WorkItem(organization_id=organization))
    prepared = [_prepare(node, actor.id) for node in nodes]
    rollup.derive_structure(prepared)
    locked = None

    def check(p, top):
        for node in top:
            _check_structure(node, p.work_type, p.depth + 1)
        rollup.check_allocation(p, p.children_allocated + sum(n.get("allocated_budget", 0) for n in top))

    if parent is None:
        for node in prepared:
            node.setdefault("organization_id", organization_id)
            node.setdefault("ppa_id", ppa_id)
            _check_structure(node, None, 0)
    else:
        locked = tree.lock(parent)
    ids = tree.insert_many(prepared, parent=parent, check=check, locked=locked)
    offsets = [0]
    for node in prepared[:-1]:
        offsets.append(offsets[-1] + tree.count_nodes([node]))
    tops = [ids[i] for i in offsets]
    record_bulk_change(WorkItem, {i: {"title": (None, n["title"])} for i, n in zip(tops, prepared, strict=True)},
                       action="create", cause=f"created in one structure of {len(ids)} work items")
    if locked is not None:
        children = {i: rollup.Child(n.get("status", "not_started"), n.get("progress", 0),
                                    n.get("allocated_budget", Decimal("0"))) for i, n in zip(tops, prepared, strict=True)}
        rollup.recompute(locked, replace={tree.id_of(parent): children}, cause="derived from new children")
    return ids


def _prepare(node, actor_id):
    fields = {k: v for k, v in node.items() if k != "children"}
    if not CREATABLE_SET.issuperset(fields):
        raise ValueError(f"not creatable work item fields: {sorted(set(fields) - CREATABLE_SET)}")
    fields = clean(fields, fields.get("work_type"))
    _check_dates(fields.get("start_date"), fields.get("due_date"))
    fields["created_by_id"] = actor_id
    fields["children"] = [_prepare(child, actor_id) for child in node.get("children", ())]
    return fields


def _check_structure(node, parent_type, depth):
    """Type, depth and allocation rules for a structure (node at `depth`) before it is written."""
    check_placement(node["work_type"], parent_type, depth - 1)
    kids = node["children"]
    if kids:
        rollup.check_allocation(rollup.Envelope(node["title"], node.get("allocated_budget", Decimal("0"))),
                                sum((k.get("allocated_budget", Decimal("0")) for k in kids), Decimal("0")))
    for child in kids:
        _check_structure(child, node["work_type"], depth + 1)


def get_work_item(item_id, actor, permission="workitem.read"):
    """The work item if the actor may reach it: NotFound (404) when it is missing or outside the actor's
    scope (another organization's tree looks missing, as everywhere in the app), NotAllowed (403) without
    the permission. One query."""
    return load_in_scope(WorkItem, item_id, actor, permission, label="work item")


# ------------------------------------------------------------------------------------------------- page actions
# One call per thing a page does, so the rules the pages relied on live here (the callers only read forms).
def organizations_for_new_trees(actor):
    """The organizations `actor` may start a tree for: every active one for the OOBC roles, else their own."""
    if actor.role in EDIT_ALL:
        stmt = sa.select(Organization).where(Organization.is_active.is_(True)).order_by(Organization.acronym)
    else:
        stmt = sa.select(Organization).where(Organization.id == actor.organization_id)
    return db.session.scalars(stmt).all()


def create_project(actor, organization_id=None, **fields):
    """A new tree: a root project for `organization_id`, which must be one of organizations_for_new_trees
    (ValidationFailed on organization_id otherwise)."""
    if organization_id not in {o.id for o in organizations_for_new_trees(actor)}:
        _fail("organization_id", "Choose one of the organizations listed.")
    return create_work_item(None, actor, organization_id=organization_id, **dict(fields, work_type="project"))


def edit_work_item(item, actor, expected_version, assignees=None, transition=None, **changes):
    """The edit form's save: `changes` (update_work_item), the assignees when they differ (None: leave them),
    and a status `transition` the actor may fire now (ValidationFailed on transition otherwise), in that
    order; the machine's effects roll the ancestors up."""
    if transition:
        allowed = available_transitions(item, actor) if machine_for(WorkItem) is not None else []
        if transition not in {option.name for option in allowed if option.allowed}:
            _fail("transition", "That status change is not open to you now.")
    update_work_item(item, expected_version, actor, **changes)
    if assignees is not None and assignees != sorted(user.id for user in item.assignees):
        assign_users(item, actor, assignees)
    if transition:
        fire(item, transition, actor)
    return item


def reorder_work_item(item, actor, expected_version, direction):
    """Move `item` one place up or down among its siblings (direction "up" | "down") when it is still at
    `expected_version`; ValidationFailed on direction for a tree's top item, an unknown direction or an
    item already first (up) or last (down). Returns what move_work_item returns."""
    if item.parent_id is None:
        _fail("direction", "A tree's top item has no siblings to change places with.")
    if direction not in ("up", "down"):
        _fail("direction", "Choose up or down.")
    siblings = tree.siblings(item, include_self=True)
    at = [s.id for s in siblings].index(item.id)
    if direction == "up" and at > 0:
        before = siblings[at - 1]
    elif direction == "down" and at < len(siblings) - 1:
        before = siblings[at + 2] if at + 2 < len(siblings) else None
    else:
        edge = "first" if direction == "up" else "last"
        _fail("direction", f"“{item.title}” is already the {edge} of its siblings.")
    parent = db.session.get(WorkItem, item.parent_id)
    return move_work_item(item, actor, expected_version, parent=parent, before=before)


def reassign_work_item(item, actor, expected_version, from_user_id, to_user_id):
    """Hand `item` from its assignee `from_user_id` to `to_user_id` (a person who may_hold it), keeping its
    other assignees: the tree lock, the version check (Conflict, 409, naming what a colleague changed),
    then assign_users (versioned, audited). ValidationFailed on "to" for anyone else, or when nothing would
    change; on "from" when that person no longer holds it."""
    update_work_item(item, expected_version, actor)  # no changes: lock, re-read, check the version
    person = db.session.get(User, to_user_id) if to_user_id else None
    if person is None or not may_hold(person, item):
        _fail("to", "Choose one of the people listed.")
    current = {u.id for u in item.assignees}
    if from_user_id not in current:
        _fail("from", "That person no longer holds this task.")
    if person.id == from_user_id:
        _fail("to", f"{person.display_name} holds it already: choose someone else.")
    return assign_users(item, actor, (current - {from_user_id}) | {person.id})
