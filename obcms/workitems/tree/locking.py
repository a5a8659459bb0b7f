"""Locking the trees a write touches, and the read the write then works from.

A write locks the tree(s) it touches — the root row, `SELECT … FOR UPDATE` on PostgreSQL (several trees in
id order, so two writers never deadlock), the database write lock on SQLite — then re-reads the bounds
inside the lock (read_families: the nodes, their ancestors and those ancestors' children, in one query,
which the roll-ups reuse):

    locked = lock(item, parent, measure=item)       # → LockedFamilies (item's height and size measured)
    locked[item.id]                                 # its LockedNode: bounds, rules' facts, version
    locked.kids[parent.id]                          # [LockedChild …] in tree order
"""
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...audit.recording import storage_type
from ...database import is_sqlite
from ...errors import NotFound, ValidationFailed
from .table import id_of, int_param, session_or_default, work_items


class LockedNode(NamedTuple):
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
    completed_at: object
    version: int
    height: int | None           # levels below the node (0 for a leaf); only for `measure`
    size: int | None             # nodes in its subtree, itself included; only for `measure`
    children_allocated: object   # the sum of its children's allocated budgets (Decimal)
    obligated: object = None     # the ledger's roll-ups (own + descendants' entries; obcms/budget/ledger.py)
    disbursed: object = None


class LockedChild(NamedTuple):
    """A child of a locked node, as the roll-ups and allocations see it."""

    id: int
    lft: int
    rgt: int
    status: str
    progress: int
    allocated_budget: object
    completed_at: object
    version: int


@dataclass
class LockedFamilies:
    """What lock() read inside the lock: every given node with all its ancestors (`rows`), and each of
    those with its children (`kids`). Writes add the ids of these rows they shifted to `bumped`."""

    rows: dict
    kids: dict
    bumped: set = field(default_factory=set)

    def __getitem__(self, node_id):
        return self.rows[node_id]


def _tree_hint(node):
    """The tree a loaded object says it is in, without loading anything (verified after the lock)."""
    if node is None or isinstance(node, int):
        return None
    return sa.inspect(node).dict.get("tree_id")


@cache
def _families_statement(measured):
    n, a, k, sub = (aliased(work_items, name=name) for name in ("n", "a", "k", "sub"))
    if measured:
        def below(aggregate):  # evaluated for the measured row only (CASE runs its sub-select when chosen)
            return (sa.select(aggregate).where(sub.c.tree_id == a.c.tree_id, sub.c.lft.between(a.c.lft, a.c.rgt))
                    .scalar_subquery())

        this = a.c.id == int_param("_measure")
        height = sa.case((this, below(sa.func.max(sub.c.depth)) - a.c.depth), else_=None)
        size = sa.case((this, below(sa.func.count())), else_=None)
    else:
        height = size = sa.null()

    def stored(column, label):  # as stored: no Money/Enum processing per value (NUMERIC(14,2) keeps its places)
        return sa.type_coerce(column, storage_type(column)).label(label)

    return (sa.select(a.c.id, a.c.tree_id, a.c.parent_id, a.c.lft, a.c.rgt, a.c.depth, stored(a.c.work_type, "work_type"),
                      a.c.title, a.c.ppa_id, a.c.organization_id, stored(a.c.allocated_budget, "allocated_budget"),
                      stored(a.c.status, "status"), a.c.progress, a.c.auto_calculate_progress,
                      a.c.completed_at, a.c.version,
                      height.label("height"), size.label("size"), k.c.id.label("k_id"), k.c.lft.label("k_lft"),
                      k.c.rgt.label("k_rgt"),
                      stored(k.c.status, "k_status"), k.c.progress.label("k_progress"),
                      stored(k.c.allocated_budget, "k_allocated"),
                      k.c.completed_at.label("k_completed_at"), k.c.version.label("k_version"),
                      stored(a.c.obligated, "obligated"), stored(a.c.disbursed, "disbursed"))
            .select_from(n)
            .join(a, sa.and_(a.c.tree_id == n.c.tree_id, a.c.lft <= n.c.lft, a.c.rgt >= n.c.rgt))
            .outerjoin(k, k.c.parent_id == a.c.id)
            .where(n.c.id.in_(sa.bindparam("_ids", expanding=True)))
            .order_by(a.c.depth.desc(), a.c.id, k.c.lft))


