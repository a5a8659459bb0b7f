"""Nested-set operations: exact bounds after each one."""
import pytest
import sqlalchemy as sa

from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.workitems import tree
from obcms.workitems.models import WorkItem
from tests.workitems.conftest import add, by_title, node, shape


def test_root_spans_one_to_two():
    p = add("P")
    assert (p.tree_id, p.lft, p.rgt, p.depth, p.parent_id) == (p.id, 1, 2, 0, None)


def test_insert_as_last_child_and_before_sibling(forest):
    p, q = forest
    assert shape(p) == [("P", 1, 12, 0, None), ("A", 2, 7, 1, "P"), ("A1", 3, 4, 2, "A"), ("A2", 5, 6, 2, "A"),
                        ("B", 8, 11, 1, "P"), ("B1", 9, 10, 2, "B")]
    add("A0", by_title("A"), before=by_title("A1"))
    assert shape(p)[:4] == [("P", 1, 14, 0, None), ("A", 2, 9, 1, "P"), ("A0", 3, 4, 2, "A"), ("A1", 5, 6, 2, "A")]
    assert shape(q) == [("Q", 1, 4, 0, None), ("C", 2, 3, 1, "Q")]
    assert tree.check_integrity() == []


def test_insert_copies_ppa_and_organization_from_the_root(organizations):
    org = organizations["MSSD"]
    p = add("P", ppa_id=None, organization_id=org.id)
    a = add("A", p)
    assert a.organization_id == org.id


def test_insert_before_a_node_of_another_parent_is_refused(forest):
    with pytest.raises(ValidationFailed):
        add("X", by_title("A"), before=by_title("B1"))


def test_shifted_rows_keep_their_version_and_a_moved_node_gets_a_new_one(forest):
    p, _ = forest
    versions = dict(db.session.execute(sa.select(WorkItem.id, WorkItem.version)).all())
    add("B2", by_title("B"))  # renumbers P, B and what follows: no field a person sees changed
    assert dict(db.session.execute(sa.select(WorkItem.id, WorkItem.version).where(
        WorkItem.id.in_(versions))).all()) == versions
    a = by_title("A")
    tree.move_subtree(a, parent=by_title("B"))
    assert a.version == versions[a.id] + 1  # the loaded object was expired, not left stale
    assert by_title("B1").version == versions[by_title("B1").id]


def test_move_right_within_a_tree(forest):
    p, _ = forest
    tree.move_subtree(by_title("A"), parent=by_title("B"))
    assert shape(p) == [("P", 1, 12, 0, None), ("B", 2, 11, 1, "P"), ("B1", 3, 4, 2, "B"), ("A", 5, 10, 2, "B"),
                        ("A1", 6, 7, 3, "A"), ("A2", 8, 9, 3, "A")]
    assert tree.check_integrity() == []


def test_move_left_within_a_tree_before_a_sibling(forest):
    p, _ = forest
    tree.move_subtree(by_title("B"), parent=p, before=by_title("A"))
    assert shape(p) == [("P", 1, 12, 0, None), ("B", 2, 5, 1, "P"), ("B1", 3, 4, 2, "B"), ("A", 6, 11, 1, "P"),
                        ("A1", 7, 8, 2, "A"), ("A2", 9, 10, 2, "A")]


def test_move_up_a_level_to_an_ancestor(forest):
    p, _ = forest
    tree.move_subtree(by_title("A2"), parent=p)
    assert shape(p) == [("P", 1, 12, 0, None), ("A", 2, 5, 1, "P"), ("A1", 3, 4, 2, "A"), ("B", 6, 9, 1, "P"),
                        ("B1", 7, 8, 2, "B"), ("A2", 10, 11, 1, "P")]


def test_reorder_among_siblings(forest):
    a = by_title("A")
    tree.move_subtree(by_title("A2"), parent=a, before=by_title("A1"))
    assert [t for t, *_ in shape(a.tree_id)][:4] == ["P", "A", "A2", "A1"]
    tree.move_subtree(by_title("A2"), parent=a)  # back to last
    assert [t for t, *_ in shape(a.tree_id)][:4] == ["P", "A", "A1", "A2"]
    tree.move_subtree(by_title("A2"), parent=a)  # already last: nothing changes
    assert tree.check_integrity() == []


