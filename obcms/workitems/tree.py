"""All nested-set arithmetic of the work-breakdown tree. Nothing else reads or writes lft/rgt/depth/tree_id.

A tree is every node with the same `tree_id` (= its root's id). A node's interval [lft, rgt] encloses exactly
its subtree; the root spans 1 … 2n. Reads are one query each (a self-join on the lft range, so the bounds are
never taken from a possibly stale ORM object):

    descendants(project)               # [WorkItem …] in tree order (TREE_LOAD columns; the rest on access)
    ancestors(subtask)                 # the breadcrumb, root first
    subtree_nested(project)            # {"id", "title", …, "children": [ … ]} for a template
    children_rows({5, 9}, columns)     # the children of several parents, in tree order (size_column())

Code elsewhere orders by position() and counts with size()/size_column(); it never reads the bounds.

Writes lock the tree(s) they touch — the root row, `SELECT … FOR UPDATE` on PostgreSQL (several trees in id
order, so two writers never deadlock), the database write lock on SQLite; lock_trees() does it in one statement
that also finds the roots of the given nodes — then re-read the bounds inside the lock (read_families: the
nodes, their ancestors and those ancestors' children, in one query, which the roll-ups reuse) and run a fixed
number of set-based statements (never a loop over nodes). A version moves only where something a person sees
changed — the moved node (its parent or position) and the ancestors whose roll-ups change —, never because a
write elsewhere renumbered the bounds; afterwards the structural attributes of WorkItem objects in the session
are expired (deleted ones expunged), so stale bounds are never used.

    item = insert(WorkItem(title="Survey", work_type="task"), parent=activity)      # last child
    insert(WorkItem(...), parent=activity, before=some_task)                        # before a sibling
    move_subtree(activity, parent=other_project)                                    # across trees
    move_subtree(task, parent=activity, before=first_task)                          # reorder
    move_subtree(task)                                                              # its own tree
    delete_subtree(activity)                                                        # → nodes deleted

`check=` callables (the service's type, depth and allocation rules) run inside the lock with the fresh
rows, so a rule is judged on the same data the write uses; services pass `locked=` (what lock() returned) to
reuse that read, `also=` (the ancestors' roll-ups, rollup.folded) so each container is written once, and
`entries=` (the operation's audit rows). After the lock and the re-read, a write is ONE statement on
PostgreSQL — the shift/move/delete and the new row as data-modifying CTEs of the audit INSERT (_run) — and
one statement per part on SQLite: insert 3 (SQLite 5: shift, INSERT, audit), move 3, delete 3 (SQLite 4-5).
"""
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.recording import creation_entries, fill_new_id, json_insert, json_params, storage_type, write_entries
from ..database import is_sqlite
from ..db_types import utcnow
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from .models import WorkItem

W = WorkItem.__table__
c = W.c

# Attributes a structural write may change on rows other than the one it was given.
STRUCTURE_ATTRIBUTES = ("tree_id", "lft", "rgt", "depth", "parent_id", "version", "ppa_id", "organization_id",
                        "updated_at", "parent")


class Fresh(NamedTuple):
    """A node's bounds and the facts the rules and roll-ups need, read inside the tree lock."""

    id: int
    tree_id: int
    parent_id: int | None
    lft: int
    rgt: int
    depth: int
    work_type: str
    title: str
    ppa_id: int | None
    organization_id: int | None
    allocated_budget: object
    status: str
    progress: int
    auto_calculate_progress: bool
    actual_expenditure: object
    completed_at: object
    version: int
    height: int | None           # levels below the node (0 for a leaf); only for `height_of`
    children_allocated: object   # the sum of its children's allocated budgets (Decimal)

    @property
    def size(self):
        return (self.rgt - self.lft + 1) // 2


class Kid(NamedTuple):
    """A child of a locked node, as the roll-ups see it."""

    id: int
    lft: int
    status: str
    progress: int
    allocated_budget: object
    actual_expenditure: object


@dataclass
class Locked:
    """What lock() read inside the lock: every given node with all its ancestors (`rows`), and each of
    those with its children (`kids`). Writes add the ids of these rows they shifted to `bumped`."""

    rows: dict
    kids: dict
    bumped: set = field(default_factory=set)

    def __getitem__(self, node_id):
        return self.rows[node_id]


@dataclass(frozen=True)
class Moved:
    """What a move changed, for the roll-ups of both ends."""

    node_id: int
    old_parent_id: int | None
    new_parent_id: int | None
    old_tree_id: int
    new_tree_id: int


# ------------------------------------------------------------------------------------------------- helpers
def _session(session):
    return session or db.session


def _id(node):
    if node is None or isinstance(node, int):
        return node
    identity = sa.inspect(node).identity
    return identity[0] if identity else node.id


def _tree_hint(node):
    """The tree a loaded object says it is in, without loading anything (verified after the lock)."""
    if node is None or isinstance(node, int):
        return None
    return sa.inspect(node).dict.get("tree_id")


def _p(name):
    return sa.bindparam(name, type_=sa.Integer)


@cache
def _families_statement(with_height):
    n, a, k, sub = (aliased(W, name=name) for name in ("n", "a", "k", "sub"))
    if with_height:
        below = sa.select(sa.func.max(sub.c.depth)).where(sub.c.tree_id == a.c.tree_id,
                                                          sub.c.lft.between(a.c.lft, a.c.rgt)).scalar_subquery()
        height = sa.case((a.c.id == _p("_height_of"), below - a.c.depth), else_=None)
    else:
        height = sa.null()
    def stored(column, label):  # as stored: no Money/Enum processing per value (NUMERIC(14,2) keeps its places)
        return sa.type_coerce(column, storage_type(column)).label(label)

    return (sa.select(a.c.id, a.c.tree_id, a.c.parent_id, a.c.lft, a.c.rgt, a.c.depth, stored(a.c.work_type, "work_type"),
                      a.c.title, a.c.ppa_id, a.c.organization_id, stored(a.c.allocated_budget, "allocated_budget"),
                      stored(a.c.status, "status"), a.c.progress, a.c.auto_calculate_progress,
                      stored(a.c.actual_expenditure, "actual_expenditure"), a.c.completed_at, a.c.version,
                      height.label("height"), k.c.id.label("k_id"), k.c.lft.label("k_lft"),
                      stored(k.c.status, "k_status"), k.c.progress.label("k_progress"),
                      stored(k.c.allocated_budget, "k_allocated"), stored(k.c.actual_expenditure, "k_spent"))
            .select_from(n)
            .join(a, sa.and_(a.c.tree_id == n.c.tree_id, a.c.lft <= n.c.lft, a.c.rgt >= n.c.rgt))
            .outerjoin(k, k.c.parent_id == a.c.id)
            .where(n.c.id.in_(sa.bindparam("_ids", expanding=True)))
            .order_by(a.c.depth.desc(), a.c.id, k.c.lft))


