"""Send notifications, count and list a user's, mark them read. Never commits (the caller does).

    notify([user.id, other.id], "approval", "PPA-12 was approved", url="/ppas/12/approval")
    notify_each([([user.id], "progress", "PPA-12 moved to 40 %", "/ppas/12"), …])   # one INSERT for all
    unread_count(current_user)                 # one query
    mark_read(current_user, [3, 4]); mark_all_read(current_user)

Rows are added in the caller's transaction, so a rolled-back change sends nothing. There is no e-mail
channel yet; when one arrives it is sent from obcms.transaction.after_commit, never inside the transaction.
"""
import sqlalchemy as sa

from ..db_types import utcnow
from ..extensions import db
from .models import Notification

MESSAGE_LENGTH = 1000
PAGE_SIZE = 20


def notify(user_ids, kind, message, url=None, session=None):
    """One notification per distinct user id (None ignored), in one INSERT; returns how many were added."""
    return notify_each([(user_ids, kind, message, url)], session=session)


def notify_each(messages, session=None):
    """Many notify() calls in one INSERT (jobs notifying about many objects): messages = [(user_ids, kind,
    message, url), …]. Returns how many notifications were added."""
    session = session or db.session
    now = utcnow()
    rows = []
    for user_ids, kind, message, url in messages:
        text = message if len(message) <= MESSAGE_LENGTH else message[:MESSAGE_LENGTH - 1] + "…"
        rows.extend(dict(user_id=i, kind=kind, message=text, url=url, created_at=now)
                    for i in sorted({int(i) for i in user_ids if i is not None}))
    if rows:
        session.execute(sa.insert(Notification), rows)
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
