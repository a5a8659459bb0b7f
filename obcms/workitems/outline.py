"""What the tree page shows: the visible rows of a tree, their assignees, move targets, the list of trees.

Reads only; each function is one query (the rows) or two (rows + assignees), whatever the tree's size:

    rows = visible_rows(root, open_ids={5, 9})   # the root, its children, the children of open nodes
    rows = visible_rows(root, under=node)         # just what shows below `node` (its children, …)
    attach_assignees(rows)                        # row.assignees, one query for all rows

Rows are OutlineRow objects (not ORM instances): the columns the table needs, plus `children_allocated`
(the sum of the children's allocations, from a correlated subquery on the parent index) and `size` (the
number of nodes in the subtree, tree.size_column()). The nested set itself stays inside the tree package.
"""
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from ..auth.models import Organization, User
from ..auth.permissions import can, not_found, scope
from ..database import is_sqlite
from ..extensions import db
from ..ids import parse_id
from ..pagination import paginate
from ..search.matching import matches
from . import tree
from .models import WorkItem, work_item_assignees
from .money_sql import money_sum
from .services import ALLOWED_CHILDREN, MAX_LEVELS

work_items = WorkItem.__table__

# "Expand all" renders the whole subtree in one go only up to this many nodes.
EXPAND_ALL_LIMIT = 300
# At most this many open nodes are honoured from a URL (the rest stay closed).
MAX_OPEN = 500


@dataclass
class OutlineRow:
    """One row of the tree table."""

    __scope_column__ = "organization_id"

    id: int
    parent_id: int | None
    tree_id: int
    depth: int
    title: str
    work_type: str
    status: str
    priority: str
    progress: int
    auto_calculate_progress: bool
    start_date: object
    due_date: object
    allocated_budget: Decimal
    actual_expenditure: Decimal
    organization_id: int | None
    ppa_id: int | None
    size: int
    children_allocated: Decimal
    version: int
    assignees: list = field(default_factory=list)
    posinset: int = 1
    setsize: int = 1

    @property
    def level(self):
        return self.depth + 1

    @property
    def has_children(self):
        return self.size > 1

    @property
    def unallocated(self):
        """What the children were not given; None for a leaf (it has nothing to give, as on the Budget tab)."""
        return self.allocated_budget - self.children_allocated if self.has_children else None

    @property
    def utilization(self):
        """Spent as a percentage of allocated (None when nothing is allocated)."""
        if not self.allocated_budget:
            return None
        return self.actual_expenditure * 100 / self.allocated_budget

    @property
    def progress_derived(self):
        return self.has_children and self.auto_calculate_progress


def _columns(session):
    return _columns_for(is_sqlite(session))


@cache
def _columns_for(sqlite):
    """Built once per backend (tree.subtree_rows caches its statement by these columns)."""
    column, kid = work_items.c, aliased(work_items, name="kid")
    children_allocated = (sa.select(money_sum(kid.c.allocated_budget, sqlite))
                          .where(kid.c.parent_id == column.id).scalar_subquery())
    return (column.id, column.parent_id, column.tree_id, column.depth, column.title, column.work_type, column.status,
            column.priority, column.progress, column.auto_calculate_progress, column.start_date, column.due_date,
            column.allocated_budget, column.actual_expenditure,
            column.organization_id, column.ppa_id, tree.size_column(),
            children_allocated.label("children_allocated"), column.version)


def _rows(result):
    return [OutlineRow(**row._mapping) for row in result]


def _number_siblings(rows):
    """aria-posinset / aria-setsize: every child of a shown parent is shown, so counting them is exact."""
    counts = {}
    for row in rows:
        counts[row.parent_id] = counts.get(row.parent_id, 0) + 1
        row.posinset = counts[row.parent_id]
    for row in rows:
        row.setsize = counts[row.parent_id]
    return rows


def parse_open(value):
    """?open=1,5,9 → {1, 5, 9} (junk ignored, at most MAX_OPEN ids)."""
    ids = set()
    for part in (value or "").split(","):
        number = parse_id(part)
        if number is not None:
            ids.add(number)
        if len(ids) >= MAX_OPEN:
            break
    return ids


def visible_rows(top, open_ids=(), under=None, session=None):
    """The rows shown for the tree of `top` (a root row or WorkItem) with `open_ids` expanded: the root, its
    children, and the children of every open node whose ancestors are all open, in tree order. With
    `under` (a row or WorkItem of that tree), only the rows shown below it (the root row is left out).
    One query."""
    session = session or db.session
    anchor = under if under is not None else top
    result = tree.children_rows({anchor.id, *open_ids}, _columns(session), tree_id=top.tree_id,
                                with_node=top if under is None else None, session=session)
    shown, kept = [], {anchor.id} if under is not None else set()
    for row in _rows(result):
        if (under is None and row.id == top.id) or row.parent_id in kept:
            shown.append(row)
            kept.add(row.id)
    return _number_siblings(shown)


def subtree(node, session=None):
    """Every row of the subtree of `node` (itself included), for "expand all". One query."""
    session = session or db.session
    return _number_siblings(_rows(tree.subtree_rows(node, _columns(session), session=session)))


def rows_by_id(ids, session=None):
    """{id: OutlineRow} for the given ids. One query."""
    session = session or db.session
    if not ids:
        return {}
    stmt = sa.select(*_columns(session)).where(work_items.c.id.in_(sorted(set(ids))))
    return {row.id: row for row in _rows(session.execute(stmt))}


