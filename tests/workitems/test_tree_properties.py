"""Property tests: random sequences of tree operations against a naive parent-pointer model after each step;
the SQL roll-up against the Python rules."""
import copy
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.workitems import rollup, tree
from obcms.workitems.models import WorkItem

OPERATIONS = st.lists(st.tuples(st.sampled_from(["insert", "insert", "move", "reorder", "delete", "root"]),
                                st.integers(0, 10_000), st.integers(0, 10_000), st.booleans()),
                      min_size=1, max_size=25)


class Model:
    """The forest as ordered child lists: the obvious truth the nested set must agree with."""

    def __init__(self):
        self.children = {None: []}  # parent id (None: the roots) → ordered child ids

    def nodes(self):
        return [n for kids in self.children.values() for n in kids]

    def parent_of(self, node):
        return next(p for p, kids in self.children.items() if node in kids)

    def subtree(self, node):
        out = [node]
        for kid in self.children.get(node, []):
            out += self.subtree(kid)
        return out

    def add(self, node, parent, before=None):
        kids = self.children.setdefault(parent, [])
        kids.insert(kids.index(before) if before is not None else len(kids), node)
        self.children.setdefault(node, [])

    def remove(self, node):
        self.children[self.parent_of(node)].remove(node)

    def preorder(self, root):
        """[(id, depth, parent)] in tree order."""
        out = []

        def walk(node, depth, parent):
            out.append((node, depth, parent))
            for kid in self.children.get(node, []):
                walk(kid, depth + 1, node)

        walk(root, 0, None)
        return out


def database_forest():
    rows = db.session.execute(sa.select(WorkItem.tree_id, WorkItem.id, WorkItem.depth, WorkItem.parent_id)
                              .order_by(WorkItem.tree_id, WorkItem.lft)).all()
    forest = {}
    for tree_id, node, depth, parent in rows:
        forest.setdefault(tree_id, []).append((node, depth, parent))
    return forest


def pick(items, index):
    return items[index % len(items)] if items else None


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_random_operations_agree_with_a_parent_pointer_model(db_session, operations):
    savepoint = db.session.begin_nested()
    try:
        model = Model()
        first = tree.create_root(WorkItem(title="root", work_type="project"))
        model.add(first.id, None)
        for kind, a, b, flag in operations:
            nodes = model.nodes()
            node = pick(nodes, a)
            if kind == "root" or node is None:
                new = tree.create_root(WorkItem(title="root", work_type="project"))
                model.add(new.id, None)
            elif kind == "insert":
                kids = model.children[node]
                before = pick(kids, b) if flag and kids else None
                new = tree.insert(WorkItem(title="n", work_type="subtask"), node, before=before)
                model.add(new.id, node, before)
            elif kind == "delete":
                tree.delete_subtree(node)
                for gone in model.subtree(node):
                    model.children.pop(gone, None)
                model.children[model.parent_of(node)].remove(node)
            elif kind == "move":
                target = None if flag and model.parent_of(node) is not None else pick(nodes, b)
                if target is not None and target in model.subtree(node):
                    with pytest.raises(ValidationFailed):
                        tree.move_subtree(node, parent=target)
                    continue
                tree.move_subtree(node, parent=target)
                model.remove(node)
                model.add(node, target)
            else:  # reorder among siblings: before another sibling (or last)
                parent = model.parent_of(node)
                if parent is None:
                    continue
                siblings = [s for s in model.children[parent] if s != node]
                before = pick(siblings, b) if flag and siblings else None
                tree.move_subtree(node, parent=parent, before=before)
                model.remove(node)
                model.add(node, parent, before)
            expected = {root: model.preorder(root) for root in model.children[None]}
            assert database_forest() == expected
            assert tree.check_integrity() == []
    finally:
        savepoint.rollback()
        db.session.expunge_all()


STATUS = st.sampled_from(["not_started", "in_progress", "at_risk", "blocked", "completed", "cancelled"])
AMOUNT = st.sampled_from(["0.00", "0.01", "10.00", "333.33", "1000.00", "49999.99"])


@st.composite
def structures(draw, depth=0):
    """A random subtree as for tree.insert_many, children's budgets within the parent's."""
    budget = draw(AMOUNT)
    node = {"title": "n", "work_type": "subtask" if depth else "project", "status": draw(STATUS),
            "progress": draw(st.integers(0, 100)), "auto_calculate_progress": draw(st.booleans()),
            "allocated_budget": Decimal(budget)}
    node["children"] = draw(st.lists(structures(depth + 1), max_size=3)) if depth < 3 else []
    return node


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(structure=structures())
def test_sql_roll_up_equals_the_python_rules(db_session, structure):
    """rollup_trees (SQL, per level) and derive (Python, used by update_ancestors) give the same values."""
    savepoint = db.session.begin_nested()
    try:
        ids = tree.insert_many([structure])  # stored as drawn: containers not rolled up yet
        rollup.rollup_trees([ids[0]])
        expected = copy.deepcopy(structure)
        rollup.derive_structure([expected])
        flat = []

        def walk(node):
            flat.append((node["progress"], node.get("status", "not_started")))
            for kid in node["children"]:
                walk(kid)

        walk(expected)
        stored = db.session.execute(sa.select(WorkItem.progress, WorkItem.status)
                                    .where(WorkItem.tree_id == ids[0]).order_by(WorkItem.lft)).all()
        assert [tuple(r) for r in stored] == flat
    finally:
        savepoint.rollback()
        db.session.expunge_all()
