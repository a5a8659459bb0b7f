"""Send notifications, count and list a user's, mark them read. Never commits (the caller does).

    notify([user.id, other.id], "approval", "PPA-12 was approved", url="/ppas/12/approval")
    notify_each([([user.id], "progress", "PPA-12 moved to 40 %", "/ppas/12"), …])   # one INSERT for all
    unread_count(current_user)                 # one query
    mark_read(current_user, [3, 4]); mark_all_read(current_user)

    channel_of(user); set_channel(user, "daily_digest")   # the user's choice: NOTIFICATION_CHANNELS

Rows are added in the caller's transaction, so a rolled-back change sends nothing: the e-mails (mail.py) are
rows in it too, and the job that sends them starts after commit.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..db_types import utcnow
from ..errors import ValidationFailed
from ..extensions import db
from . import mail
from .models import DEFAULT_CHANNEL, NOTIFICATION_CHANNELS, Notification, NotificationPreference

MESSAGE_LENGTH = 1000
PAGE_SIZE = 20


def notify(user_ids, kind, message, url=None, session=None):
    """One notification per distinct user id (None ignored), in one INSERT; returns how many were added."""
    return notify_each([(user_ids, kind, message, url)], session=session)


def notify_each(messages, session=None):
    """Many notify() calls in one INSERT (jobs notifying about many objects): messages = [(user_ids, kind,
    message, url), …]. Users who chose e-mail "immediate" get one each too (obcms/notifications/mail.py: rows
    now, sent by a job after commit). Returns how many notifications were added."""
    session = session or db.session
    now = utcnow()
    rows = []
    for user_ids, kind, message, url in messages:
        text = message if len(message) <= MESSAGE_LENGTH else message[:MESSAGE_LENGTH - 1] + "…"
        rows.extend(dict(user_id=i, kind=kind, message=text, url=url, created_at=now)
                    for i in sorted({int(i) for i in user_ids if i is not None}))
    if not rows:
        return 0
    recipients = mail.immediate_recipients({r["user_id"] for r in rows}, session)
    if not recipients:
        session.execute(sa.insert(Notification), rows)
        return len(rows)
    added = session.execute(sa.insert(Notification).returning(
        Notification.id, Notification.user_id, Notification.kind, Notification.message, Notification.url), rows)
    mail.queue_immediate([n._asdict() for n in added if n.user_id in recipients], recipients, session)
    return len(rows)


def unread_count(user, session=None):
    session = session or db.session
    return session.scalar(sa.select(sa.func.count()).select_from(Notification)
                          .where(Notification.user_id == user.id, Notification.read_at.is_(None)))


def recent(user, unread_only=False, limit=PAGE_SIZE, session=None):
    """The user's notifications, unread first then newest first (one query)."""
    session = session or db.session
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.read_at.is_not(None), Notification.created_at.desc(),
                         Notification.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def mark_read(user, ids, session=None):
    """Mark the user's own notifications `ids` read (others' ids are ignored); returns how many changed."""
    session = session or db.session
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    return _mark(user, Notification.id.in_(ids), session)


def mark_all_read(user, session=None):
    return _mark(user, sa.true(), session or db.session)


def _mark(user, condition, session):
    result = session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), condition)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount


def channel_of(user, session=None):
    """The user's channel (NOTIFICATION_CHANNELS), DEFAULT_CHANNEL when they never chose (one query)."""
    session = session or db.session
    chosen = session.scalar(sa.select(NotificationPreference.channel)
                            .where(NotificationPreference.user_id == user.id))
    return chosen or DEFAULT_CHANNEL


def set_channel(user, channel, session=None):
    """Record the user's choice of channel; an unknown one is a ValidationFailed on the `channel` field."""
    session = session or db.session
    if channel not in NOTIFICATION_CHANNELS:
        raise ValidationFailed(errors={"channel": ["Choose one of the ways listed."]})
    # One statement whatever is there already, so two submits at once both succeed (the last one wins).
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"channel": channel, "updated_at": utcnow()}
    session.execute(insert(NotificationPreference).values(user_id=user.id, **values)
                    .on_conflict_do_update(index_elements=["user_id"], set_=values))
