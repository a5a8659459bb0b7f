"""Approval reminders (DOMAIN.md Jobs, `send_approval_reminders`): a PPA waiting in a review state for more
than 7 days since it entered that state (from the transition log, not its last edit) reminds the role that
must act, high after 7 days and critical after 14; at most one reminder per PPA per day.

ApprovalReminder rows record each day's reminders; UNIQUE (ppa_id, sent_on) makes a second run on the same
day send nothing more.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

SEVERITIES = ("high", "critical")


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