def read_families(node_ids, height_of=None, session=None):
    """ONE query: the given nodes and all their ancestors, each with its children → Locked.

    Call it inside the tree lock (lock() does); `height_of` = a node whose height is needed (moves).
    """
    session = _session(session)
    params = {"_ids": list(node_ids)}
    if height_of is not None:
        params["_height_of"] = height_of
    values, kids = {}, {}
    session.flush()  # the read goes to the connection (no ORM autoflush): pending changes first
    for r in session.connection().execute(_families_statement(height_of is not None), params):
        node_id, kid_id = r[0], r[18]
        if node_id not in values:
            values[node_id] = r
            kids[node_id] = {}
        if kid_id is not None:
            kids[node_id][kid_id] = Kid(*r[18:])
    rows = {}
    for node_id, r in values.items():
        allocated = sum((kid.allocated_budget for kid in kids[node_id].values()), Decimal("0.00"))
        rows[node_id] = Fresh(*r[:18], allocated)
    return Locked(rows, {node_id: list(members.values()) for node_id, members in kids.items()})


@cache
def _lock_statement(sqlite, known_trees):
    """Lock tree roots: given their ids, or the roots of the trees holding the given nodes (`_ids`).

    PostgreSQL: SELECT … FOR UPDATE in id order. SQLite: a no-op UPDATE of one row takes the database
    write lock, which serializes every writer (so all trees are locked)."""
    if sqlite:
        return sa.update(W).where(c.id == sa.bindparam("_first", type_=sa.Integer)).values(id=c.id)
    target = (sa.bindparam("_ids", expanding=True) if known_trees
              else sa.select(c.tree_id).where(c.id.in_(sa.bindparam("_ids", expanding=True))).scalar_subquery())
    return sa.select(c.id).where(c.id.in_(target)).order_by(c.id).with_for_update()


def lock_trees(ids, known_trees=False, session=None):
    """Lock the trees `ids` (known_trees=True: they are root ids; else: the trees holding these nodes).
    Returns the root ids locked, or None on SQLite (where the write lock covers every tree). One statement."""
    connection = _session(session).connection()
    ids = sorted(set(ids))
    if connection.dialect.name == "sqlite":
        connection.execute(_lock_statement(True, known_trees), {"_first": ids[0]})
        return None
    return set(connection.scalars(_lock_statement(False, known_trees), {"_ids": ids}))


ROOTS = sa.select(c.id).where(c.parent_id.is_(None)).order_by(c.id)


def lock_all_trees(session=None):
    """Lock every tree (nightly roll-ups, rebuild); returns the root ids."""
    session = _session(session)
    if is_sqlite(session):
        session.execute(sa.update(W).where(sa.false()).values(id=c.id))  # the database write lock
        return list(session.scalars(ROOTS))
    return list(session.scalars(ROOTS.with_for_update()))


def lock(*nodes, height_of=None, session=None):
    """Lock the trees holding `nodes`, then read them (read_families) inside the lock → Locked.

    One statement locks: the roots named by the loaded objects' tree_id, or else the roots of the trees the
    nodes are in as the database says. The read inside the lock verifies the trees; a node moved to another
    tree meanwhile gets that tree locked too (then read again).
    """
    session = _session(session)
    session.flush()
    ids = [_id(n) for n in nodes if n is not None]
    hints = {_tree_hint(n) for n in nodes if n is not None}
    if None in hints:
        locked = lock_trees(ids, session=session)
    else:
        locked = lock_trees(hints, known_trees=True, session=session)
    tried = set(locked or ())
    while True:
        fresh = read_families(ids, height_of=_id(height_of), session=session)
        missing = [i for i in ids if i not in fresh.rows]
        if missing:
            raise NotFound(f"Work item #{missing[0]} does not exist (any more).")
        trees = {fresh[i].tree_id for i in ids}
        if locked is None or trees <= locked:
            return fresh
        if trees <= tried:
            raise ValidationFailed(f"The root of tree {sorted(trees - locked)} is missing; run "
                                   "`flask obcms tree check`.")
        locked |= lock_trees(trees - tried, known_trees=True, session=session)
        tried |= trees


def _expire(session, tree_ids=None, deleted=None, keep=None):
    """Forget the structural attributes of loaded WorkItems (of the given trees) and drop the deleted ones
    (deleted = (tree_id, lft, rgt) of a removed subtree; objects whose bounds are not loaded are looked up,
    one query, only when there are such). `keep`: an object just written whose attributes are right."""
    unsure = []
    for state in list(session.identity_map.all_states()):
        obj = state.obj()
        if state.class_ is not WorkItem or obj is None or obj is keep:
            continue
        loaded = state.dict
        if tree_ids is not None and "tree_id" in loaded and loaded["tree_id"] not in tree_ids:
            continue
        if deleted is not None:
            if "tree_id" not in loaded or "lft" not in loaded:
                unsure.append(obj)
                continue
            if loaded["tree_id"] == deleted[0] and deleted[1] <= loaded["lft"] <= deleted[2]:
                session.expunge(obj)
                continue
        if not loaded.keys().isdisjoint(STRUCTURE_ATTRIBUTES):  # else nothing to forget (e.g. after a commit)
            session.expire(obj, STRUCTURE_ATTRIBUTES)
    if unsure:
        ids = [sa.inspect(obj).identity[0] for obj in unsure]
        remaining = set(session.scalars(sa.select(c.id).where(c.id.in_(ids))))
        for obj, node_id in zip(unsure, ids, strict=True):
            if node_id in remaining:
                session.expire(obj, STRUCTURE_ATTRIBUTES)
            else:
                session.expunge(obj)


