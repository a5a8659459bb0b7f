"""Approval reminders (DOMAIN.md Jobs, `send_approval_reminders`): a PPA waiting in a review state for more
than 7 days since it entered that state (from the transition log, not its last edit) reminds the role that
must act, high after 7 days and critical after 14; at most one reminder per PPA per day.

ApprovalReminder rows record each day's reminders; UNIQUE (ppa_id, sent_on) makes a second run on the same
day send nothing more. A PPA with no transition into its state in the log (created in it, as imports and
the demo do) counts its creation as the entry.

    counts = send_approval_reminders()    # the job `send_approval_reminders` (jobs/approval.py), daily 08:00
"""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..auth.models import User
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db
from ..notifications.services import notify_each
from .approval import REVIEW_STATES, REVIEWERS, approval_url
from .models import Ppa
from .queue import entered_at

SEVERITIES = ("high", "critical")
HIGH_AFTER = timedelta(days=7)
CRITICAL_AFTER = timedelta(days=14)


class ApprovalReminder(db.Model):
    __tablename__ = "ppa_approval_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="CASCADE"), nullable=False)
    approval_status: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    severity: Mapped[str] = mapped_column(enum_column_type(SEVERITIES, "approval_reminder_severity"), nullable=False)
    days_waiting: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sent_on: Mapped[object] = mapped_column(sa.Date, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("ppa_id", "sent_on"),  # one reminder per PPA per day
        sa.CheckConstraint("days_waiting >= 0", name="days_waiting_non_negative"),
    )


def local_today():
    """Today in the configured time zone (the reminder day)."""
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def send_approval_reminders(now=None, session=None):
    """Remind the reviewers of every PPA waiting too long in a review state, once per PPA per day.

    Set-based, four statements whatever the number of PPAs: the overdue PPAs not yet reminded today, the
    active users of the roles that must act, one INSERT of reminder records, one INSERT of notifications.
    Never commits (the job does). Returns counts for the JobRun."""
    session = session or db.session
    now = now or utcnow()
    today = local_today()
    waiting = (sa.select(Ppa.id, Ppa.code, Ppa.title, Ppa.approval_status,
                         sa.func.coalesce(entered_at(), Ppa.created_at).label("since"))
               .where(Ppa.approval_status.in_(REVIEW_STATES)).subquery())
    reminded_today = sa.exists().where(ApprovalReminder.ppa_id == waiting.c.id, ApprovalReminder.sent_on == today)
    overdue = session.execute(sa.select(waiting).where(waiting.c.since < now - HIGH_AFTER, ~reminded_today)
                              .order_by(waiting.c.id)).all()
    counts = {"overdue": len(overdue), "high": 0, "critical": 0, "no_reviewer": 0, "notifications": 0}
    if not overdue:
        return counts
    reviewers = {}
    roles = {REVIEWERS[row.approval_status] for row in overdue}
    for user_id, role in session.execute(sa.select(User.id, User.role).where(User.role.in_(roles), User.is_active)):
        reviewers.setdefault(role, []).append(user_id)
    records, messages = [], []
    for row in overdue:
        waited = now - _aware(row.since)
        severity = "critical" if waited > CRITICAL_AFTER else "high"
        counts[severity] += 1
        records.append(dict(ppa_id=row.id, approval_status=row.approval_status, severity=severity,
                            days_waiting=waited.days, sent_on=today, created_at=now))
        users = reviewers.get(REVIEWERS[row.approval_status], [])
        if not users:
            counts["no_reviewer"] += 1
        ppa = Ppa(id=row.id, code=row.code, title=row.title)
        messages.append((users, "approval_reminder",
                         f"{'Overdue' if severity == 'critical' else 'Waiting'} ({severity}): {ppa.display_code} "
                         f"{row.title} has waited {waited.days} days in {row.approval_status.replace('_', ' ')}.",
                         approval_url(ppa)))
    session.execute(sa.insert(ApprovalReminder), records)
    counts["notifications"] = notify_each(messages, session)
    return counts


def _aware(moment):
    """The coalesced timestamp comes back naive (or as text) on SQLite, aware on PostgreSQL; it is UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
