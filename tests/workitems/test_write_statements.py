"""The statements of a tree write through the services: the roll-ups ride in the structural UPDATE and every
audit row of the operation goes in ONE INSERT. On PostgreSQL the writes and that INSERT are one statement
(data-modifying CTEs): lock, read, write."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.errors import Conflict, NotAllowed, NotFound
from obcms.extensions import db
from obcms.workitems import services, tree
from obcms.workitems.models import WorkItem


@pytest.fixture
def staff(users):
    return users["oobc_staff"]


@pytest.fixture
def project(staff):
    """P (A: T1, T2; B: U1), budgets within their parents, leaves with progress."""
    ids = services.build_tree([{
        "title": "P", "work_type": "project", "allocated_budget": Decimal("1000.00"), "children": [
            {"title": "A", "work_type": "activity", "allocated_budget": Decimal("400.00"), "children": [
                {"title": "T1", "work_type": "task", "allocated_budget": Decimal("100.00"), "progress": 50},
                {"title": "T2", "work_type": "task", "allocated_budget": Decimal("100.00"), "progress": 0}]},
            {"title": "B", "work_type": "activity", "allocated_budget": Decimal("400.00"), "children": [
                {"title": "U1", "work_type": "task", "allocated_budget": Decimal("100.00"), "progress": 100,
                 "status": "completed"}]}]}], staff)
    db.session.flush()
    return db.session.get(WorkItem, ids[0])


def titled(title):
    return db.session.scalar(sa.select(WorkItem).where(WorkItem.title == title))


def audit_rows(**where):
    stmt = sa.select(AuditEntry).where(*(getattr(AuditEntry, k) == v for k, v in where.items()))
    return db.session.scalars(stmt.order_by(AuditEntry.id)).all()


def pg():
    return db.engine.dialect.name == "postgresql"


def audit_inserts(q):
    return sum("INSERT INTO audit_entries" in s for s in q.statements)


def writes(q):
    return [s for s in q.statements if not s.lstrip().upper().startswith("SELECT")]


def test_create_with_the_roll_up_in_the_shift(staff, project, count_queries):
    a = titled("A")
    with count_queries() as q:
        item = services.create_work_item(a, staff, title="T3", work_type="task", allocated_budget=Decimal("50.00"),
                                         progress=100, status="completed")
    assert q.count == (3 if pg() else 5)  # lock, read, shift + roll-ups, INSERT, audit
    assert audit_inserts(q) == 1
    db.session.expire_all()
    assert (titled("A").progress, titled("P").progress) == (40, 70)
    assert tree.check_integrity() == []
    created = audit_rows(object_id=item.id, action="create")
    assert {r.field for r in created} >= {"title", "work_type", "status", "progress", "allocated_budget"}
    derived = audit_rows(object_id=a.id, field="progress")
    assert derived[-1].cause == f"derived from new child #{item.id}"
    assert derived[-1].object_version == titled("A").version


def test_move_with_the_roll_ups_of_both_ends(staff, project, count_queries):
    t1, b = titled("T1"), titled("B")
    with count_queries() as q:
        services.move_work_item(t1, staff, t1.version, parent=b)
    assert q.count == (3 if pg() else 4)  # lock, read, move + roll-ups of both ends, audit
    assert audit_inserts(q) == 1
    db.session.expire_all()
    assert titled("T1").parent_id == b.id
    assert (titled("A").progress, titled("B").progress) == (0, 75)
    assert tree.check_integrity() == []
    assert [r.new_value for r in audit_rows(object_id=titled("T1").id, field="parent_id")] == [str(b.id)]
    assert audit_rows(object_id=b.id, field="progress")[-1].cause == f"derived from moved child #{t1.id}"


def test_reorder_within_a_parent_rolls_nothing_up(staff, project, count_queries):
    t2, a = titled("T2"), titled("A")
    version = t2.version
    with count_queries() as q:
        services.move_work_item(t2, staff, version, parent=a, before=titled("T1"))
    # the move with its audit row (its new position) — one statement on PostgreSQL; SQLite: the tree lock
    # (an UPDATE), the move, the audit row. No roll-up.
    assert len(writes(q)) == (1 if pg() else 3)
    db.session.expire_all()
    assert [k.title for k in tree.children(a)] == ["T2", "T1"]
    assert titled("T2").version == version + 1
    assert [(r.old_value, r.new_value) for r in audit_rows(object_id=t2.id, field="position")] == [("2", "1")]


def test_move_within_a_tree_rolls_up_an_ancestor_outside_the_span(staff, project):
    """Moving U1 from B to A: P (above both) changes only through its children's roll-ups."""
    services.move_work_item(titled("U1"), staff, titled("U1").version, parent=titled("A"))
    db.session.expire_all()
    assert (titled("A").progress, titled("B").status, titled("P").progress) == (50, "completed", 75)
    assert tree.check_integrity() == []