def _set_loaded(obj, **values):
    for key, value in values.items():
        set_committed_value(obj, key, value)


def _touched(condition):
    """SET clauses: version + 1 and updated_at = :_now (bound by _part, as a statement run inside a CTE gets no
    onupdate default) on the rows where `condition` holds — a field a person sees changed there (the node
    that moved: its parent or position; an ancestor: its roll-ups). The rows a write only renumbers keep
    their version, so a colleague's insert elsewhere in the tree is never an edit conflict."""
    return {"version": sa.case((condition, c.version + 1), else_=c.version),
            "updated_at": sa.case((condition, sa.bindparam("_now", type_=c.updated_at.type)), else_=c.updated_at)}


# Roll-up columns a structural UPDATE also sets on some of the rows it touches (`also=`, see rollup.folded).
ALSO = ("progress", "status", "actual_expenditure", "completed_at")


def _also_ids(k):
    return [_p(f"_a{i}") for i in range(k)]


def _also_values(k):
    """SET clauses giving `k` rows (ids bound as _a0 …) their own values of the ALSO columns (bound as
    _a0p, _a0s, … — short names keep the statement short enough for psycopg's query cache)."""
    ids = _also_ids(k)
    return {name: sa.case(*[(c.id == ids[i], sa.bindparam(f"_a{i}{name[0]}", type_=c[name].type)) for i in range(k)],
                          else_=c[name])
            for name in (ALSO if k else ())}


def _also_params(also):
    params = {}
    for i, (row_id, values) in enumerate(also.items()):
        params[f"_a{i}"] = row_id
        for name in ALSO:
            params[f"_a{i}{name[0]}"] = values[name]
    return params


def _part(locked, statement, params, also, moved_id=None):
    """One structural statement of a write, as (statement, params); the `also` rows (which must be locked)
    take their roll-ups. Remembers which locked rows it gives a new version: the `also` rows and the
    moved node."""
    also = also or {}
    for row_id in also:
        if row_id not in locked.rows:
            raise ValueError(f"roll-up values for #{row_id}, which the tree write did not lock")
    locked.bumped |= set(also) | ({moved_id} if moved_id is not None else set())
    return statement, {**params, **_also_params(also), "_now": utcnow()}


def _run(session, parts, entries=None, new_row=None):
    """Run a tree write: the structural statements `parts` ([(statement, params)]), the INSERT of `new_row`
    (its column values) if given, and the audit rows `entries` (they may name the new row: NEW_ID).

    PostgreSQL: ONE statement, the writes as data-modifying CTEs of the audit INSERT (they touch different
    rows), sent on the connection (the status guard watches UPDATEs through the session; roll-ups run
    under derived_status anyway). Elsewhere one statement each, through the session. Returns the new
    row's id (None without a new row)."""
    entries = entries or []
    connection = session.connection()
    if connection.dialect.name != "sqlite" and (entries or new_row is not None or len(parts) > 1):
        params = {key: value for _, part_params in parts for key, value in part_params.items()}
        params.update(json_params(entries))
        if new_row is not None:
            params["_row"] = json.dumps(new_row, default=str)
        result = connection.execute(_combined(tuple(statement for statement, _ in parts), new_row is not None),
                                    params)
        return result.first()[0] if new_row is not None else None
    for statement, params in parts:
        session.execute(statement, params)
    new_id = None
    if new_row is not None:
        new_id = session.execute(_insert_statement(), new_row).inserted_primary_key[0]
        fill_new_id(entries, new_id)
    write_entries(entries, connection)
    return new_id


@cache
def _combined(statements, with_new_row):
    """WITH w0 AS (UPDATE/DELETE …), [new_row AS (INSERT INTO work_items … FROM json_to_record(:_row))]
    INSERT INTO audit_entries … FROM json_to_recordset(:_audit)."""
    ctes = [statement.cte(f"w{i}") for i, statement in enumerate(statements)]  # no RETURNING: nothing kept
    if not with_new_row:
        return json_insert().add_cte(*ctes)
    keys = [column.key for column in W.columns if column.key != "id"]
    record = sa.literal_column("NULL::work_items")  # the table's row type: the JSON needs no column list
    source = (sa.func.json_populate_record(record, sa.cast(sa.bindparam("_row", type_=sa.Text), sa.JSON))
              .table_valued(*keys).alias("n"))
    new_row = sa.insert(W).from_select(keys, sa.select(*[source.c[key] for key in keys])).returning(c.id).cte("new_row")
    return json_insert(new_row.c.id).add_cte(*ctes).returning(sa.select(new_row.c.id).scalar_subquery())


@cache
def _gap_statement(opening, k):
    """Open (`opening`) or close a gap of _width positions at _at in tree _tree; `k` of the shifted rows
    (ancestors) take roll-up values and a new version, the others only new bounds."""
    tree, at, width = _p("_tree"), _p("_at"), _p("_width")
    if opening:
        where, lft, rgt = c.rgt >= at, sa.case((c.lft >= at, c.lft + width), else_=c.lft), c.rgt + width
    else:
        where, lft, rgt = c.rgt > at, sa.case((c.lft > at, c.lft - width), else_=c.lft), c.rgt - width
    touched = _touched(c.id.in_(_also_ids(k))) if k else {"updated_at": c.updated_at}  # (no onupdate default)
    return sa.update(W).where(c.tree_id == tree, where).values(lft=lft, rgt=rgt, **touched, **_also_values(k))


def _shift(locked, opening, tree_id, at, width, also=None):
    """The part (see _part) that makes room for `width` positions at `at` (opening: everything at or after
    it moves right), or closes the `width` positions a removed subtree left after `at` (everything after it
    moves left). `also` rows must be among the shifted (the ancestors of the place are)."""
    def shifted(r):
        return r.tree_id == tree_id and (r.rgt >= at if opening else r.rgt > at)

    for row_id in also or ():
        if row_id in locked.rows and not shifted(locked[row_id]):
            raise ValueError(f"#{row_id} is not shifted by this write; its roll-up cannot ride along")
    return _part(locked, _gap_statement(opening, len(also or ())), {"_tree": tree_id, "_at": at, "_width": width},
                 also)


