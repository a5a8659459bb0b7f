"""Roll-ups (DOMAIN.md "Roll-ups (we)"): values of a container derived from its children, stored on the node.

For a container (a node with children):
- progress, when `auto_calculate_progress`: the average of its non-cancelled children's progress (a
  completed child counts 100), weighted by their allocated budgets when every such child has a budget > 0,
  else equal; an integer rounded half up, computed exactly (integer centavos). With no non-cancelled child
  the progress is left as it is.
- status (derived, not a user transition): all children completed or cancelled → `completed` (unless the
  container itself is cancelled); else a `not_started` container with a child `in_progress`, or with
  progress above 0 (a child completed or part done), → `in_progress`: a row never reads "not started" at
  50 %. completed_at is set when it becomes completed.
- actual expenditure: the sum of its children's (entered on leaves, summed upward).
Allocation: the children's allocated budgets may not exceed the parent's (check_allocation); the rest is
unallocated (allocation_tree).

Two ways to recompute, same rules (a test holds them equal):
- plan(locked, replace=…): the ancestors of a change, one pass over the tree.lock() read, bottom-up in Python
  (`derive`), no query. A tree write carries the result in its own UPDATE (RollupPlan); an
  edit writes it with one executemany UPDATE (recompute, update_ancestors).
- rollup_trees(tree_ids=None): whole trees (or all) in SQL: one SELECT finds the containers whose stored
  values disagree with their children's (GROUP BY parent_id); from the deepest such level up, per level
  one SELECT computing the new values from the children and one UPDATE of those that changed. At most 5
  levels (a tree has ≤ 6).
Every write bumps `version`, runs under obcms.workflow.derived_status(cause) (the status guard's whitelist)
and is recorded in the audit trail with that cause ("derived from child #123").
"""
import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..audit.context import audit_cause
from ..audit.recording import change_entries, storage_type, write_entries
from ..database import is_sqlite
from ..db_types import utcnow
from ..errors import ValidationFailed
from ..extensions import db
from ..money import CENT, format_pesos
from ..workflow.guard import derived_status
from . import tree
from .models import WorkItem
from .money_sql import cents
from .tree.session_sync import expire_loaded

work_items = WorkItem.__table__
# What a roll-up write changes on a container: loaded objects forget these.
ROLLED_UP_ATTRIBUTES = ("progress", "status", "completed_at", "version", "updated_at")
ZERO = Decimal("0.00")
DONE = ("completed", "cancelled")
# Told after every recompute() (each tree write and transition): callback(locked, session, entries=None); with
# a list as `entries` (RollupPlan.complete()) the callback appends its audit rows there instead of writing
# them. The PPA package subscribes (obcms/ppas/tracking.py) to carry a tree's progress and status to its PPA in
# the same transaction; a registry keeps this package from importing the ones built on it.
AFTER_RECOMPUTE = []


@dataclass
class Child:
    status: str
    progress: int
    allocated_budget: Decimal


def _cents(amount):
    return int((Decimal(amount) * 100).to_integral_value())