def test_move_across_trees(forest, organizations):
    p, q = forest
    db.session.execute(sa.update(WorkItem).where(WorkItem.tree_id == q.id).values(organization_id=organizations["MOH"].id))
    moved = tree.move_subtree(by_title("A"), parent=by_title("C"))
    assert (moved.old_tree_id, moved.new_tree_id) == (p.id, q.id)
    assert shape(p) == [("P", 1, 6, 0, None), ("B", 2, 5, 1, "P"), ("B1", 3, 4, 2, "B")]
    assert shape(q) == [("Q", 1, 10, 0, None), ("C", 2, 9, 1, "Q"), ("A", 3, 8, 2, "C"), ("A1", 4, 5, 3, "A"),
                        ("A2", 6, 7, 3, "A")]
    assert by_title("A1").organization_id == organizations["MOH"].id
    assert tree.check_integrity() == []


def test_move_across_trees_before_a_sibling(forest):
    p, q = forest
    tree.move_subtree(by_title("B"), parent=q, before=by_title("C"))
    assert shape(q) == [("Q", 1, 8, 0, None), ("B", 2, 5, 1, "Q"), ("B1", 3, 4, 2, "B"), ("C", 6, 7, 1, "Q")]
    assert tree.check_integrity() == []


def test_move_to_the_root_level_makes_its_own_tree(forest):
    p, _ = forest
    a = by_title("A")
    tree.move_subtree(a)
    assert shape(p) == [("P", 1, 6, 0, None), ("B", 2, 5, 1, "P"), ("B1", 3, 4, 2, "B")]
    assert shape(a.id) == [("A", 1, 6, 0, None), ("A1", 2, 3, 1, "A"), ("A2", 4, 5, 1, "A")]
    assert tree.check_integrity() == []


def test_a_root_moves_under_another_tree(forest):
    p, q = forest
    tree.move_subtree(q, parent=by_title("B1"))
    assert shape(p)[-4:] == [("B", 8, 15, 1, "P"), ("B1", 9, 14, 2, "B"), ("Q", 10, 13, 3, "B1"),
                             ("C", 11, 12, 4, "Q")]
    assert tree.check_integrity() == []


@pytest.mark.parametrize("target", ["A", "A1"])
def test_moving_under_itself_or_a_descendant_is_refused(forest, target):
    with pytest.raises(ValidationFailed, match="under itself or one of its own descendants"):
        tree.move_subtree(by_title("A"), parent=by_title(target))


def test_delete_subtree_closes_the_gap(forest):
    p, _ = forest
    gone = tree.delete_subtree(by_title("A"))
    assert gone.size == 3
    assert shape(p) == [("P", 1, 6, 0, None), ("B", 2, 5, 1, "P"), ("B1", 3, 4, 2, "B")]
    assert by_title("A1") is None
    assert tree.check_integrity() == []


def test_delete_a_whole_tree(forest):
    p, q = forest
    assert tree.delete_subtree(q).size == 2
    assert shape(q.id) == []


def test_reads(forest):
    p, _ = forest
    a1 = by_title("A1")
    assert [n.title for n in tree.descendants(p)] == ["A", "A1", "A2", "B", "B1"]
    assert [n.title for n in tree.descendants(p, include_self=True)][0] == "P"
    assert [n.title for n in tree.ancestors(a1)] == ["P", "A"]
    assert [n.title for n in tree.ancestors(a1, include_self=True)] == ["P", "A", "A1"]
    assert [n.title for n in tree.children(p)] == ["A", "B"]
    assert [n.title for n in tree.siblings(by_title("A"))] == ["B"]
    assert tree.siblings(p) == []
    nested = tree.subtree_nested(p)
    assert [c["title"] for c in nested["children"]] == ["A", "B"]
    assert [c["title"] for c in nested["children"][0]["children"]] == ["A1", "A2"]
    assert tree.subtree_size(by_title("A")) == 3