def read_families(node_ids, measure=None, session=None):
    """ONE query: the given nodes and all their ancestors, each with its children → LockedFamilies.

    Call it inside the tree lock (lock() does); `measure` = a node whose height and size are needed (moves,
    deletes).
    """
    session = session_or_default(session)
    params = {"_ids": list(node_ids)}
    if measure is not None:
        params["_measure"] = measure
    values, kids = {}, {}
    session.flush()  # the read goes to the connection (no ORM autoflush): pending changes first
    for r in session.connection().execute(_families_statement(measure is not None), params):
        node_id, kid_id = r[0], r[18]
        if node_id not in values:
            values[node_id] = r
            kids[node_id] = {}
        if kid_id is not None:
            kids[node_id][kid_id] = LockedChild(*r[18:26])
    rows = {}
    for node_id, r in values.items():
        allocated = sum((kid.allocated_budget for kid in kids[node_id].values()), Decimal("0.00"))
        rows[node_id] = LockedNode(*r[:18], allocated, r[26], r[27])
    return LockedFamilies(rows, {node_id: list(members.values()) for node_id, members in kids.items()})


@cache
def _lock_statement(sqlite, known_trees):
    """Lock tree roots: given their ids, or the roots of the trees holding the given nodes (`_ids`).

    PostgreSQL: SELECT … FOR UPDATE in id order. SQLite: a no-op UPDATE of one row takes the database
    write lock, which serializes every writer (so all trees are locked)."""
    if sqlite:
        return sa.update(work_items).where(work_items.c.id == int_param("_first")).values(id=work_items.c.id)
    given = sa.bindparam("_ids", expanding=True)
    target = (given if known_trees
              else sa.select(work_items.c.tree_id).where(work_items.c.id.in_(given)).scalar_subquery())
    return (sa.select(work_items.c.id).where(work_items.c.id.in_(target)).order_by(work_items.c.id)
            .with_for_update())


def lock_trees(ids, known_trees=False, session=None):
    """Lock the trees `ids` (known_trees=True: they are root ids; else: the trees holding these nodes).
    Returns the root ids locked, or None on SQLite (where the write lock covers every tree). One statement."""
    connection = session_or_default(session).connection()
    ids = sorted(set(ids))
    if connection.dialect.name == "sqlite":
        connection.execute(_lock_statement(True, known_trees), {"_first": ids[0]})
        return None
    return set(connection.scalars(_lock_statement(False, known_trees), {"_ids": ids}))


ROOTS = sa.select(work_items.c.id).where(work_items.c.parent_id.is_(None)).order_by(work_items.c.id)


def lock_all_trees(session=None):
    """Lock every tree (nightly roll-ups, rebuild); returns the root ids."""
    session = session_or_default(session)
    if is_sqlite(session):
        session.execute(sa.update(work_items).where(sa.false()).values(id=work_items.c.id))  # the write lock
        return list(session.scalars(ROOTS))
    return list(session.scalars(ROOTS.with_for_update()))


def lock(*nodes, measure=None, session=None):
    """Lock the trees holding `nodes`, then read them (read_families) inside the lock → LockedFamilies.

    One statement locks: the roots named by the loaded objects' tree_id, or else the roots of the trees the
    nodes are in as the database says. The read inside the lock verifies the trees; a node moved to another
    tree meanwhile gets that tree locked too (then read again).
    """
    session = session_or_default(session)
    session.flush()
    ids = [id_of(n) for n in nodes if n is not None]
    hints = {_tree_hint(n) for n in nodes if n is not None}
    if None in hints:
        locked = lock_trees(ids, session=session)
    else:
        locked = lock_trees(hints, known_trees=True, session=session)
    tried = set(locked or ())
    while True:
        fresh = read_families(ids, measure=id_of(measure), session=session)
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
