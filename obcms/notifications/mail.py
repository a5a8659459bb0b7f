"""E-mail of notifications: the transport, the messages, the outbox rows and their sending.

    init_mail(app)                          # Flask-Mailman: SMTP to MAIL_SERVER, else the log (embedded default)
    queue_immediate(notifications, addresses, session)   # notify_each: rows for "immediate" users, then
                                                         # the `send_mail` job after commit
    send_queued(mail_ids, final_attempt)    # the send_mail job: each row sent, failed or left for a retry

Rows (OutboundMail) are written in the caller's transaction; nothing is sent before it commits, and a
rolled-back change leaves neither a row nor a job. The bodies are rendered from templates/mail/ when the row
is written, so what was sent is what the row shows.
"""
import contextlib
import logging
import smtplib
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend

from ..auth.models import User
from ..db_types import utcnow
from ..errors import Unavailable
from ..extensions import db, mail
from ..jobqueue import enqueue
from .models import NotificationPreference, OutboundMail, mail_notifications

log = logging.getLogger("obcms.mail")

LOG_BACKEND = "obcms.notifications.mail.LogEmailBackend"
SUBJECT_LENGTH = 150
ERROR_LENGTH = 1000
# A row still "sending" this long after its attempt began was cut off mid-send (a worker died): it is recorded
# failed, since nobody can tell whether the server took it, rather than sent twice.
INTERRUPTED_AFTER = timedelta(hours=1)


class TransientMailError(Exception):
    """Some e-mails met a passing failure (the server away, a 4xx answer): the job is worth another attempt."""


class LogEmailBackend(BaseEmailBackend):
    """The embedded default (no MAIL_SERVER): each message is written to the `obcms.mail` log."""

    def send_messages(self, email_messages):
        for message in email_messages:
            log.info("e-mail (no MAIL_SERVER, logged instead of sent):\n%s",
                     message.message().as_bytes().decode("utf-8", "replace"))
        return len(email_messages)


def init_mail(app):
    """Bind Flask-Mailman to `app`: SMTP to MAIL_SERVER, or the log when none is configured."""
    app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else LOG_BACKEND
    mail.init_app(app)


def absolute_url(path):
    """PUBLIC_BASE_URL + an app path ("/ppas/12"): the links e-mails carry."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/" + (path or "").lstrip("/")


def endpoint_url(endpoint, **values):
    """url_for(endpoint, _external=True) on PUBLIC_BASE_URL, with or without a request (jobs have none)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def render_bodies(template, **context):
    """(text, html) of templates/mail/<template>.txt and .html; the HTML one escapes what users wrote."""
    context.update(account_url=endpoint_url("auth.account"), list_url=endpoint_url("notifications.index"))
    env = current_app.jinja_env
    return (env.get_template(f"mail/{template}.txt").render(**context),
            env.get_template(f"mail/{template}.html").render(**context))


def one_line(text, limit=SUBJECT_LENGTH):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def recipients(channels, include_default=False):
    """SELECT user id, address, display name of the active users whose channel is one of `channels` (and of
    those with no preference when `include_default`); callers add their conditions and columns."""
    channel = NotificationPreference.channel
    return (sa.select(User.id, User.email, sa.func.coalesce(sa.func.nullif(User.full_name, ""), User.username))
            .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
            .where(User.is_active.is_(True), User.email != "",
                   channel.in_(channels) | (channel.is_(None) if include_default else sa.false())))


def write_mails(mails, session):
    """Insert OutboundMail rows (dicts with a unique `dedupe_key` and a `notification_ids` list) and their links
    to the notifications, in two statements; returns the new ids."""
    if not mails:
        return []
    now = utcnow()
    rows = [{k: v for k, v in m.items() if k != "notification_ids"} | {"created_at": now, "status": "queued",
                                                                       "attempts": 0} for m in mails]
    ids = dict(session.execute(sa.insert(OutboundMail).returning(OutboundMail.dedupe_key, OutboundMail.id),
                               rows).all())
    links = [{"mail_id": ids[m["dedupe_key"]], "notification_id": n} for m in mails for n in m["notification_ids"]]
    if links:
        session.execute(sa.insert(mail_notifications), links)
    return sorted(ids.values())


def immediate_recipients(user_ids, session):
    """{user id: (address, name)} of the active users among `user_ids` who chose e-mail as it happens."""
    stmt = recipients(("immediate",)).where(User.id.in_(sorted(user_ids)))
    return {uid: (email, name) for uid, email, name in session.execute(stmt)}