def _position(locked, parent_id, before_id):
    """(parent row, position) for 'last child of parent' or 'before its child `before_id`'."""
    parent = locked[parent_id]
    if before_id is None:
        return parent, parent.rgt
    for kid in locked.kids[parent_id]:
        if kid.id == before_id:
            return parent, kid.lft
    raise ValidationFailed(f"Work item #{before_id} is not a child of '{parent.title}'.",
                           errors={"before": ["Choose a sibling under the new parent."]})


# ------------------------------------------------------------------------------------------------- writes
def create_root(item, session=None):
    """Insert `item` (transient) as the root of a new tree: lft 1, rgt 2, depth 0, tree_id = its id."""
    session = _session(session)
    item.parent_id, item.lft, item.rgt, item.depth, item.tree_id = None, 1, 2, 0, 0
    session.add(item)
    session.flush()
    session.execute(sa.update(W).where(c.id == item.id).values(tree_id=c.id))
    _set_loaded(item, tree_id=item.id)
    return item


def insert(item, parent, before=None, check=None, locked=None, also=None, entries=None, session=None):
    """Insert `item` (transient) as the last child of `parent`, or just before its child `before`.

    `ppa_id` and `organization_id` are copied from the parent (so from the root). `check(parent_fresh)` runs
    inside the lock before anything is written. `locked`: what lock(parent) returned, when the caller
    locked already (services do, to reuse the read for roll-ups); `also`: roll-up values of ancestors for
    the same UPDATE (rollup.folded). The row is written by an INSERT of its own (not the ORM's flush) and
    the item becomes persistent; its audit rows (as the flush listener would write them) and `entries`
    (the operation's other audit rows; NEW_ID names the new row) go with it — on PostgreSQL the shift, the
    INSERT and the audit rows are ONE statement. Returns the item. Relationships (assignees) are not
    written: set them after.
    """
    if parent is None:
        return create_root(item, session)
    session = _session(session)
    if item in session:
        session.expunge(item)
    locked = locked or lock(parent, session=session)
    p, at = _position(locked, _id(parent), _id(before))
    if check is not None:
        check(p)
    shift = _shift(locked, True, p.tree_id, at, 2, also)
    values = _row_values(item, tree_id=p.tree_id, parent_id=p.id, lft=at, rgt=at + 1, depth=p.depth + 1,
                         ppa_id=p.ppa_id, organization_id=p.organization_id)
    rows = creation_entries(WorkItem, None, values) + list(entries or ())
    values["id"] = _run(session, [shift], rows, new_row=values)
    _persist(session, item, values)
    _expire(session, {p.tree_id}, keep=item)
    return item


@cache
def _insert_statement():
    return sa.insert(W)


def _row_values(item, **structure):
    """Every column of a new row: the item's values, else what an ORM insert would give (defaults)."""
    now = utcnow()
    given = sa.inspect(item).dict
    values = {}
    for key, default in _column_defaults().items():
        value = given.get(key)
        values[key] = default if value is None else value
    del values["id"]
    values.update(structure, version=1)
    if values["created_at"] is None:
        values["created_at"] = now
    if values["updated_at"] is None:
        values["updated_at"] = now
    return values


def _persist(session, item, values):
    """Make a transient item persistent with `values` as its loaded state (the row was just inserted)."""
    item.__dict__.update(values)
    make_transient_to_detached(item)
    session.add(item)


def move_subtree(node, parent=None, before=None, check=None, locked=None, also=None, entries=None,
                 session=None):
    """Move `node` with its subtree: as last child of `parent`, before `parent`'s child `before`, or — with
    no parent — to the root level (it becomes its own tree). Across trees, both are locked in id order and
    the moved nodes take the new root's PPA and organization.

    `check(node_fresh, parent_fresh or None)` runs inside the lock. Moving a node under itself or one of its
    descendants is refused. `locked`: what lock(node, parent, height_of=node) returned, when the caller
    locked already; `also`: roll-up values of old and new ancestors for the same UPDATE (rollup.folded);
    `entries`: the operation's audit rows, written with it (on PostgreSQL in the same statement).
    Returns a Moved.
    """
    session = _session(session)
    locked = locked or lock(node, parent, height_of=node, session=session)
    n = locked[_id(node)]
    if before is not None and _id(before) == n.id:
        raise ValidationFailed("A work item cannot be placed before itself.", errors={"before": ["Pick another sibling."]})
    if parent is None:
        if check is not None:
            check(n, None)
        parts = [_move_across(locked, n, None, 1, also)] if n.parent_id is not None else []
        moved = Moved(n.id, n.parent_id, None, n.tree_id, n.id)
    else:
        p, at = _position(locked, _id(parent), _id(before))
        if p.tree_id == n.tree_id and n.lft <= p.lft <= n.rgt:
            raise ValidationFailed(f"'{n.title}' cannot be moved under itself or one of its own descendants.",
                                   errors={"parent": ["Choose a parent outside the moved subtree."]})
        if check is not None:
            check(n, p)
        if p.tree_id == n.tree_id:
            parts = _move_within(locked, n, p, at, also)
        else:
            parts = [_move_across(locked, n, p, at, also)]
        moved = Moved(n.id, n.parent_id, p.id, n.tree_id, p.tree_id)
    _run(session, parts, entries)
    _expire(session, {moved.old_tree_id, moved.new_tree_id})
    return moved


