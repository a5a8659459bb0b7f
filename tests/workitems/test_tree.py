"""Nested-set operations: the shape after each one (order, depth, parent) and every invariant
(check_integrity), with free numbers between the bounds and without any (the `forest` fixture's two kinds)."""
import pytest
import sqlalchemy as sa

from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.workitems import tree
from obcms.workitems.models import WorkItem
from obcms.workitems.tree import gaps
from tests.workitems.conftest import add, bounds, by_title, node, shape


def test_a_root_starts_with_room_for_its_tree():
    p = add("P")
    assert (p.tree_id, p.lft, p.rgt, p.depth, p.parent_id) == (p.id, 1, gaps.ROOT_SPAN, 0, None)


def test_insert_as_last_child_and_before_sibling(forest):
    p, q = forest
    assert shape(p) == [("P", 0, None), ("A", 1, "P"), ("A1", 2, "A"), ("A2", 2, "A"), ("B", 1, "P"), ("B1", 2, "B")]
    add("A0", by_title("A"), before=by_title("A1"))
    assert shape(p)[:4] == [("P", 0, None), ("A", 1, "P"), ("A0", 2, "A"), ("A1", 2, "A")]
    add("A3", by_title("A"))
    assert [t for t, *_ in shape(p)] == ["P", "A", "A0", "A1", "A2", "A3", "B", "B1"]
    assert shape(q) == [("Q", 0, None), ("C", 1, "Q")]
    assert tree.check_integrity() == []


def test_a_write_with_room_moves_no_other_node(forest):
    p, _ = forest
    before = {title: (lft, rgt) for title, lft, rgt, *_ in bounds(p)}
    add("A0", by_title("A"), before=by_title("A1"))
    tree.move_subtree(by_title("B1"), parent=by_title("A"))
    tree.delete_subtree(by_title("A2"))
    after = {title: (lft, rgt) for title, lft, rgt, *_ in bounds(p)}
    kept = {"P", "A", "A1", "B"}
    if before["A1"][0] - before["A"][0] > 2:  # spaced: A0 and B1 found free numbers, nothing shifted
        assert {t: after[t] for t in kept} == {t: before[t] for t in kept}
    assert tree.check_integrity() == []


def test_many_inserts_at_one_place_stay_in_order_and_intact():
    p = add("P")
    a = add("A", p)
    first = add("first", a)
    for i in range(80):  # each before the last one: the free numbers there run out and a gap is opened
        add(f"n{i}", a, before=first)
    for i in range(80):
        add(f"m{i}", a)
    titles = [t for t, *_ in shape(p)][2:]
    assert titles == [f"n{i}" for i in range(80)] + ["first"] + [f"m{i}" for i in range(80)]
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
    assert shape(p) == [("P", 0, None), ("B", 1, "P"), ("B1", 2, "B"), ("A", 2, "B"), ("A1", 3, "A"), ("A2", 3, "A")]
    assert tree.check_integrity() == []


def test_move_left_within_a_tree_before_a_sibling(forest):
    p, _ = forest
    tree.move_subtree(by_title("B"), parent=p, before=by_title("A"))
    assert shape(p) == [("P", 0, None), ("B", 1, "P"), ("B1", 2, "B"), ("A", 1, "P"), ("A1", 2, "A"), ("A2", 2, "A")]
    assert tree.check_integrity() == []


def test_move_up_a_level_to_an_ancestor(forest):
    p, _ = forest
    tree.move_subtree(by_title("A2"), parent=p)
    assert shape(p) == [("P", 0, None), ("A", 1, "P"), ("A1", 2, "A"), ("B", 1, "P"), ("B1", 2, "B"), ("A2", 1, "P")]
    assert tree.check_integrity() == []


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
    assert shape(p) == [("P", 0, None), ("B", 1, "P"), ("B1", 2, "B")]
    assert shape(q) == [("Q", 0, None), ("C", 1, "Q"), ("A", 2, "C"), ("A1", 3, "A"), ("A2", 3, "A")]
    assert by_title("A1").organization_id == organizations["MOH"].id
    assert tree.check_integrity() == []


def test_move_across_trees_before_a_sibling(forest):
    p, q = forest
    tree.move_subtree(by_title("B"), parent=q, before=by_title("C"))
    assert shape(q) == [("Q", 0, None), ("B", 1, "Q"), ("B1", 2, "B"), ("C", 1, "Q")]
    assert tree.check_integrity() == []


def test_move_to_the_root_level_makes_its_own_tree(forest):
    p, _ = forest
    a = by_title("A")
    tree.move_subtree(a)
    assert shape(p) == [("P", 0, None), ("B", 1, "P"), ("B1", 2, "B")]
    assert shape(a.id) == [("A", 0, None), ("A1", 1, "A"), ("A2", 1, "A")]
    assert tree.check_integrity() == []


