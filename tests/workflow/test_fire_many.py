"""workflow.fire_many: many transitions at once, set-based — the state, the version check, the effects and the
audit rows as fire() makes them, in a constant number of statements."""
import pytest
import sqlalchemy as sa

from obcms.audit.context import audit_cause
from obcms.audit.models import AuditEntry
from obcms.errors import Conflict
from obcms.extensions import db
from obcms.workflow import fire_many
from obcms.workflow.models import TransitionLog
from obcms.workitems.models import WorkItem
from tests.workitems.conftest import add


@pytest.fixture
def activity(organizations):
    """An activity with three tasks, the first with a subtask."""
    org = organizations["MSSD"].id
    root = add("Livelihood activity", organization_id=org, work_type="activity")
    kids = [add(f"Task {n}", root, organization_id=org, work_type="task") for n in range(3)]
    sub = add("Subtask", kids[0], organization_id=org, work_type="subtask")
    db.session.commit()
    return root, kids, sub


def _status(*items):
    db.session.expire_all()
    return [db.session.get(WorkItem, i.id).status for i in items]


def test_fires_each_with_its_effects_roll_ups_logs_and_audit_rows(activity, users):
    root, kids, sub = activity
    targets = [*kids, sub]
    seen = {i.id: i.version for i in targets}
    with audit_cause("bulk test"):
        fired, stale = fire_many([(i, "complete") for i in targets], users["moa_staff"], expected_versions=seen)
    assert sorted(fired) == sorted(seen) and stale == {}
    assert _status(*targets, root) == ["completed"] * 5
    assert {i.progress for i in targets} == {100} and all(i.completed_at for i in targets)
    assert {i.id: i.version for i in targets} == {i: v + 1 for i, v in seen.items()} | {
        kids[0].id: seen[kids[0].id] + 1}  # the parent task's own roll-up changed nothing more
    logs = db.session.scalars(sa.select(TransitionLog).where(TransitionLog.object_id.in_(list(seen)))).all()
    assert sorted(log.object_id for log in logs) == sorted(seen) and {log.to_state for log in logs} == {"completed"}
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.object_version, AuditEntry.cause)
                              .where(AuditEntry.field == "status", AuditEntry.action == "update",
                                     AuditEntry.object_id.in_(list(seen)))).all()
    assert sorted(r.object_id for r in rows) == sorted(seen)
    assert {r.cause for r in rows} == {"transition 'complete' ← bulk test"}
    assert {r.object_id: r.object_version for r in rows} == {i: v + 1 for i, v in seen.items()}


def test_a_stale_item_is_a_conflict_naming_it_and_nothing_is_written(activity, users):
    root, kids, _ = activity
    seen = {i.id: i.version for i in kids}
    seen[kids[1].id] += 1
    with pytest.raises(Conflict) as refused:
        fire_many([(i, "start") for i in kids], users["moa_staff"], expected_versions=seen)
    assert "Task 1" in refused.value.detail
    db.session.rollback()
    assert _status(*kids) == ["not_started"] * 3
    assert not db.session.scalars(sa.select(TransitionLog)).all()


def test_skip_stale_fires_the_others_and_answers_the_stale(activity, users):
    _, kids, _ = activity
    seen = {i.id: i.version for i in kids}
    seen[kids[1].id] += 1
    fired, stale = fire_many([(i, "start") for i in kids], users["moa_staff"], expected_versions=seen,
                             skip_stale=True)
    assert fired == [kids[0].id, kids[2].id] and list(stale) == [kids[1].id]
    assert _status(*kids) == ["in_progress", "not_started", "in_progress"]


def test_the_statement_count_does_not_grow_with_the_items(organizations, users, count_queries):
    counts = []
    for n in (3, 30):
        root = add(f"Activity of {n}", organization_id=organizations["MSSD"].id, work_type="activity")
        kids = [add(f"Task {k}", root, organization_id=organizations["MSSD"].id, work_type="task")
                for k in range(n)]
        db.session.commit()
        kids = db.session.scalars(sa.select(WorkItem).where(WorkItem.id.in_([k.id for k in kids]))).all()
        actor = db.session.get(type(users["moa_staff"]), users["moa_staff"].id)
        with count_queries() as q:
            fire_many([(i, "complete") for i in kids], actor)
        counts.append(q.count)
        db.session.commit()
    assert counts[0] == counts[1], counts