def _move_within(locked, n, p, at, also):
    """[One UPDATE]: the subtree jumps to `at`, the nodes in between slide by its width (and the `also`
    rows, wherever they are, take their roll-ups). [] when the node is already in place."""
    lft, rgt, width = n.lft, n.rgt, n.rgt - n.lft + 1
    if lft <= at <= rgt + 1:  # it is the last child already, or `before` is its next sibling
        if also:
            raise ValueError("roll-up values given for a move that changes nothing")
        return []
    if at > rgt:
        shift, lo, hi, others = at - rgt - 1, rgt + 1, at - 1, -width
    else:
        shift, lo, hi, others = at - lft, at, lft - 1, width
    low, high = min(lo, lft), max(hi, rgt)
    return [_part(locked, _move_within_statement(len(also or ())), {
        "_tree": n.tree_id, "_lft": lft, "_rgt": rgt, "_lo": lo, "_hi": hi, "_low": low, "_high": high,
        "_shift": shift, "_others": others, "_depth": p.depth + 1 - n.depth, "_node": n.id, "_parent": p.id},
        also, moved_id=n.id)]


@cache
def _move_within_statement(k):
    lft, rgt, lo, hi, low, high = (_p(x) for x in ("_lft", "_rgt", "_lo", "_hi", "_low", "_high"))
    where = sa.and_(c.tree_id == _p("_tree"), sa.or_(c.lft.between(low, high), c.rgt.between(low, high)))
    if k:  # ancestors above the span (whose bounds stay) take roll-ups too
        where = sa.or_(where, c.id.in_(_also_ids(k)))
    return sa.update(W).where(where).values(
        lft=c.lft + sa.case((c.lft.between(lft, rgt), _p("_shift")), (c.lft.between(lo, hi), _p("_others")),
                            else_=0),
        rgt=c.rgt + sa.case((c.rgt.between(lft, rgt), _p("_shift")), (c.rgt.between(lo, hi), _p("_others")),
                            else_=0),
        depth=c.depth + sa.case((c.lft.between(lft, rgt), _p("_depth")), else_=0),
        parent_id=sa.case((c.id == _p("_node"), _p("_parent")), else_=c.parent_id),
        **_touched(sa.or_(c.id == _p("_node"), c.id.in_(_also_ids(k)))), **_also_values(k))


@cache
def _move_across_statement(k):
    source, target, lft, rgt, at, width = (_p(x) for x in ("_source", "_target", "_lft", "_rgt", "_at", "_width"))
    moving = sa.and_(c.tree_id == source, c.lft.between(lft, rgt))
    shift = _p("_shift")
    return sa.update(W).where(
        sa.or_(sa.and_(c.tree_id == source, c.rgt >= lft), sa.and_(c.tree_id == target, c.rgt >= at))).values(
        lft=c.lft + sa.case((moving, shift), (sa.and_(c.tree_id == source, c.lft > rgt), -width),
                            (sa.and_(c.tree_id == target, c.lft >= at), width), else_=0),
        rgt=c.rgt + sa.case((sa.and_(c.tree_id == source, c.rgt.between(lft, rgt)), shift),
                            (sa.and_(c.tree_id == source, c.rgt > rgt), -width),
                            (sa.and_(c.tree_id == target, c.rgt >= at), width), else_=0),
        depth=c.depth + sa.case((moving, _p("_depth")), else_=0),
        parent_id=sa.case((c.id == _p("_node"), _p("_parent")), else_=c.parent_id),
        ppa_id=sa.case((moving, _p("_ppa")), else_=c.ppa_id),
        organization_id=sa.case((moving, _p("_organization")), else_=c.organization_id),
        tree_id=sa.case((moving, target), else_=c.tree_id),
        **_touched(sa.or_(c.id == _p("_node"), c.id.in_(_also_ids(k)))), **_also_values(k))


def _move_across(locked, n, p, at, also):
    """One UPDATE (a part, see _part): open a gap in the target tree, carry the subtree over, close the gap it leaves (the old
    and new ancestors, all among the shifted rows, take the `also` roll-ups).

    p is None for a move to the root level: the node becomes the root of tree `n.id`.
    """
    ppa_id, organization_id = (p.ppa_id, p.organization_id) if p is not None else (n.ppa_id, n.organization_id)
    target = p.tree_id if p is not None else n.id

    def shifted(r):
        return (r.tree_id == n.tree_id and r.rgt >= n.lft) or (p is not None and r.tree_id == target and r.rgt >= at)

    for row_id in also or ():
        if row_id in locked.rows and not shifted(locked[row_id]):
            raise ValueError(f"#{row_id} is not shifted by this move; its roll-up cannot ride along")
    return _part(locked, _move_across_statement(len(also or ())), {
        "_source": n.tree_id, "_target": target, "_lft": n.lft, "_rgt": n.rgt,
        "_at": at, "_width": n.rgt - n.lft + 1, "_shift": at - n.lft,
        "_depth": (p.depth + 1 if p is not None else 0) - n.depth, "_node": n.id,
        "_parent": p.id if p is not None else None, "_ppa": ppa_id, "_organization": organization_id},
        also, moved_id=n.id)


@cache
def _delete_statement():
    return sa.delete(W).where(c.tree_id == _p("_tree"), c.lft.between(_p("_lft"), _p("_rgt")))


def delete_subtree(node, check=None, locked=None, also=None, entries=None, session=None):
    """Delete `node` and its whole subtree; returns its Fresh row read inside the lock (`.size` nodes went,
    `.parent_id` needs its roll-ups). `check(node_fresh)` runs inside the lock first. `locked`: what
    lock(node) returned, when the caller locked already; `also`: roll-up values of its ancestors for the
    UPDATE that closes the gap (rollup.folded); `entries`: the operation's audit rows, written with it (on
    PostgreSQL the DELETE, the UPDATE and the audit rows are ONE statement)."""
    session = _session(session)
    locked = locked or lock(node, session=session)
    n = locked[_id(node)]
    if check is not None:
        check(n)
    parts = [(_delete_statement(), {"_tree": n.tree_id, "_lft": n.lft, "_rgt": n.rgt})]
    if n.parent_id is not None:
        parts.append(_shift(locked, False, n.tree_id, n.rgt, n.rgt - n.lft + 1, also))
    elif also:
        raise ValueError("a deleted root has no ancestors to roll up")
    _run(session, parts, entries)
    _expire(session, {n.tree_id}, deleted=(n.tree_id, n.lft, n.rgt))
    return n


