"""Bulk apply is set-based: the same number of statements for 5 and 50 items, one audit entry per item with the
operation's cause, a stale item fails the whole operation ("all") or only itself ("allowed"), and a task with
its subtask in one operation is not refused because of the subtask's roll-up."""
from datetime import date

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.auth.models import User
from obcms.bulk import services as bulk
from obcms.extensions import db
from obcms.notifications.models import Notification
from obcms.ppas.approval import ApprovalTask
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem
from tests.bulk.test_engine import changed_after_planning


@pytest.mark.parametrize(("kind", "action", "params", "user"), [
    ("ppa", "approve", {}, "mfbm_analyst"),
    ("ppa", "reject", {"comment": "Not aligned"}, "mfbm_analyst"),
    ("task", "transition", {"transition": "complete"}, "oobc_staff"),
    ("task", "assign", {"to": "USER"}, "oobc_staff"),
    ("task", "priority", {"priority": "urgent"}, "oobc_staff"),
    ("task", "reschedule", {"days": "5"}, "oobc_staff"),
])
def test_apply_runs_the_same_number_of_statements_for_5_and_50_items(review_ppas, tasks, users, organizations,
                                                                     count_queries, kind, action, params, user):
    params = {k: (users["oobc_staff"].id if v == "USER" else v) for k, v in params.items()}
    counts = []
    for n in (5, 50):
        if kind == "ppa":
            ids = [p.id for p in review_ppas(n, state="technical_review",
                                             submitted_by_id=users["moa_staff"].id)]
        else:
            parent = workitems.create_work_item(None, users["oobc_staff"], title=f"Activity of {n}",
                                                work_type="activity", organization_id=organizations["MSSD"].id)
            ids = [t.id for t in tasks(n, start=date(2026, 11, 1))]  # trees of their own
            ids += [workitems.create_work_item(parent, users["oobc_staff"], title=f"Kid {k}", work_type="task",
                                               due_date=date(2026, 12, 1)).id for k in range(2)]
            db.session.commit()
        db.session.expire_all()
        actor = db.session.get(User, users[user].id)
        with count_queries() as q:
            result = bulk.apply(actor, kind, action, ids, params)
        assert result["succeeded"] == len(ids), result["failures"]
        counts.append(q.count)
        db.session.commit()
    assert counts[0] == counts[1], counts


def test_approving_many_ppas_closes_and_opens_their_review_tasks_and_tells_the_submitters(review_ppas, users):
    ppas = review_ppas(4, state="technical_review", submitted_by_id=users["moa_staff"].id)
    first = bulk.apply(users["mfbm_analyst"], "ppa", "approve", [p.id for p in ppas])
    assert first["succeeded"] == 4
    second = bulk.apply(users["mfbm_analyst"], "ppa", "approve", [p.id for p in ppas])  # budget → executive
    assert second["succeeded"] == 4
    db.session.expire_all()
    assert {p.approval_status for p in ppas} == {"executive_approval"}
    tasks = db.session.execute(sa.select(ApprovalTask.ppa_id, ApprovalTask.approval_status, WorkItem.status)
                               .join(WorkItem, WorkItem.id == ApprovalTask.work_item_id)
                               .order_by(ApprovalTask.id)).all()
    by_ppa = {}
    for ppa_id, state, status in tasks:
        by_ppa.setdefault(ppa_id, []).append((state, status))
    assert by_ppa == {p.id: [("budget_review", "completed"), ("executive_approval", "not_started")] for p in ppas}
    told = db.session.scalars(sa.select(Notification.message).where(Notification.user_id == users["moa_staff"].id)
                              ).all()
    assert sum("is now in executive approval" in m for m in told) == 4
    review = db.session.get(WorkItem, db.session.scalar(sa.select(ApprovalTask.work_item_id).where(
        ApprovalTask.approval_status == "executive_approval").limit(1)))
    assert [u.username for u in review.assignees] == ["oobc_executive"] and review.tree_id == review.id


def test_one_audit_entry_per_item_with_the_shared_cause(tasks, users):
    items = tasks(4)
    result = bulk.apply(users["oobc_staff"], "task", "transition", [t.id for t in items], {"transition": "start"})
    assert result["succeeded"] == 4
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.cause, AuditEntry.object_version)
                              .where(AuditEntry.field == "status", AuditEntry.action == "update",
                                     AuditEntry.object_id.in_([t.id for t in items]))).all()
    assert sorted(r.object_id for r in rows) == sorted(t.id for t in items)
    assert {r.cause for r in rows} == {f"transition 'start' ← bulk {result['operation']}"}
    result = bulk.apply(users["oobc_staff"], "task", "priority", [t.id for t in items], {"priority": "high"})
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.new_value).where(
        AuditEntry.cause == f"bulk {result['operation']}")).all()
    assert sorted(rows) == sorted((t.id, "high") for t in items)


def test_a_task_changed_after_the_plan_fails_all_or_only_itself(tasks, users, monkeypatch):
    items = tasks(3)
    ids = [t.id for t in items]
    changed_after_planning(monkeypatch, WorkItem, items[0].id)
    result = bulk.apply(users["oobc_staff"], "task", "transition", ids, {"transition": "start"})
    assert result["rolled_back"] is True and list(result["failures"]) == [items[0].id]
    db.session.expire_all()
    assert {t.status for t in items} == {"not_started"}
    result = bulk.apply(users["oobc_staff"], "task", "transition", ids, {"transition": "start"}, mode="allowed")
    assert result["succeeded_ids"] == ids[1:] and list(result["failures"]) == [items[0].id]
    db.session.expire_all()
    assert [t.status for t in items] == ["not_started", "in_progress", "in_progress"]


@pytest.mark.parametrize(("action", "params"), [
    ("transition", {"transition": "complete"}),
    ("transition", {"transition": "start"}),
    ("priority", {"priority": "urgent"}),
    ("reschedule", {"days": "3"}),
    ("assign", {"to": "USER"}),
])
def test_a_task_and_its_subtask_in_one_operation(users, organizations, action, params):
    params = {k: (users["oobc_staff"].id if v == "USER" else v) for k, v in params.items()}
    staff = users["oobc_staff"]
    task = workitems.create_work_item(None, staff, title="Parent task", work_type="task", due_date=date(2026, 12, 1),
                                      organization_id=organizations["MSSD"].id)
    sub = workitems.create_work_item(task, staff, title="Subtask", work_type="subtask", due_date=date(2026, 11, 1))
    db.session.commit()
    seen = {task.id: task.version, sub.id: sub.version}
    result = bulk.apply(staff, "task", action, [sub.id, task.id], params, versions=seen)
    assert result["succeeded_ids"] == [sub.id, task.id] and not result["rolled_back"], result["failures"]
    db.session.expire_all()
    if params.get("transition") == "complete":
        assert (task.status, sub.status, task.progress) == ("completed", "completed", 100)
    if action == "reschedule":
        assert (task.due_date, sub.due_date) == (date(2026, 12, 4), date(2026, 11, 4))
