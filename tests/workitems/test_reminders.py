"""send_task_reminders (DOMAIN.md Jobs): open tasks due in exactly 5 days (medium), exactly 2 days (high) or
overdue (critical) remind their active assignees in-app, once per task per day (also from a second run),
snoozed assignees skipped; set-based; daily 07:30. snooze_reminder: the service the My tasks page calls."""
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from jobs.schedule import SCHEDULE
from obcms.errors import NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from obcms.notifications.models import Notification
from obcms.workflow import fire
from obcms.workitems import services
from obcms.workitems.reminders import TaskReminder, TaskReminderSnooze, send_task_reminders, snooze_reminder

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 07:30 on 10 March in Manila (still the 9th in UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def project(users, organizations):
    return services.create_work_item(None, users["oobc_staff"], title="Reminded project", work_type="project",
                                     organization_id=organizations["MSSD"].id)


@pytest.fixture
def task(project, users):
    """task(days from TODAY to the due date, assignees=("moa_staff",), **fields)."""

    def make(days, assignees=("moa_staff",), work_type="task", parent=None, **fields):
        return services.create_work_item(parent or project, users["oobc_staff"],
                                         assignees=[users[name] for name in assignees], work_type=work_type,
                                         title=fields.pop("title", f"Due in {days} days"),
                                         due_date=TODAY + timedelta(days=days), **fields)

    return make


def reminded():
    db.session.expire_all()
    return db.session.execute(sa.select(TaskReminder.work_item_id, TaskReminder.severity, TaskReminder.sent_on)
                              .order_by(TaskReminder.work_item_id)).all()


def notified():
    return db.session.execute(sa.select(Notification.user_id, Notification.message, Notification.url)
                              .where(Notification.kind == "task_reminder").order_by(Notification.id)).all()


def test_due_in_five_two_and_overdue_days_only(frozen, task, users):
    tasks = {days: task(days) for days in (-3, -1, 0, 1, 2, 3, 4, 5, 6)}
    counts = send_task_reminders()
    assert counts == {"medium": 1, "high": 1, "critical": 2, "reminded": 4, "skipped": 0, "notifications": 4}
    assert [tuple(r) for r in reminded()] == sorted(
        [(tasks[-3].id, "critical", TODAY), (tasks[-1].id, "critical", TODAY), (tasks[2].id, "high", TODAY),
         (tasks[5].id, "medium", TODAY)])
    messages = {m: (u, url) for u, m, url in notified()}
    assert messages["Task due in 5 days (medium): Due in 5 days"] == (users["moa_staff"].id,
                                                                       f"/work-items/{tasks[5].id}")
    assert "Task due in 2 days (high): Due in 2 days" in messages
    assert "Task overdue (critical): Due in -1 days" in messages


def test_once_per_task_per_day_and_again_the_next_day(frozen, task):
    overdue = task(-1)
    assert send_task_reminders()["notifications"] == 1
    assert send_task_reminders() == {"medium": 0, "high": 0, "critical": 0, "reminded": 0, "skipped": 0,
                                     "notifications": 0}
    frozen.shift(timedelta(days=1))
    assert send_task_reminders()["critical"] == 1
    assert [r.sent_on for r in reminded()] == [TODAY, TODAY + timedelta(days=1)]
    assert all(r.work_item_id == overdue.id for r in reminded())


def test_the_day_is_the_configured_time_zones(task):
    task(2)
    with time_machine.travel(datetime(2026, 3, 9, 15, 59, tzinfo=UTC), tick=False):  # 23:59 on the 9th, Manila
        assert send_task_reminders()["high"] == 0  # due in 3 days on the 9th
    with time_machine.travel(datetime(2026, 3, 9, 16, 0, tzinfo=UTC), tick=False):  # 00:00 on the 10th
        assert send_task_reminders()["high"] == 1


def test_closed_tasks_containers_and_undated_items_are_not_reminded(frozen, task, project, users):
    done = task(-1, title="Done")
    fire(done, "complete", users["oobc_staff"])
    dropped = task(2, title="Dropped")
    fire(dropped, "cancel", users["oobc_staff"])
    services.create_work_item(project, users["oobc_staff"], assignees=[users["moa_staff"]], title="Activity",
                              work_type="activity", due_date=TODAY - timedelta(days=1))
    services.create_work_item(project, users["oobc_staff"], assignees=[users["moa_staff"]], title="No date",
                              work_type="task")
    parent = task(5, title="Parent task")
    task(2, work_type="subtask", parent=parent, title="A subtask")
    counts = send_task_reminders()
    assert (counts["medium"], counts["high"], counts["critical"]) == (1, 1, 0)


def test_every_active_assignee_is_reminded_inactive_ones_and_unassigned_tasks_not(frozen, task, users):
    shared = task(2, assignees=("moa_staff", "oobc_staff", "viewer"))
    users["viewer"].is_active = False
    nobody = task(5, assignees=())
    db.session.flush()
    counts = send_task_reminders()
    assert (counts["reminded"], counts["skipped"], counts["notifications"]) == (1, 1, 2)
    assert {u for u, m, url in notified()} == {users["moa_staff"].id, users["oobc_staff"].id}
    assert [r.work_item_id for r in reminded()] == [shared.id]
    assert nobody.id not in {r.work_item_id for r in reminded()}


def test_snoozed_assignees_are_skipped_up_to_and_including_the_date(frozen, task, users):
    shared = task(-2, assignees=("moa_staff", "oobc_staff"))
    alone = task(-2, assignees=("moa_staff",), title="Alone")
    task(-2, assignees=("moa_staff",), title="Not snoozed")  # a snooze is of one task
    snooze_reminder(shared, users["moa_staff"], TODAY + timedelta(days=1))
    snooze_reminder(alone, users["moa_staff"], TODAY + timedelta(days=1))
    counts = send_task_reminders()
    assert (counts["critical"], counts["reminded"], counts["skipped"], counts["notifications"]) == (3, 2, 1, 2)
    assert sorted((u, m) for u, m, url in notified()) == sorted([
        (users["oobc_staff"].id, "Task overdue (critical): Due in -2 days"),
        (users["moa_staff"].id, "Task overdue (critical): Not snoozed")])
    frozen.shift(timedelta(days=1))  # the last snoozed day
    assert send_task_reminders()["notifications"] == 2
    frozen.shift(timedelta(days=1))  # awake again
    assert send_task_reminders()["notifications"] == 4


def test_snooze_reminder_changes_clears_and_checks(frozen, task, project, users):
    item = task(2)
    snooze_reminder(item, users["moa_staff"], TODAY)
    snooze_reminder(item, users["moa_staff"], TODAY + timedelta(days=3))
    assert db.session.get(TaskReminderSnooze, (item.id, users["moa_staff"].id)).until == TODAY + timedelta(days=3)
    snooze_reminder(item, users["moa_staff"], None)
    assert db.session.get(TaskReminderSnooze, (item.id, users["moa_staff"].id)) is None
    for until in (TODAY - timedelta(days=1), TODAY + timedelta(days=366)):
        with pytest.raises(ValidationFailed) as error:
            snooze_reminder(item, users["moa_staff"], until)
        assert "until" in error.value.errors
    with pytest.raises(ValidationFailed):
        snooze_reminder(project, users["moa_staff"], TODAY)  # not a task
    with pytest.raises(NotAllowed):
        snooze_reminder(item, users["other_moa_staff"], TODAY)  # another organization's task


@pytest.mark.parametrize("n", [10, 40])
def test_three_statements_whatever_the_number_of_tasks(frozen, task, count_queries, n):
    for i in range(n):
        task((-1, 2, 5)[i % 3], assignees=("moa_staff", "oobc_staff"))
    db.session.flush()
    with count_queries() as q:
        counts = send_task_reminders()
    assert counts["reminded"] == n and counts["notifications"] == 2 * n
    assert q.count == 3


def test_the_job_runs_daily_at_half_past_seven_and_records_its_counts(frozen, task):
    assert ("30 7 * * *", "send_task_reminders") in SCHEDULE
    task(-1)
    for _ in range(2):
        enqueue("send_task_reminders")
        db.session.commit()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.name == "send_task_reminders").order_by(JobRun.id))
    assert [(r.status, r.counts["critical"], r.counts["notifications"]) for r in runs] == [
        ("succeeded", 1, 1), ("succeeded", 0, 0)]