def test_reads_are_one_query_each(forest, count_queries):
    p, _ = forest
    a1 = by_title("A1")
    for read in (tree.descendants, tree.ancestors, tree.subtree_nested, tree.children, tree.siblings):
        with count_queries() as q:
            read(a1 if read is tree.ancestors else p)
        assert q.count == 1, read.__name__


def test_writes_run_a_fixed_small_number_of_statements(forest, count_queries):
    """After the lock and the re-read, one statement on PostgreSQL (the writes and the audit rows as one
    INSERT/UPDATE/DELETE with data-modifying CTEs), one per write elsewhere."""
    pg = db.engine.dialect.name == "postgresql"
    p, q = forest
    a, b, a1 = by_title("A"), by_title("B"), by_title("A1")
    with count_queries() as counted:
        tree.insert(WorkItem(title="new", work_type="subtask"), parent=a1)
    assert counted.count == (3 if pg else 5)  # lock, re-read, shift + INSERT + its audit rows
    a, b, q = by_title("A"), by_title("B"), by_title("Q")  # loaded again: their tree is known, no lookup
    with count_queries() as counted:
        tree.move_subtree(a, parent=q)
    assert counted.count == 3  # lock, re-read, one UPDATE
    db.session.expunge_all()  # objects whose bounds are not loaded would cost one lookup after a delete
    b = by_title("B")
    with count_queries() as counted:
        tree.delete_subtree(b)
    assert counted.count == (3 if pg else 4)  # lock, re-read, DELETE + close the gap
    assert tree.check_integrity() == []


def test_insert_many_builds_whole_trees():
    ids = tree.insert_many([node("P", "A", node("B", "B1", "B2", depth=1)), node("Q")])
    assert len(ids) == 6
    assert shape(ids[0]) == [("P", 1, 10, 0, None), ("A", 2, 3, 1, "P"), ("B", 4, 9, 1, "P"), ("B1", 5, 6, 2, "B"),
                             ("B2", 7, 8, 2, "B")]
    assert shape(ids[5]) == [("Q", 1, 2, 0, None)]
    tree.insert_many([node("B3", depth=2)], parent=db.session.get(WorkItem, ids[2]))
    assert shape(ids[0])[-2:] == [("B2", 7, 8, 2, "B"), ("B3", 9, 10, 2, "B")]
    assert tree.check_integrity() == []
    add("after bulk")  # ids keep counting from the reserved ones


def test_integrity_check_finds_corruption_and_rebuild_repairs_it(forest):
    p, _ = forest
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "A2").values(lft=4))
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "B1").values(depth=5))
    kinds = {v["kind"] for v in tree.check_integrity(p.id)}
    assert {"bounds", "width", "depth"} <= kinds
    assert tree.rebuild(p.id) >= 1
    assert tree.check_integrity() == []
    assert [t for t, *_ in shape(p)] == ["P", "A", "A1", "A2", "B", "B1"]


def test_rebuild_everything_follows_parent_links(forest):
    p, q = forest
    # a parent link changed behind the tree's back: C now belongs under B in tree P
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "C").values(parent_id=by_title("B").id))
    assert tree.check_integrity() != []
    tree.rebuild()
    assert tree.check_integrity() == []
    # siblings keep their order by (old lft, id): C had lft 2 in Q
    assert shape(p)[-3:] == [("B", 8, 13, 1, "P"), ("C", 9, 10, 2, "B"), ("B1", 11, 12, 2, "B")]


def test_children_of_several_parents_in_tree_order_with_sizes(forest, count_queries):
    p, _ = forest
    columns = (WorkItem.__table__.c.title, tree.size_column())
    parents = {by_title("A").id, by_title("B").id}
    with count_queries() as q:
        rows = tree.children_rows(parents, columns, tree_id=p.id, with_node=p)
    assert q.count == 1
    assert [tuple(r) for r in rows] == [("P", 6), ("A1", 1), ("A2", 1), ("B1", 1)]
    assert [r.title for r in tree.children_rows([p.id], columns)] == ["A", "B"]
    assert tree.size(by_title("A")) == 3
