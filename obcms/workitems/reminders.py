"""Task reminders (DOMAIN.md Jobs, `send_task_reminders`, daily 07:30) and their snooze.

Open tasks (work items of type task/subtask not completed or cancelled) due in exactly 5 days (medium), in
exactly 2 days (high) or overdue (critical, every day until done) remind their active assignees in-app.
Days are counted in the configured time zone. TaskReminder rows record each day's reminders: UNIQUE
(work_item_id, sent_on) makes a second run on the same day send nothing (and a concurrent one fail whole).

Snoozing is per person (TaskReminderSnooze: one row per task and user, `until` a date, inclusive): a snoozed
assignee is not reminded of that task up to and including `until`; the other assignees still are. A task
whose assignees are all snoozed (or that has none) is skipped and gets no reminder row, so it is reminded
as soon as someone may be. The "My tasks" page calls snooze_reminder().

    counts = send_task_reminders()                           # the job (jobs/workitems.py); never commits
    snooze_reminder(task, user, date(2026, 3, 9))            # None clears the snooze
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..auth.models import User
from ..auth.permissions import require
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..errors import ValidationFailed
from ..extensions import db
from ..notifications.models import Notification
from .models import WorkItem, work_item_assignees
from .states import OPEN

TASK_TYPES = ("task", "subtask")
SEVERITIES = ("medium", "high", "critical")
DUE_IN = {5: "medium", 2: "high"}  # days before the due date → severity; overdue → critical
SNOOZE_AT_MOST = timedelta(days=365)


class TaskReminder(db.Model):
    __tablename__ = "work_item_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(sa.ForeignKey("work_items.id", ondelete="CASCADE"), nullable=False)
    sent_on: Mapped[object] = mapped_column(sa.Date, nullable=False)
    severity: Mapped[str] = mapped_column(enum_column_type(SEVERITIES, "task_reminder_severity"), nullable=False)
    due_date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("work_item_id", "sent_on"),)  # one reminder per task per day


class TaskReminderSnooze(db.Model):
    __tablename__ = "work_item_reminder_snoozes"

    work_item_id: Mapped[int] = mapped_column(sa.ForeignKey("work_items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    until: Mapped[object] = mapped_column(sa.Date, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


def local_today():
    """Today in the configured time zone (the reminder day)."""
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def snooze_reminder(task, user, until, today=None, session=None):
    """Snooze `user`'s reminders of `task` up to and including the date `until` (None: wake them now).
    The user must be able to read the task (NotAllowed / NotFound as everywhere); `until` lies between today
    and a year from now (ValidationFailed on "until"). Never commits. Returns the snooze row (or None)."""
    session = session or db.session
    require(user, "workitem.read", task)
    if task.work_type not in TASK_TYPES:
        raise ValidationFailed("Only tasks and subtasks have reminders.", errors={"until": ["Not a task."]})
    existing = session.get(TaskReminderSnooze, (task.id, user.id))
    if until is None:
        if existing is not None:
            session.delete(existing)
            session.flush()
        return None
    today = today or local_today()
    if not today <= until <= today + SNOOZE_AT_MOST:
        message = "Snooze until a date from today to a year from now."
        raise ValidationFailed(message, errors={"until": [message]})
    if existing is None:
        existing = TaskReminderSnooze(work_item_id=task.id, user_id=user.id, until=until)
        session.add(existing)
    else:
        existing.until = until
    session.flush()
    return existing


def _due(today):
    """(task ids, due date, severity) of the open tasks to remind today that were not reminded today."""
    day = sa.literal(today, sa.Date)
    severity = sa.case((WorkItem.due_date < day, "critical"),
                       *((WorkItem.due_date == sa.literal(today + timedelta(days=n), sa.Date), s)
                         for n, s in DUE_IN.items())).label("severity")
    # NOT IN (…) rather than NOT EXISTS: PostgreSQL hashes the day's reminders once. A correlated anti-join
    # planned as a nested loop over a table believed empty re-scanned, for every task, the rows the INSERT
    # into that same table had added so far: quadratic (timed out on the 100,000-task benchmark).
    reminded = WorkItem.id.in_(sa.select(TaskReminder.work_item_id).where(TaskReminder.sent_on == day))
    return (sa.select(WorkItem.id, WorkItem.title, WorkItem.due_date, severity)
            .where(WorkItem.work_type.in_(TASK_TYPES), WorkItem.status.in_(OPEN),
                   sa.or_(WorkItem.due_date < day,
                          WorkItem.due_date.in_([today + timedelta(days=n) for n in DUE_IN])),
                   ~reminded)
            .subquery("due"))


def _reminded_assignee(task_id, today):
    """The condition on a work_item_assignees row of `task_id`: an active user who has not snoozed it today."""
    snoozed = sa.exists().where(TaskReminderSnooze.work_item_id == task_id,
                                TaskReminderSnooze.user_id == work_item_assignees.c.user_id,
                                TaskReminderSnooze.until >= sa.literal(today, sa.Date)
                                ).correlate_except(TaskReminderSnooze)  # the task and the assignee from outside
    active = sa.exists().where(User.id == work_item_assignees.c.user_id, User.is_active).correlate_except(User)
    return sa.and_(work_item_assignees.c.work_item_id == task_id, active, ~snoozed)


MESSAGES = {"critical": "Task overdue (critical): ", "high": "Task due in 2 days (high): ",
            "medium": "Task due in 5 days (medium): "}


def send_task_reminders(today=None, session=None):
    """Remind the assignees of every task due in 5 or 2 days or overdue, once per task per day, set-based:
    three statements whatever the number of tasks — one INSERT … SELECT of notifications (RETURNING their
    ids: psycopg reports no rowcount for INSERT … SELECT), one INSERT … SELECT of reminder rows (RETURNING
    their severities), and the count of the due tasks then left without a reminder (no assignee who may be
    reminded). Never commits. Returns counts for the JobRun: due tasks per severity, reminded, skipped and
    notifications."""
    session = session or db.session
    today = today or local_today()
    now = sa.literal(utcnow(), UTCDateTime())
    due = _due(today)
    prefix = sa.case(*((due.c.severity == s, m) for s, m in MESSAGES.items()))
    notified = session.scalars(sa.insert(Notification.__table__).from_select(
        ["user_id", "kind", "message", "url", "created_at"],
        sa.select(work_item_assignees.c.user_id, sa.literal("task_reminder"),
                  sa.func.substr(prefix + due.c.title, 1, 1000),
                  sa.literal("/work-items/") + sa.cast(due.c.id, sa.String), now)
        .where(_reminded_assignee(due.c.id, today))).returning(Notification.__table__.c.id)).all()
    reminded = session.scalars(sa.insert(TaskReminder.__table__).from_select(
        ["work_item_id", "sent_on", "severity", "due_date", "created_at"],
        sa.select(due.c.id, sa.literal(today, sa.Date), due.c.severity, due.c.due_date, now)
        .where(sa.exists().where(_reminded_assignee(due.c.id, today)).correlate_except(work_item_assignees)))
        .returning(TaskReminder.__table__.c.severity)).all()
    # Read again, `due` now holds only the tasks that got no reminder.
    skipped = dict(session.execute(sa.select(due.c.severity, sa.func.count()).group_by(due.c.severity)).all())
    counts = {s: reminded.count(s) + skipped.get(s, 0) for s in SEVERITIES}
    return counts | {"reminded": len(reminded), "skipped": sum(skipped.values()), "notifications": len(notified)}