def insert_many(nodes, parent=None, check=None, locked=None, session=None):
    """Build whole subtrees fast: bounds computed in memory, then one multi-row INSERT.

    `nodes` is a list of dicts of WorkItem columns with an optional "children" list of the same shape.
    Under `parent` they become its last children (one gap opened for all); without a parent each top-level
    dict becomes the root of a new tree. Ids are reserved up front (a PostgreSQL sequence range; on SQLite
    max(id) under the write lock). `check(parent_fresh, nodes)` runs inside the lock. Returns the new ids
    in tree order (preorder).
    """
    session = _session(session)
    sqlite = is_sqlite(session)
    total = count_nodes(nodes)
    if not total:
        return []
    if parent is not None:
        locked = locked or lock(parent, session=session)
        p = locked[_id(parent)]
        if check is not None:
            check(p, nodes)
        start, depth, tree_id, parent_id = p.rgt, p.depth + 1, p.tree_id, p.id
        inherited = {"ppa_id": p.ppa_id, "organization_id": p.organization_id}
    else:
        session.flush()
        if sqlite:  # take the write lock before reading max(id)
            session.execute(sa.update(W).where(sa.false()).values(id=c.id))
        start, depth, tree_id, parent_id, inherited = 1, 0, None, None, {}
    ids = _reserve_ids(session, total, sqlite)
    rows = _number(nodes, ids, start, depth, tree_id, parent_id, inherited)
    if parent is not None:
        _run(session, [_shift(locked, True, tree_id, start, 2 * total)])
    base = dict(_column_defaults(), created_at=utcnow(), version=1)
    base["updated_at"] = base["created_at"]
    if sqlite:
        _sqlite_insert(session, rows, base)
    else:  # one statement: the rows as one JSON document (psycopg's executemany would send N INSERTs)
        given = frozenset().union(*rows)
        session.execute(_json_insert_statement(given), {
            "_rows": json.dumps(rows, default=str),
            **{f"_c_{key}": value for key, value in base.items() if key not in given or value is not None}})
    if parent is not None:
        _expire(session, {tree_id})
    return [row["id"] for row in rows]


def _sqlite_insert(session, rows, base):
    """SQLite: one prepared INSERT stepped by sqlite3's executemany, the rows as tuples converted by the
    columns' own bind processors (computed once, not per row and value as a Core executemany would)."""
    connection = session.connection()
    sql, keys, processors = _sqlite_insert_plan(connection.dialect)
    process = dict(zip(keys, processors, strict=True))

    def stored(key, value):
        convert = process[key]
        return value if convert is None or value is None else convert(value)

    stored_base = {key: stored(key, value) for key, value in base.items()}  # the shared values, once
    params = []
    for row in rows:
        values = stored_base.copy()
        for key, value in row.items():
            values[key] = stored(key, value)
        params.append(tuple([values[key] for key in keys]))
    connection.exec_driver_sql(sql, params)


@cache
def _sqlite_insert_plan(dialect):
    compiled = sa.insert(W).values({column.key: sa.bindparam(column.key) for column in W.columns}).compile(
        dialect=dialect)
    keys = list(compiled.positiontup)
    processors = [W.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys]
    return str(compiled), keys, processors


@cache
def _json_insert_statement(given):
    """INSERT INTO work_items (…) SELECT v.id, …, :_c_priority, … FROM json_to_recordset(:_rows) AS v(id
    integer, …) (PostgreSQL). Only the `given` columns (some row has them) travel in the JSON; the others
    are one bound value each (default, timestamp), and a given column missing from a row takes its default."""
    keys = [column.key for column in W.columns]
    source = (sa.func.json_to_recordset(sa.cast(sa.bindparam("_rows", type_=sa.Text), sa.JSON))
              .table_valued(*[sa.column(column.key, storage_type(column)) for column in W.columns
                              if column.key in given])
              .render_derived(name="v", with_types=True))
    defaults = dict(_column_defaults(), created_at=True, updated_at=True, version=1)

    def value(column):
        constant = sa.bindparam(f"_c_{column.key}", type_=column.type)
        if column.key not in given:
            return constant
        return source.c[column.key] if defaults[column.key] is None else sa.func.coalesce(source.c[column.key],
                                                                                          constant)

    return sa.insert(W).from_select(keys, sa.select(*[value(column) for column in W.columns]))


def count_nodes(nodes):
    """How many nodes a nested structure (as for insert_many) holds."""
    return sum(1 + count_nodes(node.get("children", ())) for node in nodes)


def _reserve_ids(session, n, sqlite):
    if sqlite:
        first = (session.scalar(sa.select(sa.func.max(c.id))) or 0) + 1
        return list(range(first, first + n))
    sequence = sa.func.pg_get_serial_sequence("work_items", "id")
    numbers = sa.func.array_agg(sa.func.nextval(sequence))  # one row, whatever n
    return sorted(session.scalar(sa.select(numbers).select_from(sa.func.generate_series(1, n))))


@cache
def _column_defaults():
    """Every column with the value an ORM insert would give it (the timestamps are set per call)."""
    return {column.key: (column.default.arg if column.default is not None and column.default.is_scalar else None)
            for column in W.columns}


def _number(nodes, ids, start, depth, tree_id, parent_id, inherited):
    """Preorder rows — each node's own fields with id, tree_id, parent_id, lft, rgt, depth assigned and
    ppa_id/organization_id inherited — ids consumed in preorder. No defaults: see insert_many."""
    rows, counter = [], iter(ids)
    known = _column_defaults().keys()

    def visit(node, position, level, tree, parent_key, inherited):
        row = {k: v for k, v in node.items() if k != "children"}
        if not known >= row.keys():
            raise ValueError(f"unknown work item fields: {sorted(row.keys() - known)}")
        row.update(inherited)
        row["id"] = node_id = next(counter)
        row.update(tree_id=tree if tree is not None else node_id, parent_id=parent_key, lft=position, depth=level)
        rows.append(row)
        position += 1
        passed_down = {"ppa_id": row.get("ppa_id"), "organization_id": row.get("organization_id")}
        for child in node.get("children", ()):
            position = visit(child, position, level + 1, row["tree_id"], node_id, passed_down)
        row["rgt"] = position
        return position + 1

    position = start
    for node in nodes:
        position = visit(node, position, depth, tree_id, parent_id, inherited)
        if tree_id is None:
            position = 1
    return rows