def test_a_root_moves_under_another_tree(forest):
    p, q = forest
    tree.move_subtree(q, parent=by_title("B1"))
    assert shape(p)[-4:] == [("B", 1, "P"), ("B1", 2, "B"), ("Q", 3, "B1"), ("C", 4, "Q")]
    assert tree.check_integrity() == []


@pytest.mark.parametrize("target", ["A", "A1"])
def test_moving_under_itself_or_a_descendant_is_refused(forest, target):
    with pytest.raises(ValidationFailed, match="under itself or one of its own descendants"):
        tree.move_subtree(by_title("A"), parent=by_title(target))


def test_delete_subtree(forest):
    p, _ = forest
    gone = tree.delete_subtree(by_title("A"))
    assert gone.size == 3
    assert shape(p) == [("P", 0, None), ("B", 1, "P"), ("B1", 2, "B")]
    add("A", p, before=by_title("B"))  # into the numbers it left free
    assert [t for t, *_ in shape(p)] == ["P", "A", "B", "B1"]
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
    tight = a1.rgt - a1.lft == 1
    with count_queries() as counted:
        tree.insert(WorkItem(title="new", work_type="subtask"), parent=a1)
    assert counted.count == (3 if pg else 4 + tight)  # lock, re-read, [shift when tight +] INSERT + audit rows
    a, b, q = by_title("A"), by_title("B"), by_title("Q")  # loaded again: their tree is known, no lookup
    with count_queries() as counted:
        tree.move_subtree(a, parent=q)
    assert counted.count == (3 if pg or not tight else 4)  # lock, re-read, one UPDATE [+ a gap opened in Q]
    db.session.expunge_all()  # objects whose bounds are not loaded would cost one lookup after a delete
    b = by_title("B")
    with count_queries() as counted:
        tree.delete_subtree(b)
    assert counted.count == 3  # lock, re-read, DELETE (its numbers stay free)
    assert tree.check_integrity() == []


def test_insert_many_builds_whole_trees():
    ids = tree.insert_many([node("P", "A", node("B", "B1", "B2", depth=1)), node("Q")])
    assert len(ids) == 6
    step = gaps.STEP
    assert bounds(ids[0]) == [("P", 1, 1 + 9 * step, 0, None), ("A", 1 + step, 1 + 2 * step, 1, "P"),
                              ("B", 1 + 3 * step, 1 + 8 * step, 1, "P"), ("B1", 1 + 4 * step, 1 + 5 * step, 2, "B"),
                              ("B2", 1 + 6 * step, 1 + 7 * step, 2, "B")]
    assert shape(ids[5]) == [("Q", 0, None)]
    tree.insert_many([node("B3", depth=2)], parent=db.session.get(WorkItem, ids[2]))  # a gap opens
    tree.insert_many([node("A1", depth=2)], parent=db.session.get(WorkItem, ids[1]))  # into free numbers
    assert shape(ids[0])[-3:] == [("B1", 2, "B"), ("B2", 2, "B"), ("B3", 2, "B")]
    assert shape(ids[0])[:3] == [("P", 0, None), ("A", 1, "P"), ("A1", 2, "A")]
    assert tree.check_integrity() == []
    add("after bulk")  # ids keep counting from the reserved ones


def test_integrity_check_finds_corruption_and_rebuild_repairs_it(forest):
    p, _ = forest
    a1 = by_title("A1")
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "A2").values(lft=a1.lft, rgt=a1.rgt))
    db.session.execute(sa.update(WorkItem).where(WorkItem.title == "B1").values(depth=5))
    kinds = {v["kind"] for v in tree.check_integrity(p.id)}
    assert {"bounds", "depth"} <= kinds
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
    # siblings keep their order by (old lft, id); C's old lft was in another tree
    last = shape(p)[-3:]
    assert last[0] == ("B", 1, "P") and sorted(last[1:]) == [("B1", 2, "B"), ("C", 2, "B")]


def test_children_of_several_parents_in_tree_order_with_sizes(forest, count_queries):
    p, _ = forest
    columns = (WorkItem.__table__.c.title, tree.size_column())
    parents = {by_title("A").id, by_title("B").id}
    with count_queries() as q:
        rows = tree.children_rows(parents, columns, tree_id=p.id, with_node=p)
    assert q.count == 1
    assert [tuple(r) for r in rows] == [("P", 6), ("A1", 1), ("A2", 1), ("B1", 1)]
    assert [r.title for r in tree.children_rows([p.id], columns)] == ["A", "B"]
    assert tree.subtree_size(by_title("A")) == 3