def test_delete_with_the_roll_ups(staff, project, count_queries):
    b = titled("B")
    with count_queries() as q:
        assert services.delete_work_item(b, staff, b.version) == 2
    assert q.count == (3 if pg() else 5)  # lock, read, DELETE, close the gap + roll-ups, audit
    assert audit_inserts(q) == 1
    db.session.expire_all()
    assert titled("P").progress == 25
    assert tree.check_integrity() == []
    assert audit_rows(object_id=b.id, action="delete")[0].cause == "deleted with its subtree (2 work items)"


def test_assignees_of_a_new_item_are_written(staff, users, project):
    item = services.create_work_item(titled("A"), staff, assignees=[users["moa_staff"]], title="T3", work_type="task")
    db.session.flush()
    db.session.expire_all()
    assert [u.username for u in db.session.get(WorkItem, item.id).assignees] == ["moa_staff"]


def test_move_and_delete_check_the_version_inside_the_lock(staff, project, count_queries):
    t1, a, b = titled("T1"), titled("A"), titled("B")
    seen = t1.version
    services.update_work_item(t1, seen, staff, title="T1 renamed")
    with pytest.raises(Conflict) as error:
        services.move_work_item(t1, staff, seen, parent=b)
    assert "title" in error.value.changed_fields
    with pytest.raises(Conflict):
        services.delete_work_item(t1, staff, seen)
    db.session.expire_all()
    assert titled("T1 renamed").parent_id == a.id
    t1, b = titled("T1 renamed"), titled("B")
    version = str(t1.version)
    db.session.refresh(staff)
    with count_queries() as q:  # the current version costs no query
        services.move_work_item(t1, staff, version, parent=b)
    assert q.count == (3 if pg() else 4), q.statements
    t1 = titled("T1 renamed")
    assert services.delete_work_item(t1, staff, t1.version) == 1


def test_get_work_item_answers_404_outside_the_scope(users, organizations, project):
    mine = services.create_work_item(None, users["moa_staff"], title="MSSD tree", work_type="project",
                                     organization_id=organizations["MSSD"].id)
    db.session.flush()
    assert services.get_work_item(mine.id, users["moa_staff"]) is mine
    with pytest.raises(NotFound):
        services.get_work_item(mine.id, users["other_moa_staff"])  # another organization's: as if missing
    with pytest.raises(NotFound):
        services.get_work_item(10**9, users["moa_staff"])
    with pytest.raises(NotAllowed):
        services.get_work_item(mine.id, users["viewer"], permission="workitem.edit")


def test_set_allocations_decides_inside_the_lock_then_writes_rolls_up_and_audits(staff, project, monkeypatch):
    a, t1, t2 = titled("A"), titled("T1"), titled("T2")
    t1_version, calls = t1.version, []
    real_lock = tree.lock
    monkeypatch.setattr(tree, "lock", lambda *args, **kw: calls.append("lock") or real_lock(*args, **kw))

    def decide():
        calls.append("decide")
        return services.Allocations(shares={t1.id: Decimal("300.00"), t2.id: Decimal("100.00")}, cause="test split",
                                    outcome="mine")

    written = services.set_allocations(a.id, decide)
    assert calls == ["lock", "decide"]
    assert (written.outcome, written.lineage) == ("mine", (a.id, titled("P").id))
    db.session.expire_all()
    assert (titled("T1").allocated_budget, titled("T1").version) == (Decimal("300.00"), t1_version + 1)
    assert titled("A").progress == 38  # (50 × 300 + 0 × 100) / 400, half up
    rows = audit_rows(object_id=t1.id, field="allocated_budget")
    assert [(r.old_value, r.new_value, r.cause) for r in rows][-1:] == [("100.00", "300.00", "test split")]
    assert audit_rows(object_id=t2.id, field="allocated_budget", cause="test split") == []  # unchanged
    assert audit_rows(object_id=a.id, field="progress")[-1].cause == "test split"


def test_set_allocations_writes_nothing_when_decide_refuses(staff, project):
    a, t1 = titled("A"), titled("T1")

    def decide():
        raise Conflict("changed meanwhile")

    with pytest.raises(Conflict):
        services.set_allocations(a, decide)
    db.session.expire_all()
    assert titled("T1").allocated_budget == Decimal("100.00")
    assert audit_rows(object_id=t1.id, field="allocated_budget") == []