# ------------------------------------------------------------------------------------------------- reads
@cache
def _read_statement(kind, include_self, columns=None):
    """The one-query reads, built once: `n` is the node asked about (bound as _node)."""
    n = aliased(W, name="n")
    if kind == "descendants":
        lower = c.lft >= n.c.lft if include_self else c.lft > n.c.lft
        on = sa.and_(c.tree_id == n.c.tree_id, lower, c.lft <= n.c.rgt)
    elif kind == "ancestors":
        if include_self:
            on = sa.and_(c.tree_id == n.c.tree_id, c.lft <= n.c.lft, c.rgt >= n.c.rgt)
        else:
            on = sa.and_(c.tree_id == n.c.tree_id, c.lft < n.c.lft, c.rgt > n.c.rgt)
    else:  # siblings
        on = sa.and_(c.parent_id == n.c.parent_id, sa.true() if include_self else c.id != n.c.id)
    stmt = sa.select(*(columns or _tree_load())).select_from(W.join(n, on))
    stmt = stmt.where(n.c.id == _p("_node")).order_by(c.lft)
    return stmt if columns is not None else sa.select(WorkItem).from_statement(stmt)


# What the ORM reads (descendants, ancestors, children, siblings) load: the tree, the state, the money and
# the dates shown in a tree. The other columns (description, notes, times, calendar, timestamps, …) are
# loaded on first access, together, per object: read them with a query of their own when many are needed.
TREE_LOAD = ("id", "tree_id", "parent_id", "lft", "rgt", "depth", "title", "work_type", "status", "priority",
             "progress", "auto_calculate_progress", "allocated_budget", "actual_expenditure", "start_date",
             "due_date", "ppa_id", "organization_id", "version")


def _tree_load():
    """The TREE_LOAD columns read as stored (enums as their strings, NUMERIC(14,2) with its two places): no
    per-value result processing; loaded through select(WorkItem).from_statement(…), the others expired."""
    return tuple(sa.type_coerce(c[key], storage_type(c[key])).label(key) for key in TREE_LOAD)


def _entities(statement, node, session):
    return list(_session(session).scalars(statement, {"_node": _id(node)}))


def descendants(node, include_self=False, session=None):
    """The subtree below `node` (with include_self, from the node) in tree order; one query."""
    return _entities(_read_statement("descendants", include_self), node, session)


def ancestors(node, include_self=False, session=None):
    """The breadcrumb: root first, down to the parent (or the node itself with include_self). One query."""
    return _entities(_read_statement("ancestors", include_self), node, session)


@cache
def _children_statement():
    return sa.select(WorkItem).from_statement(
        sa.select(*_tree_load()).where(c.parent_id == _p("_node")).order_by(c.lft))


def children(node, session=None):
    """The direct children in order (one query)."""
    return _entities(_children_statement(), node, session)


def siblings(node, include_self=False, session=None):
    """The other children of the node's parent, in order (a root has none). One query."""
    return _entities(_read_statement("siblings", include_self), node, session)


def subtree_rows(node, columns=None, session=None):
    """The subtree of `node` (itself included) as plain rows in tree order, one query. `columns`: a tuple of
    WorkItem.__table__ columns (default: all)."""
    statement = _read_statement("descendants", True, tuple(columns or W.columns))
    return _session(session).execute(statement, {"_node": _id(node)}).all()


def nest(rows):
    """Rows in tree order (with lft, rgt) → the top node as a dict with a "children" list, recursively."""
    top, stack = None, []
    for row in rows:
        item = dict(row._mapping)
        item["children"] = []
        while stack and stack[-1]["rgt"] < item["lft"]:
            stack.pop()
        if stack:
            stack[-1]["children"].append(item)
        else:
            top = item
        stack.append(item)
    return top


def subtree_nested(node, columns=None, session=None):
    """The subtree as nested dicts ({column: value, …, "children": [...]}), ready for a template; ONE query.
    Returns None when the node does not exist."""
    return nest(subtree_rows(node, columns, session))


def position(descending=False):
    """The ORDER BY expression for tree order (preorder within a tree), for queries built elsewhere."""
    return c.lft.desc() if descending else c.lft