def attach_assignees(rows, session=None):
    """Fill row.assignees ([User, …] by id) for all rows in one query (none for no rows)."""
    session = session or db.session
    by_id = {row.id: row for row in rows}
    if not by_id:
        return rows
    for work_item_id, user in session.execute(_assignees_statement(), {"_items": sorted(by_id)}):
        by_id[work_item_id].assignees.append(user)
    return rows


@cache
def _assignees_statement():
    a = work_item_assignees.c
    return (sa.select(a.work_item_id, User).join(User, User.id == a.user_id)
            .where(a.work_item_id.in_(sa.bindparam("_items", expanding=True))).order_by(a.work_item_id, User.id))


def assignable_users(organization_id, session=None):
    """Active users of the tree's organization and of the OOBC, by name. One query."""
    session = session or db.session
    oobc = sa.select(Organization.id).where(Organization.kind == "oobc")
    orgs = sa.or_(User.organization_id.in_(oobc), User.organization_id == organization_id) \
        if organization_id is not None else User.organization_id.in_(oobc)
    return session.scalars(sa.select(User).where(User.is_active.is_(True), orgs)
                           .order_by(User.full_name, User.username)).all()


def allowed_child_types(parent):
    """The types a new child of `parent` may have ([] when the tree is as deep as it may be)."""
    if parent.depth + 2 > MAX_LEVELS:
        return []
    return list(ALLOWED_CHILDREN[parent.work_type])


@dataclass(frozen=True)
class MoveTarget:
    id: int
    title: str
    work_type: str
    depth: int
    tree_id: int
    tree_title: str


def move_targets(item, actor, query="", limit=20, session=None):
    """Where `item` may go: nodes the actor may edit, of a type that may hold it, shallow enough for its
    subtree, not itself or one of its descendants, titles matching `query`; its own tree first. Two
    queries (the moved subtree's ids and height, then the candidates)."""
    session = session or db.session
    moved = tree.subtree_rows(item, (work_items.c.id, work_items.c.depth), session=session)
    if not moved:  # deleted while the page was being made
        raise not_found(WorkItem, item.id, actor, "work item")
    height = max(r.depth for r in moved) - moved[0].depth
    parent_types = [t for t, kids in ALLOWED_CHILDREN.items() if item.work_type in kids]
    deepest_parent = MAX_LEVELS - 2 - height
    if not parent_types or deepest_parent < 0:
        return []
    wanted = [WorkItem.work_type.in_(parent_types), WorkItem.depth <= deepest_parent,
              WorkItem.id.not_in([r.id for r in moved])]
    if (query or "").strip():
        wanted.append(matches(WorkItem, query))

    def part(own_tree):
        """The first `limit` places in its own tree (own_tree) or in the others, in tree order: each part
        walks the (tree_id, lft) index and stops at `limit`, where one ORDER BY over both sorted every
        container of every tree (30,000 rows of a 1,000-PPA portfolio) for 20 of them."""
        stmt = (sa.select(WorkItem.id, WorkItem.title, WorkItem.work_type, WorkItem.depth, WorkItem.tree_id,
                          WorkItem.lft, sa.literal(0 if own_tree else 1).label("other_tree"))
                .where(WorkItem.tree_id == item.tree_id if own_tree else WorkItem.tree_id != item.tree_id, *wanted)
                .order_by(WorkItem.tree_id, tree.position()).limit(limit))
        return sa.select(scope(stmt, WorkItem, actor).subquery())

    places = sa.union_all(part(True), part(False)).subquery("places")
    root = aliased(WorkItem, name="root")
    stmt = (sa.select(places.c.id, places.c.title, places.c.work_type, places.c.depth, places.c.tree_id,
                      root.title.label("tree_title"))
            .join(root, root.id == places.c.tree_id)
            .order_by(places.c.other_tree, places.c.tree_id, places.c.lft).limit(limit))
    return [MoveTarget(**row._mapping) for row in session.execute(stmt)]


@dataclass
class TreeView:
    """Everything templates/workitems/_tree.html needs to show one tree (also inside another page)."""

    root: OutlineRow
    rows: list
    open_ids: set
    may_edit: bool
    may_delete: bool

    @property
    def expand_all_allowed(self):
        return self.root.size <= EXPAND_ALL_LIMIT

    @property
    def expand_all_limit(self):
        return EXPAND_ALL_LIMIT


def tree_view(root, actor, open_ids=(), session=None):
    """The first screen of the tree of `root` (a root WorkItem) with `open_ids` expanded: two queries (the
    shown rows, their assignees). The caller has checked that `actor` may read it."""
    rows = attach_assignees(visible_rows(root, open_ids, session=session), session=session)
    if not rows or rows[0].id != root.id or rows[0].parent_id is not None:  # deleted or moved meanwhile
        raise not_found(WorkItem, root.id, actor, "work item")
    return TreeView(root=rows[0], rows=rows, open_ids={r.id for r in rows if r.id in open_ids},
                    may_edit=can(actor, "workitem.edit", root), may_delete=can(actor, "workitem.delete", root))


def roots_page(actor, page, per_page=25, session=None):
    """The trees (root work items) the actor may see, by title, one page (a COUNT and one query)."""
    stmt = (scope(sa.select(WorkItem).where(WorkItem.parent_id.is_(None)), WorkItem, actor)
            .options(joinedload(WorkItem.organization)).order_by(WorkItem.title, WorkItem.id))
    count = scope(sa.select(sa.func.count(WorkItem.id)).where(WorkItem.parent_id.is_(None)), WorkItem, actor)
    return paginate(stmt, page, per_page=per_page, session=session, count_stmt=count)
