"""Notification: one message for one user (read or not); the user's channel preference; the e-mails sent.

Not versioned and not audited: a notification is a message the system sends, never edited by anyone; the
only change is its read mark, which only its own user sets (an idempotent flag, so no stale-edit conflict).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, enum_column_type, utcnow
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


# How a user hears of their notifications besides the in-app list (NOTIFICATION_CHANNELS' keys, in form order).
NOTIFICATION_CHANNELS = {
    "in_app": "In the app only",
    "immediate": "By e-mail as they happen",
    "daily_digest": "By e-mail once a day (a digest at 06:00)",
}
# A user who never chose: one e-mail a day at most reaches everyone without flooding anyone.
DEFAULT_CHANNEL = "daily_digest"

MAIL_STATUSES = ("queued", "sending", "sent", "failed")
MAIL_KINDS = ("notification", "digest")


class NotificationPreference(db.Model):
    """A user's choice of channel; no row means DEFAULT_CHANNEL. Only the user sets it (last write wins: one
    field, so a stale form cannot undo anyone else's change)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(enum_column_type(tuple(NOTIFICATION_CHANNELS), "notification_channel"),
                                         nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


# Which notifications an e-mail carried (one for an immediate mail, several for a digest).
mail_notifications = sa.Table(
    "mail_notifications", db.metadata,
    sa.Column("mail_id", sa.ForeignKey("outbound_mails.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("notification_id", sa.ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class OutboundMail(db.Model):
    """One e-mail to one user, written in the transaction that caused it and sent by the `send_mail` job after
    commit: queued → sending → sent, or failed with the error (kept, never lost; the admin console lists them).
    `dedupe_key` ("notification:<id>", "digest:<user id>:<date>") makes each e-mail once."""

    __tablename__ = "outbound_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    address: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    kind: Mapped[str] = mapped_column(enum_column_type(MAIL_KINDS, "mail_kind"), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    text_body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    html_body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(enum_column_type(MAIL_STATUSES, "mail_status"), nullable=False,
                                        default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    dedupe_key: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_attempt_at: Mapped[object | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime())

    user = relationship("User", lazy="joined")
    notifications = relationship(Notification, secondary=mail_notifications, lazy="selectin", viewonly=True)

    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        sa.CheckConstraint("address <> ''", name="address_not_empty"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_at_when_sent"),
        sa.Index("ix_outbound_mails_status_created", "status", "created_at"),
    )

    def __str__(self):
        return f"{self.kind} mail #{self.id} to {self.address} ({self.status})"
