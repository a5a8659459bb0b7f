"""Notification: one message for one user (read or not).

Not versioned and not audited: a notification is a message the system sends, never edited by anyone; the
only change is its read mark, which only its own user sets (an idempotent flag, so no stale-edit conflict).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime, utcnow
from ..extensions import db


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # What it is about, for filtering and styling: "approval", "approval_reminder", "progress", …
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    message: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    url: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    read_at: Mapped[object | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint("kind <> ''", name="kind_not_empty"),
        # The badge and the list: a user's notifications, unread first, newest first.
        sa.Index("ix_notifications_user_read_created", "user_id", "read_at", "created_at"),
    )

    @property
    def is_read(self):
        return self.read_at is not None

    def __repr__(self):
        return f"<Notification #{self.id} user {self.user_id} {self.kind}>"
