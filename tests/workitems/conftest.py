"""Helpers for the work-item tests: build a tree from a compact spec, read its shape back."""
import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.workitems import tree
from obcms.workitems.models import WorkItem

TYPE_BY_DEPTH = ("project", "activity", "task", "subtask", "subtask", "subtask")


def node(title, *children, depth=0, **fields):
    return {"title": title, "work_type": TYPE_BY_DEPTH[depth], **fields,
            "children": [c if isinstance(c, dict) else node(c, depth=depth + 1) for c in children]}


def add(title, parent=None, before=None, work_type=None, **fields):
    """Insert one node through tree.py (no service rules)."""
    depth = 0 if parent is None else db.session.scalar(sa.select(WorkItem.depth).where(WorkItem.id == parent.id)) + 1
    item = WorkItem(title=title, work_type=work_type or TYPE_BY_DEPTH[min(depth, 5)], **fields)
    if parent is None:
        return tree.create_root(item)
    return tree.insert(item, parent, before=before)


def shape(root_or_tree_id):
    """[(title, depth, parent title)] of one tree in tree order (check_integrity checks the bounds)."""
    return [(title, depth, parent) for title, _, _, depth, parent in bounds(root_or_tree_id)]


def bounds(root_or_tree_id):
    """[(title, lft, rgt, depth, parent title)] of one tree in lft order."""
    tree_id = root_or_tree_id if isinstance(root_or_tree_id, int) else root_or_tree_id.id
    parent = sa.orm.aliased(WorkItem)
    rows = db.session.execute(
        sa.select(WorkItem.title, WorkItem.lft, WorkItem.rgt, WorkItem.depth, parent.title)
        .outerjoin(parent, parent.id == WorkItem.parent_id)
        .where(WorkItem.tree_id == tree_id).order_by(WorkItem.lft)).all()
    return [tuple(r) for r in rows]


def by_title(title):
    return db.session.scalar(sa.select(WorkItem).where(WorkItem.title == title))


@pytest.fixture(params=["spaced", "tight"])
def forest(request):
    """Two trees: P (A: A1, A2; B: B1) and Q (C) — with free numbers between the bounds as writes leave
    them, and (tight) renumbered without any, so that every write must open a gap or rotate."""
    p = add("P")
    a = add("A", p)
    add("A1", a)
    add("A2", a)
    b = add("B", p)
    add("B1", b)
    q = add("Q")
    add("C", q)
    if request.param == "tight":
        tree.rebuild(step=1)
    return p, q