def size_column():
    """A column expression: the number of nodes in each row's subtree (itself included), labelled "size"."""
    return ((c.rgt - c.lft + 1) // 2).label("size")


def size(node):
    """How many nodes the subtree of a loaded node (WorkItem, Fresh or a row with the bounds) holds; no query."""
    return (node.rgt - node.lft + 1) // 2


def children_rows(parent_ids, columns, tree_id=None, with_node=None, session=None):
    """The children of several parents as rows of `columns` (add size_column() for their subtree sizes), in
    tree order — and the node `with_node` itself first when given. `tree_id` narrows the scan to one tree.
    ONE query, whatever the number of parents."""
    where = c.parent_id.in_(sorted(set(parent_ids)))
    if with_node is not None:
        where = sa.or_(c.id == _id(with_node), where)
    stmt = sa.select(*columns).where(where).order_by(c.lft)
    if tree_id is not None:
        stmt = stmt.where(c.tree_id == tree_id)
    return _session(session).execute(stmt).all()


def subtree_size(node, session=None):
    """How many nodes a delete of `node` would remove (itself included). One query."""
    row = _session(session).execute(sa.select(c.lft, c.rgt).where(c.id == _id(node))).first()
    if row is None:
        raise NotFound(f"Work item #{_id(node)} does not exist.")
    return (row.rgt - row.lft + 1) // 2


# ------------------------------------------------------------------------------------------------- repair
def check_integrity(tree_id=None, session=None):
    """Every violation of the nested-set invariants, as dicts {tree_id, id, kind, detail}; [] when intact.

    Checked per tree: exactly one root, whose id is the tree_id, with lft 1, depth 0 and rgt 2n; lft < rgt;
    the bounds are exactly 1 … 2n, each once; every interval well nested (no overlap); rgt − lft + 1 equals
    twice the subtree size counted through parent links; a parent is in the same tree, encloses its child,
    and is one level up.
    """
    session = _session(session)
    stmt = sa.select(c.id, c.parent_id, c.tree_id, c.lft, c.rgt, c.depth).order_by(c.tree_id, c.lft, c.id)
    if tree_id is not None:
        stmt = stmt.where(c.tree_id == tree_id)
    rows = session.execute(stmt).all()
    by_id = {r.id: r for r in rows}
    trees = {}
    for r in rows:
        trees.setdefault(r.tree_id, []).append(r)
    violations = []

    def flag(row, kind, detail):
        violations.append({"tree_id": row.tree_id, "id": row.id, "kind": kind, "detail": detail})

    for tid, nodes in trees.items():
        n = len(nodes)
        roots = [r for r in nodes if r.parent_id is None]
        if len(roots) != 1 or roots[0].id != tid:
            flag(nodes[0], "root", f"tree {tid} has roots {[r.id for r in roots]}, expected exactly #{tid}")
        for r in roots:
            if (r.lft, r.rgt, r.depth) != (1, 2 * n, 0):
                flag(r, "root_bounds", f"root spans {r.lft}…{r.rgt} at depth {r.depth}, expected 1…{2 * n} at 0")
        seen = {}
        for r in nodes:
            for value in (r.lft, r.rgt):
                seen[value] = seen.get(value, 0) + 1
        duplicated = sorted(v for v, k in seen.items() if k > 1)
        missing = sorted(set(range(1, 2 * n + 1)) - set(seen))
        if duplicated or missing:
            flag(nodes[0], "bounds", f"tree {tid}: duplicated {duplicated[:10]}, missing {missing[:10]}")
        size = {r.id: 1 for r in nodes}
        kids = {}
        for r in nodes:
            kids.setdefault(r.parent_id, []).append(r.id)
        order, todo = [], list(kids.get(None, ()))
        while todo:  # preorder through the parent links; reversed, children come before their parents
            x = todo.pop()
            order.append(x)
            todo.extend(kids.get(x, ()))
        for x in reversed(order):
            parent_id = by_id[x].parent_id
            if parent_id is not None:
                size[parent_id] += size[x]
        stack = []
        for r in nodes:
            if r.lft >= r.rgt:
                flag(r, "lft_not_before_rgt", f"lft {r.lft} ≥ rgt {r.rgt}")
            if r.rgt - r.lft + 1 != 2 * size[r.id]:
                flag(r, "width", f"rgt − lft + 1 = {r.rgt - r.lft + 1}, subtree has {size[r.id]} nodes")
            while stack and stack[-1].rgt < r.lft:
                stack.pop()
            if stack and r.rgt > stack[-1].rgt:
                flag(r, "overlap", f"{r.lft}…{r.rgt} overlaps #{stack[-1].id} {stack[-1].lft}…{stack[-1].rgt}")
            stack.append(r)
            if r.parent_id is not None:
                p = by_id.get(r.parent_id)
                if p is None or p.tree_id != tid:
                    flag(r, "parent_tree", f"parent #{r.parent_id} is not in tree {tid}")
                    continue
                if not (p.lft < r.lft and r.rgt < p.rgt):
                    flag(r, "outside_parent", f"{r.lft}…{r.rgt} not inside parent #{p.id} {p.lft}…{p.rgt}")
                if r.depth != p.depth + 1:
                    flag(r, "depth", f"depth {r.depth}, parent #{p.id} has depth {p.depth}")
    return violations


def rebuild(tree_id=None, session=None):
    """Renumber lft/rgt/depth/tree_id from the parent links (siblings keep their order: by lft, then id).

    With `tree_id`, the nodes reachable from that root; without, every tree (and nodes cut off from any
    root by a parent cycle are reported). Locks the trees, reads them in one query, writes only the rows
    whose numbers change (one executemany UPDATE). Returns the number of rows rewritten.
    """
    session = _session(session)
    session.flush()
    if tree_id is not None:
        lock_trees([tree_id], known_trees=True, session=session)
        reach = sa.select(c.id).where(c.id == tree_id, c.parent_id.is_(None)).cte("reach", recursive=True)
        reach = reach.union_all(sa.select(c.id).join(reach, c.parent_id == reach.c.id))
        stmt = sa.select(c.id, c.parent_id, c.tree_id, c.lft, c.rgt, c.depth).where(c.id.in_(sa.select(reach.c.id)))
    else:
        lock_all_trees(session)
        stmt = sa.select(c.id, c.parent_id, c.tree_id, c.lft, c.rgt, c.depth)
    rows = session.execute(stmt).all()
    kids = {}
    for r in sorted(rows, key=lambda r: (r.lft, r.id)):
        kids.setdefault(r.parent_id, []).append(r)
    numbered = {}

    for root in sorted(kids.get(None, ()), key=lambda r: r.id):
        edge = 0
        stack = [(root, 0, False)]
        while stack:
            r, depth, closing = stack.pop()
            edge += 1
            if closing:
                numbered[r.id]["rgt"] = edge
                continue
            numbered[r.id] = {"_id": r.id, "lft": edge, "depth": depth, "tree_id": root.id}
            stack.append((r, depth, True))
            stack.extend((k, depth + 1, False) for k in reversed(kids.get(r.id, ())))
    unreached = [r.id for r in rows if r.id not in numbered]
    if unreached:
        raise ValidationFailed(f"{len(unreached)} work items are not reachable from any root (a parent cycle): "
                               f"{unreached[:20]}")
    changed = [values for r in rows
               for values in [numbered[r.id]]
               if (r.lft, r.rgt, r.depth, r.tree_id) != (values["lft"], values["rgt"], values["depth"],
                                                        values["tree_id"])]
    if changed:
        session.execute(sa.update(W).where(c.id == sa.bindparam("_id")).values(
            lft=sa.bindparam("lft"), rgt=sa.bindparam("rgt"), depth=sa.bindparam("depth"),
            tree_id=sa.bindparam("tree_id"), updated_at=c.updated_at), changed)
        _expire(session)
    return len(changed)
