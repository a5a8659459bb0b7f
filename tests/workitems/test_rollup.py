"""Roll-ups: progress (weighted, equal), derived status, allocation; both computations agree. Expenditure is the
ledger's rolled-up disbursements (tests/budget/test_ledger.py), never entered on a work item."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.workitems import rollup, services
from obcms.workitems.models import WorkItem
from obcms.workitems.rollup import Child, derive

D = Decimal


def kid(status="not_started", progress=0, budget="0"):
    return Child(status, progress, D(budget))


def test_progress_weighted_by_budget_when_every_counted_child_has_one():
    assert derive("not_started", 0, True, [kid(progress=100, budget="300"), kid(progress=0, budget="100")])[0] == 75


def test_progress_equal_when_a_child_has_no_budget():
    assert derive("not_started", 0, True, [kid(progress=100, budget="300"), kid(progress=0)])[0] == 50


def test_progress_rounds_half_up_exactly():
    assert derive("not_started", 0, True, [kid(progress=0), kid(progress=1)])[0] == 1  # 0.5 → 1
    assert derive("not_started", 0, True, [kid(progress=33), kid(progress=34), kid(progress=34)])[0] == 34


def test_cancelled_children_do_not_count_and_completed_counts_100():
    children = [kid("completed", 10, "100"), kid("cancelled", 0, "900"), kid(progress=50, budget="100")]
    assert derive("in_progress", 0, True, children)[0] == 75


def test_manual_progress_is_kept():
    assert derive("not_started", 42, False, [kid(progress=100)])[0] == 42


def test_derived_status():
    assert derive("blocked", 0, True, [kid("completed"), kid("cancelled")])[1] == "completed"
    assert derive("cancelled", 0, True, [kid("completed")])[1] == "cancelled"
    assert derive("not_started", 0, True, [kid("in_progress"), kid()])[1] == "in_progress"
    assert derive("at_risk", 0, True, [kid("in_progress")])[1] == "at_risk"


def test_expenditure_is_never_entered_on_a_work_item(project):
    actor, p, a, b, t1, t2 = project
    with pytest.raises(ValidationFailed) as error:
        services.update_work_item(t1, t1.version, actor, actual_expenditure="120.50")
    assert "disbursements" in error.value.errors["actual_expenditure"][0]
    assert values(t1) == (0, "not_started", D("0.00"))


@pytest.fixture
def project(users):
    actor = users["oobc_staff"]
    p = services.create_work_item(None, actor, title="P", work_type="project", allocated_budget="1000.00")
    a = services.create_work_item(p, actor, title="A", work_type="activity", allocated_budget="600.00")
    b = services.create_work_item(p, actor, title="B", work_type="activity", allocated_budget="200.00")
    t1 = services.create_work_item(a, actor, title="T1", work_type="task", allocated_budget="300.00")
    t2 = services.create_work_item(a, actor, title="T2", work_type="task", allocated_budget="100.00")
    return actor, p, a, b, t1, t2


def values(item):
    db.session.expire_all()
    row = db.session.get(WorkItem, item.id)
    return row.progress, row.status, row.actual_expenditure


def test_update_ancestors_after_an_edit(project):
    actor, p, a, b, t1, t2 = project
    services.update_work_item(t1, t1.version, actor, progress=100)
    # (100×300 + 0×100) / 400; work has begun below, so neither reads "not started" at 75 % or 56 %
    assert values(a) == (75, "in_progress", D("0.00"))
    assert values(p) == (56, "in_progress", D("0.00"))  # (75×600 + 0×200) / 800 = 56.25


def test_roll_up_writes_are_audited_with_their_cause(project):
    from obcms.audit.models import AuditEntry

    actor, p, a, b, t1, t2 = project
    services.update_work_item(t1, t1.version, actor, progress=100)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_id == a.id,
                                                           AuditEntry.field == "progress", AuditEntry.action == "update")).first()
    assert entry is not None and f"#{t1.id}" in entry.cause
    assert (entry.old_value, entry.new_value) == ("0", "75")


def test_over_allocation_is_refused_naming_the_amount(project):
    actor, p, a, b, t1, t2 = project
    with pytest.raises(ValidationFailed) as error:
        services.create_work_item(a, actor, title="T3", work_type="task", allocated_budget="200.01")
    assert "₱ 0.01 more" in error.value.detail
    assert error.value.extra["amount_over"] == "0.01"
    with pytest.raises(ValidationFailed):
        services.update_work_item(a, a.version, actor, allocated_budget="399.99")
    with pytest.raises(ValidationFailed):
        services.move_work_item(t1, actor, t1.version, parent=b)  # 300 > B's 200


def test_allocation_tree_in_one_query(project, count_queries):
    actor, p, a, b, t1, t2 = project
    # as the ledger leaves them after a disbursement of 150.00 on T2
    db.session.execute(sa.update(WorkItem).where(WorkItem.id.in_([t2.id, a.id, p.id]))
                       .values(disbursed=D("150.00"), obligated=D("150.00"), actual_expenditure=D("150.00")))
    with count_queries() as q:
        rows = rollup.allocation_tree(p)
    assert q.count == 1
    by_title = {r["title"]: r for r in rows}
    assert by_title["P"]["children_allocated"] == D("800.00")
    assert by_title["P"]["unallocated"] == D("200.00")
    assert by_title["A"]["actual_expenditure"] == D("150.00")
    assert by_title["T2"]["variance"] == D("-50.00")
    assert by_title["T2"]["variance_pct"] == D("-50.00")


def test_rollup_trees_agrees_with_update_ancestors(project):
    actor, p, a, b, t1, t2 = project
    services.update_work_item(t1, t1.version, actor, progress=40)
    expected = [values(x) for x in (p, a, b)]
    # spoil the stored roll-ups, then recompute the whole tree in SQL
    db.session.execute(sa.update(WorkItem).where(WorkItem.id.in_([p.id, a.id])).values(progress=0))
    assert rollup.rollup_trees([p.id]) == 2
    assert [values(x) for x in (p, a, b)] == expected
    assert rollup.rollup_trees() == 0  # nothing left to change


def test_derived_status_is_written_and_completed_at_set(project, users):
    from obcms.workflow import guard

    actor, p, a, b, t1, t2 = project
    with guard.derived_status("test: tasks finished elsewhere"):
        db.session.execute(sa.update(WorkItem).where(WorkItem.id.in_([t1.id, t2.id])).values(status="completed"))
    rollup.update_ancestors([t1.id])
    db.session.expire_all()
    activity = db.session.get(WorkItem, a.id)
    assert activity.status == "completed" and activity.completed_at is not None
    assert activity.progress == 100