def _round_half_up(numerator, denominator):
    """round(numerator / denominator) with halves up, exact for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def derive(status, progress, auto_calculate_progress, children):
    """(progress, status) of a container from its children (a list of Child). Money is not derived here: a
    node's obligated, disbursed and actual_expenditure (= disbursed) roll up in the ledger's write."""
    counted = [k for k in children if k.status != "cancelled"]
    if auto_calculate_progress and counted:
        effective = [100 if k.status == "completed" else k.progress for k in counted]
        budgets = [_cents(k.allocated_budget) for k in counted]
        if all(b > 0 for b in budgets):
            progress = _round_half_up(sum(e * b for e, b in zip(effective, budgets, strict=True)), sum(budgets))
        else:
            progress = _round_half_up(sum(effective), len(effective))
    if children and status != "cancelled" and all(k.status in DONE for k in children):
        status = "completed"
    elif status == "not_started" and (progress > 0 or any(k.status == "in_progress" for k in children)):
        status = "in_progress"
    return progress, status


# ------------------------------------------------------------------------------------------------- writing
@cache
def _write_statement():
    return sa.update(work_items).where(work_items.c.id == sa.bindparam("_id")).values(
        progress=sa.bindparam("_progress"), status=sa.bindparam("_status"),
        completed_at=sa.bindparam("_completed_at", type_=work_items.c.completed_at.type),
        version=work_items.c.version + 1)


def _assignments(changes, now):
    """The new column values of `changes` ({id: {progress, status, completed_at}}); a
    container becoming completed gets completed_at = now (recorded in its change too)."""
    values = {}
    for node_id, fields in changes.items():
        status_old, status_new = fields["status"]
        completed_at = fields.pop("completed_at")
        if status_new == "completed" and status_old != "completed":
            fields["completed_at"] = (completed_at, now)
            completed_at = now
        values[node_id] = {"progress": fields["progress"][1], "status": status_new, "completed_at": completed_at}
    return values


def _write(session, changes, cause):
    """changes: {id: {"version": old version, field: (old, new), …}} → one executemany UPDATE + audit rows."""
    if not changes:
        return 0
    values = _assignments(changes, utcnow())
    params = [{"_id": node_id, "_progress": v["progress"], "_status": v["status"], "_completed_at": v["completed_at"]}
              for node_id, v in values.items()]
    with derived_status(cause):
        session.execute(_write_statement(), params)
    write_entries(_entries(changes, cause), session.connection())
    expire_loaded(session, changes, ROLLED_UP_ATTRIBUTES)
    return len(changes)


def _entries(changes, cause):
    """The audit rows of written changes not recorded yet (each container's version went up by one)."""
    pending = {node_id: fields for node_id, fields in changes.items() if "version" in fields}
    if not pending:
        return []
    versions = {node_id: fields.pop("version") + 1 for node_id, fields in pending.items()}
    if cause is None:  # inside RollupPlan.write_with(): its cause applies already
        return change_entries(WorkItem, pending, versions=versions)
    with audit_cause(cause):
        return change_entries(WorkItem, pending, versions=versions)


def _change(row_id, version, old, new, completed_at):
    """The {field: (old, new)} of one container, or None when nothing changed."""
    if old == new:
        return None
    return {"version": version, "progress": (old[0], new[0]), "status": (old[1], new[1]), "completed_at": completed_at}


def plan(locked, replace=None, overrides=None, skip=()):
    """The roll-ups of the containers in `locked` (a tree.lock() read) after a change, deepest first, in one
    pass, without a query: {container id: change} for those whose values change.

    replace = {container id: {child id: Child, or None for a child that left}} — the change being made (a
    child not written yet may use any key that is not a real id, e.g. 0);
    overrides = {node id: {field: value}} — a node's own inputs changed through the ORM (with "version");
    skip = ids no longer there (a deleted node).
    """
    overrides = overrides or {}
    kids = {cid: {k.id: Child(k.status, k.progress, k.allocated_budget) for k in members}
            for cid, members in locked.kids.items()}
    for cid, members in (replace or {}).items():
        for kid_id, child in members.items():
            if child is None:
                kids.get(cid, {}).pop(kid_id, None)
            else:
                kids.setdefault(cid, {})[kid_id] = child
    changes = {}
    for row in locked.rows.values():  # deepest first
        members = kids.get(row.id)
        if row.id in skip or not members:
            continue
        own = overrides.get(row.id, {})
        status, progress = own.get("status", row.status), own.get("progress", row.progress)
        new = derive(status, progress, own.get("auto_calculate_progress", row.auto_calculate_progress),
                     list(members.values()))
        version = own.get("version", row.version + (1 if row.id in locked.bumped else 0))
        change = _change(row.id, version, (progress, status), new, row.completed_at)
        if change:
            changes[row.id] = change
        sibling = kids.get(row.parent_id, {}).get(row.id)
        if sibling is not None:
            sibling.progress, sibling.status = new
    return changes


@dataclass
class RollupPlan:
    """The roll-ups a tree write carries: `changes` ({container id: change}, see plan) of the containers in
    `locked` (a tree.lock() read), written inside the write's own statement so each container is written
    once, with `cause` in their audit rows (it may name a new row: recording.NEW_ID):

        rollups = RollupPlan.of(locked, f"derived from moved child #{n.id}", replace=…)
        with rollups.write_with() as rollup_values:
            tree.move_subtree(item, …, locked=locked, rollup_values=rollup_values,
                              entries=entries + rollups.audit_entries())
        rollups.complete()
    """

    locked: object
    changes: dict
    cause: str

    @classmethod
    def of(cls, locked, cause, replace=None, overrides=None, skip=()):
        """The plan of the roll-ups after a change (the arguments as for plan())."""
        return cls(locked, plan(locked, replace, overrides, skip), cause)

    @contextmanager
    def write_with(self):
        """Yields the column values the tree write takes as `rollup_values` ({id: {column: value}}); inside,
        the status guard allows the derived status (derived_status(cause))."""
        with derived_status(self.cause):
            yield _assignments(self.changes, utcnow())

    def audit_entries(self):
        """The audit rows of the changes, to write with the tree write — call inside write_with(), after it
        yielded; complete() then leaves them out."""
        return _entries(self.changes, None)

    def complete(self, entries=(), session=None):
        """After the tree write: loaded objects expired, AFTER_RECOMPUTE told (the PPA sync), and the audit
        rows not written yet — the changes' (unless audit_entries() took them), `entries`, and what the
        callbacks add — written together. Returns the number of containers changed."""
        session = session or db.session
        rows = list(entries) + _entries(self.changes, self.cause)
        expire_loaded(session, self.changes, ROLLED_UP_ATTRIBUTES)
        _tell(self.locked, session, rows)
        write_entries(rows, session.connection())
        return len(self.changes)


def _tell(locked, session, entries=None):
    """Run the AFTER_RECOMPUTE callbacks; one that takes `entries` adds its audit rows there."""
    for callback in AFTER_RECOMPUTE:
        if entries is not None and _takes_entries(callback):
            callback(locked, session, entries=entries)
        else:
            callback(locked, session)


@cache
def _takes_entries(callback):
    return "entries" in inspect.signature(callback).parameters


def recompute(locked, replace=None, overrides=None, skip=(), cause=None, session=None):
    """Roll up the containers in `locked` (see plan) and write those that changed with one executemany
    UPDATE. No query of its own but the writes: the read was done inside the lock. Returns the number of
    containers changed."""
    session = session or db.session
    changed = _write(session, plan(locked, replace, overrides, skip), cause or "derived from a change below")
    _tell(locked, session)
    return changed


def update_ancestors(node_ids, include_self=False, locked=False, cause=None, session=None):
    """Recompute the roll-ups of every ancestor of the given nodes (with include_self, of the nodes too),
    bottom-up in one pass: one SELECT (tree.read_families), one executemany UPDATE of what changed.
    Pass locked=True when the caller already holds the tree lock. Returns the number of containers changed."""
    session = session or db.session
    node_ids = [node_ids] if isinstance(node_ids, int) else list(node_ids)
    if not node_ids:
        return 0
    read = tree.read_families(node_ids, session=session) if locked else tree.lock(*node_ids, session=session)
    skip = set()
    if not include_self:
        above = set()
        for node_id in node_ids:
            parent_id = read[node_id].parent_id
            while parent_id is not None and parent_id not in above:
                above.add(parent_id)
                parent_id = read[parent_id].parent_id
        skip = set(node_ids) - above
    return recompute(read, skip=skip, cause=cause or f"derived from child #{node_ids[0]}", session=session)


def derive_structure(nodes):
    """Fill in the derived values of the containers of a nested structure (as for tree.insert_many) before
    it is written, bottom-up, with the same rules."""
    for node in nodes:
        kids = node.get("children")
        if not kids:
            continue
        derive_structure(kids)
        children = [Child(k.get("status", "not_started"), k.get("progress", 0), k.get("allocated_budget", ZERO))
                    for k in kids]
        status = node.get("status", "not_started")
        progress, new_status = derive(status, node.get("progress", 0), node.get("auto_calculate_progress", True),
                                      children)
        node.update(progress=progress, status=new_status)
        if new_status == "completed" and status != "completed":
            node["completed_at"] = utcnow()


def _level_changes(session, depth, tree_ids):
    """SQL: the containers at `depth` (None: at every depth) whose stored derived values differ from what
    their children's stored values give, with old and new values."""
    params = {} if depth is None else {"_depth": depth + 1}
    if tree_ids is not None:
        params["_trees"] = list(tree_ids)
    return session.execute(_level_statement(is_sqlite(session), tree_ids is not None, depth is not None),
                           params).all()


@cache
def _level_statement(sqlite, some_trees, one_level):
    column, k = work_items.c, aliased(work_items, name="k")
    counted = k.c.status != "cancelled"
    effective = sa.case((k.c.status == "completed", 100), else_=k.c.progress)
    budget = cents(k.c.allocated_budget, sqlite)

    def total(expression):
        return sa.cast(sa.func.sum(expression), sa.BigInteger)

    agg = sa.select(
        k.c.parent_id.label("pid"), sa.func.count().label("n_all"),
        sa.func.count().filter(k.c.status.in_(DONE)).label("n_done"),  # FILTER: cheaper than SUM(CASE …)
        sa.func.count().filter(k.c.status == "in_progress").label("n_active"),
        sa.func.count().filter(counted).label("n_counted"),
        total(sa.case((counted, effective), else_=0)).label("effective"),
        sa.func.min(sa.case((counted, budget), else_=None)).label("min_budget"),
        total(sa.case((counted, effective * budget), else_=0)).label("weighted"),
        total(sa.case((counted, budget), else_=0)).label("budget"),
    ).group_by(k.c.parent_id)
    if one_level:
        agg = agg.where(k.c.depth == sa.bindparam("_depth", type_=sa.Integer))
    if some_trees:
        agg = agg.where(k.c.tree_id.in_(sa.bindparam("_trees", expanding=True)))
    agg = agg.subquery("agg")
    progress = sa.case(
        (sa.and_(column.auto_calculate_progress, agg.c.n_counted > 0),
         sa.case((agg.c.min_budget > 0, (2 * agg.c.weighted + agg.c.budget) // (2 * agg.c.budget)),
                 else_=(2 * agg.c.effective + agg.c.n_counted) // (2 * agg.c.n_counted))),
        else_=column.progress)
    status = sa.case((sa.and_(column.status != "cancelled", agg.c.n_done == agg.c.n_all), "completed"),
                     (sa.and_(column.status == "not_started", sa.or_(progress > 0, agg.c.n_active > 0)), "in_progress"),
                     else_=column.status)
    return (sa.select(column.id, column.depth, column.version, column.progress, column.status, column.completed_at,
                      progress.label("new_progress"), status.label("new_status"))
            .join(agg, column.id == agg.c.pid)
            .where(sa.or_(progress != column.progress, status != column.status)))


def rollup_trees(tree_ids=None, cause=None, session=None):
    """Recompute every container of the given trees (default: all trees) in SQL; locks them first.

    One query finds the containers whose stored values disagree with their children's; when there are none
    (the usual nightly case) that is all — on PostgreSQL without taking the locks. Otherwise the levels from the deepest disagreeing one up to the
    roots are recomputed bottom-up, one SELECT and one UPDATE per level. Returns the containers changed."""
    session = session or db.session
    session.flush()
    if tree_ids is not None:
        tree_ids = sorted(set(tree_ids))
        if not tree_ids:
            return 0
    if not is_sqlite(session) and not _level_changes(session, None, tree_ids):
        return 0  # all agree in this snapshot: no lock needed (on SQLite a read before the lock could go stale)
    if tree_ids is None:
        tree.lock_all_trees(session)
    else:
        tree.lock_trees(tree_ids, known_trees=True, session=session)
    stale = _level_changes(session, None, tree_ids)
    if not stale:
        return 0
    cause = cause or "roll-up of " + ("all trees" if tree_ids is None else
                                      f"tree {', '.join(f'#{t}' for t in tree_ids)}")
    deepest = max(r.depth for r in stale)
    changed = 0
    for depth in range(deepest, -1, -1):
        rows = [r for r in stale if r.depth == depth] if depth == deepest else \
            _level_changes(session, depth, tree_ids)
        changes = {r.id: _change(r.id, r.version, (r.progress, r.status), (r.new_progress, r.new_status),
                                 r.completed_at) for r in rows}
        changed += _write(session, {k: v for k, v in changes.items() if v}, cause)
    return changed


# ------------------------------------------------------------------------------------------------- money
@dataclass(frozen=True)
class Envelope:
    """An amount to check children's allocations against (check_allocation), with the title that names it."""

    title: str
    allocated_budget: Decimal


def check_allocation(parent, children_allocated):
    """Refuse when children's allocations exceed the parent's envelope. `parent` is a tree.LockedNode, an Envelope
    (or any object with title and allocated_budget); `children_allocated` the total the children would have."""
    over = (Decimal(children_allocated) - Decimal(parent.allocated_budget)).quantize(CENT)
    if over > 0:
        message = (f"The children of '{parent.title}' would be allocated {format_pesos(children_allocated)}, "
                   f"{format_pesos(over)} more than its {format_pesos(parent.allocated_budget)}.")
        raise ValidationFailed(message, errors={"allocated_budget": [message]}, amount_over=str(over))


def _stored(column):
    """The column read as stored (no Money/Enum result processing: NUMERIC(14,2) comes back with its two
    places, the enum as its string) — the allocation tree reads many rows."""
    return sa.type_coerce(column, storage_type(column)).label(column.key)


ALLOCATION_COLUMNS = (work_items.c.id, work_items.c.parent_id, work_items.c.title, _stored(work_items.c.work_type),
                      _stored(work_items.c.status), work_items.c.progress, work_items.c.depth,
                      _stored(work_items.c.allocated_budget), _stored(work_items.c.actual_expenditure))


def allocation_tree(root, session=None):
    """The allocation tree of a node's subtree in tree order, from ONE query: per node id, parent_id, title,
    work_type, status, progress, depth, allocated, children_allocated, unallocated (allocated − children's),
    actual_expenditure, variance (allocated − actual), variance_pct (of allocated, 2 decimals half up; None
    when nothing is allocated). Decimals throughout."""
    rows = tree.subtree_rows(root, ALLOCATION_COLUMNS, session=session)
    given = {}
    for r in rows:
        parent_id = r[1]
        if parent_id is not None:
            given[parent_id] = given.get(parent_id, ZERO) + r[7]
    out = []
    append = out.append
    for node_id, parent_id, title, work_type, status, progress, depth, allocated, spent in rows:
        children_allocated = given.get(node_id, ZERO)
        variance = allocated - spent
        append({"id": node_id, "parent_id": parent_id, "title": title, "work_type": work_type, "status": status,
                "progress": progress, "depth": depth, "allocated": allocated, "children_allocated": children_allocated,
                "unallocated": allocated - children_allocated, "actual_expenditure": spent, "variance": variance,
                "variance_pct": (variance * 100 / allocated).quantize(CENT, rounding=ROUND_HALF_UP) if allocated else None})
    return out
