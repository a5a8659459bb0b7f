"""Reading the tree: one query each, a self-join on the lft range (so the bounds are never taken from a
possibly stale ORM object).

    descendants(project)               # [WorkItem …] in tree order (TREE_LOAD columns; the rest on access)
    ancestors(subtask)                 # the breadcrumb, root first
    subtree_nested(project)            # {"id", "title", …, "children": [ … ]} for a template
    children_rows({5, 9}, columns)     # the children of several parents, in tree order (size_column())

Code elsewhere orders by position() and counts with subtree_size()/size_column(); it never reads the bounds.
"""
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...audit.recording import storage_type
from ...errors import NotFound
from ..models import WorkItem
from .table import id_of, int_param, session_or_default, work_items


@cache
def _read_statement(kind, include_self, columns=None):
    """The one-query reads, built once: `n` is the node asked about (bound as _node)."""
    column, n = work_items.c, aliased(work_items, name="n")
    if kind == "descendants":
        lower = column.lft >= n.c.lft if include_self else column.lft > n.c.lft
        on = sa.and_(column.tree_id == n.c.tree_id, lower, column.lft <= n.c.rgt)
    elif kind == "ancestors":
        if include_self:
            on = sa.and_(column.tree_id == n.c.tree_id, column.lft <= n.c.lft, column.rgt >= n.c.rgt)
        else:
            on = sa.and_(column.tree_id == n.c.tree_id, column.lft < n.c.lft, column.rgt > n.c.rgt)
    else:  # siblings
        on = sa.and_(column.parent_id == n.c.parent_id, sa.true() if include_self else column.id != n.c.id)
    stmt = sa.select(*(columns or _tree_load())).select_from(work_items.join(n, on))
    stmt = stmt.where(n.c.id == int_param("_node")).order_by(column.lft)
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
    column = work_items.c
    return tuple(sa.type_coerce(column[key], storage_type(column[key])).label(key) for key in TREE_LOAD)


def _entities(statement, node, session):
    return list(session_or_default(session).scalars(statement, {"_node": id_of(node)}))


def descendants(node, include_self=False, session=None):
    """The subtree below `node` (with include_self, from the node) in tree order; one query."""
    return _entities(_read_statement("descendants", include_self), node, session)


def ancestors(node, include_self=False, session=None):
    """The breadcrumb: root first, down to the parent (or the node itself with include_self). One query."""
    return _entities(_read_statement("ancestors", include_self), node, session)


@cache
def _children_statement():
    return sa.select(WorkItem).from_statement(
        sa.select(*_tree_load()).where(work_items.c.parent_id == int_param("_node")).order_by(work_items.c.lft))


def children(node, session=None):
    """The direct children in order (one query)."""
    return _entities(_children_statement(), node, session)


def has_children(node, session=None):
    """Whether `node` has a child (one query)."""
    exists = sa.exists().where(work_items.c.parent_id == id_of(node))
    return bool(session_or_default(session).scalar(sa.select(exists)))


def siblings(node, include_self=False, session=None):
    """The other children of the node's parent, in order (a root has none). One query."""
    return _entities(_read_statement("siblings", include_self), node, session)


def subtree_rows(node, columns=None, session=None):
    """The subtree of `node` (itself included) as plain rows in tree order, one query. `columns`: a tuple of
    WorkItem.__table__ columns (default: all)."""
    statement = _read_statement("descendants", True, tuple(columns or work_items.columns))
    return session_or_default(session).execute(statement, {"_node": id_of(node)}).all()


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
    return work_items.c.lft.desc() if descending else work_items.c.lft


def size_column():
    """A column expression: the number of nodes in each row's subtree (itself included), labelled "size" (a
    correlated count on the (tree_id, lft) index: the bounds keep gaps, so their difference is no count)."""
    inner = aliased(work_items, name="inner")
    return (sa.select(sa.func.count()).where(inner.c.tree_id == work_items.c.tree_id,
                                             inner.c.lft.between(work_items.c.lft, work_items.c.rgt))
            .scalar_subquery().label("size"))


def children_rows(parent_ids, columns, tree_id=None, with_node=None, session=None):
    """The children of several parents as rows of `columns` (add size_column() for their subtree sizes), in
    tree order — and the node `with_node` itself first when given. `tree_id` narrows the scan to one tree.
    ONE query, whatever the number of parents."""
    stmt = _children_rows_statement(tuple(columns), with_node is not None, tree_id is not None)
    params = {"_parents": sorted(set(parent_ids)), "_node": id_of(with_node) if with_node is not None else None,
              "_tree": tree_id}
    return session_or_default(session).execute(stmt, params).all()


@cache
def _children_rows_statement(columns, with_node, in_tree):
    """children_rows' statement, built once per shape (it serves every tree page and expansion)."""
    column = work_items.c
    where = column.parent_id.in_(sa.bindparam("_parents", expanding=True))
    if with_node:
        where = sa.or_(column.id == int_param("_node"), where)
    stmt = sa.select(*columns).where(where).order_by(column.lft)
    if in_tree:
        stmt = stmt.where(column.tree_id == int_param("_tree"))
    return stmt


def nested_selection(ids, session=None):
    """{id: (subtree size, [ids among `ids` above it, root first])} of the given nodes, in tree order (trees by
    id): what a delete of them all removes, and which of them go with a selected ancestor. ONE query."""
    ids = sorted(set(ids))
    column, above = work_items.c, aliased(work_items, name="above")
    on = sa.and_(above.c.tree_id == column.tree_id, above.c.lft < column.lft, above.c.rgt > column.rgt,
                 above.c.id.in_(ids))
    stmt = (sa.select(column.id, size_column(), above.c.id.label("above"))
            .select_from(work_items.outerjoin(above, on)).where(column.id.in_(ids))
            .order_by(column.tree_id, column.lft, above.c.lft))
    found = {}
    for node_id, size, above_id in session_or_default(session).execute(stmt):
        found.setdefault(node_id, (size, []))[1].extend([above_id] if above_id is not None else [])
    return found


def exists(node, session=None):
    """True while the node is in its tree (a delete of an ancestor takes it along). One query."""
    return session_or_default(session).scalar(sa.select(work_items.c.id).where(work_items.c.id == id_of(node))) \
        is not None


def subtree_size(node, session=None):
    """How many nodes a delete of `node` would remove (itself included). One query."""
    column = work_items.c
    row = session_or_default(session).execute(
        sa.select(column.id, size_column()).where(column.id == id_of(node))).first()
    if row is None:
        raise NotFound(f"Work item #{id_of(node)} does not exist.")
    return row.size
