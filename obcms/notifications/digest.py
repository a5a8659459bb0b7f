"""The daily digest: one e-mail per user who chose it (or never chose: DEFAULT_CHANNEL), listing their unread
notifications that no e-mail carried yet, from the last DIGEST_DAYS days.

    queue_digests()    # the send_mail_digest job: rows in its transaction, `send_mail` after commit

Nothing new → no e-mail. At most one digest per user per day (Manila date), whatever the number of runs: the
row's dedupe key says so and the database holds it unique. A notification once carried by any e-mail (an
immediate one, or an earlier digest) is never listed again.
"""
from datetime import timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..db_types import utcnow
from ..extensions import db
from ..templating import local_time
from .mail import absolute_url, enqueue_sending, recipients, render_bodies, write_mails
from .models import Notification, OutboundMail, mail_notifications

DIGEST_DAYS = 7
DIGEST_LINES = 50  # listed in the e-mail; the rest are counted, with the link to the list


def digest_key(user_id, day):
    return f"digest:{user_id}:{day.isoformat()}"


def queue_digests(session=None, now=None):
    """Write today's digests and start `send_mail` after commit. Returns counts: digests, notifications."""
    session = session or db.session
    now = now or utcnow()
    today = local_time(now).date()
    carried = sa.exists().where(mail_notifications.c.notification_id == Notification.id)
    pending = session.execute(
        recipients(("daily_digest",), include_default=True).add_columns(Notification)
        .join(Notification, Notification.user_id == User.id)
        .where(Notification.read_at.is_(None), Notification.created_at >= now - timedelta(days=DIGEST_DAYS),
               ~carried)
        .order_by(Notification.user_id, Notification.created_at.desc(), Notification.id.desc())).all()
    by_user = {}
    for user_id, address, name, notification in pending:
        by_user.setdefault(user_id, (address, name, []))[2].append(notification)
    done = set(session.scalars(sa.select(OutboundMail.dedupe_key).where(
        OutboundMail.dedupe_key.in_([digest_key(u, today) for u in by_user]))))
    mails = [_digest(user_id, address, name, notifications, today)
             for user_id, (address, name, notifications) in by_user.items() if digest_key(user_id, today) not in done]
    ids = write_mails(mails, session)
    if ids:
        enqueue_sending(ids)
    return {"digests": len(ids), "notifications": sum(len(m["notification_ids"]) for m in mails)}


def _digest(user_id, address, name, notifications, day):
    """The row of one user's digest (newest first), carrying every notification it counts."""
    count = len(notifications)
    lines = [(n, absolute_url(n.url) if n.url else None) for n in notifications[:DIGEST_LINES]]
    text, html = render_bodies("digest", name=name, lines=lines, more=count - len(lines), day=day)
    subject = f"obcms: {count} new notification{'' if count == 1 else 's'} ({day:%d %B %Y})"
    return dict(user_id=user_id, address=address, kind="digest", subject=subject, text_body=text, html_body=html,
                dedupe_key=digest_key(user_id, day), notification_ids=[n.id for n in notifications])