def queue_immediate(notifications, addresses, session):
    """E-mail each notification (dicts: id, user_id, kind, message, url) to its user in `addresses`
    (immediate_recipients()): the rows now, the `send_mail` job after commit. Returns how many were queued."""
    mails = []
    for n in notifications:
        address, name = addresses[n["user_id"]]
        link = absolute_url(n["url"]) if n["url"] else endpoint_url("notifications.index")
        text, html = render_bodies("notification", name=name, message=n["message"], link=link, kind=n["kind"])
        mails.append(dict(user_id=n["user_id"], address=address, kind="notification", subject=one_line(n["message"]),
                          text_body=text, html_body=html, dedupe_key=f"notification:{n['id']}",
                          notification_ids=[n["id"]]))
    ids = write_mails(mails, session)
    if ids:
        enqueue_sending(ids)
    return len(ids)


def enqueue_sending(mail_ids):
    """The `send_mail` job for `mail_ids`, after commit. With the queue away the rows stay queued and the
    scheduled sweep (`send_mail` without ids) sends them: a notification never fails for want of e-mail."""
    try:
        enqueue("send_mail", mail_ids=list(mail_ids))
    except Unavailable:
        log.warning("e-mails %s wait for the next send_mail sweep: the job queue is unreachable", mail_ids)


def send_queued(mail_ids=None, final_attempt=False):
    """Send the queued e-mails `mail_ids` (every queued one when None), one at a time: each is claimed, sent
    and its outcome committed, so a row once sent is never sent again and a run that dies leaves at most one row
    "sending". A permanent refusal (5xx, a bad address) is recorded failed; a passing one (the server away, 4xx)
    leaves the row queued and raises TransientMailError at the end, for the job's retry — or, on the
    `final_attempt`, records it failed. Returns counts."""
    counts = Counter(sent=0, failed=0, retrying=0)
    if mail_ids is None:
        counts["interrupted"] = _fail_interrupted()
    queued = sa.select(OutboundMail.id).where(OutboundMail.status == "queued").order_by(OutboundMail.id)
    if mail_ids is not None:
        queued = queued.where(OutboundMail.id.in_([int(i) for i in mail_ids]))
    connection = mail.get_connection()
    last_error = None
    try:
        for mail_id in db.session.scalars(queued).all():
            if not _claim(mail_id):
                continue  # a concurrent run took it
            row = db.session.get(OutboundMail, mail_id)
            error = _send(connection, row)
            if error is None:
                outcome, row.status, row.sent_at = "sent", "sent", utcnow()
            elif final_attempt or not is_transient(error):
                outcome, row.status, row.last_error = "failed", "failed", describe(error)
            else:
                outcome, row.status, row.last_error = "retrying", "queued", describe(error)
                last_error = row.last_error
            counts[outcome] += 1
            db.session.commit()
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    if counts["retrying"]:
        raise TransientMailError(f"{counts['retrying']} e-mail(s) wait for another attempt: {last_error}")
    return dict(counts)


def _claim(mail_id):
    """Mark the row "sending" (one attempt more) if it is still queued, and commit: True when this run has it."""
    claimed = db.session.execute(
        sa.update(OutboundMail).where(OutboundMail.id == mail_id, OutboundMail.status == "queued")
        .values(status="sending", attempts=OutboundMail.attempts + 1, last_attempt_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def _fail_interrupted():
    """Rows left "sending" by a run that died are recorded failed (never sent twice); returns how many."""
    result = db.session.execute(
        sa.update(OutboundMail)
        .where(OutboundMail.status == "sending", OutboundMail.last_attempt_at < utcnow() - INTERRUPTED_AFTER)
        .values(status="failed", last_error="Interrupted while sending: it may or may not have been delivered.")
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


def _send(connection, row):
    """Send one row through the open connection; the exception when it failed, else None."""
    message = EmailMultiAlternatives(row.subject, row.text_body, current_app.config["MAIL_DEFAULT_SENDER"],
                                     [row.address], connection=connection)
    message.attach_alternative(row.html_body, "text/html")
    try:
        connection.open()
        connection.send_messages([message])
    except Exception as error:  # classified by is_transient; the connection starts afresh for the next row
        with contextlib.suppress(Exception):
            connection.close()
        return error
    return None


def is_transient(error):
    """True for a failure a later attempt may not meet: no connection, a timeout, a 4xx answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, OSError)  # refused, reset, timed out, disconnected (smtplib's errors are OSErrors)


def describe(error):
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_LENGTH else text[:ERROR_LENGTH - 1] + "…"
