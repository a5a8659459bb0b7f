"""E-mail of notifications through a real SMTP server (aiosmtpd, started here): immediate mails after commit,
the log without MAIL_SERVER, retries of passing failures, permanent refusals recorded, the daily digest, and
the account page's choice of channel."""
import email
import logging
import socket
from datetime import timedelta
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from obcms.db_types import utcnow
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from obcms.notifications import notify
from obcms.notifications.digest import queue_digests
from obcms.notifications.mail import init_mail, send_queued
from obcms.notifications.models import Notification, NotificationPreference, OutboundMail, mail_notifications
from obcms.notifications.services import channel_of, mark_read, set_channel

BASE = "https://obcms.example.gov.ph"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: what arrived (parsed), and RCPT answers to give first (`refusals`, one per try)."""

    def __init__(self):
        self.messages = []
        self.refusals = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def configure_mail(app):
    """configure_mail(MAIL_SERVER=…, MAIL_PORT=…): the app's MAIL_* for this test (restored after)."""
    saved = {key: app.config.get(key) for key in ("MAIL_SERVER", "MAIL_PORT")}

    def configure(**settings):
        app.config.update(settings)
        init_mail(app)

    yield configure
    configure(**saved)


@pytest.fixture
def inbox(configure_mail):
    """A real SMTP server on a free local port, with MAIL_* pointed at it; its Inbox holds what arrived."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    configure_mail(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield handler
    controller.stop()


def parts(message):
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


def mails(**where):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboundMail).filter_by(**where).order_by(OutboundMail.id)).all()


def send_runs():
    db.session.expire_all()
    return db.session.scalars(sa.select(JobRun).where(JobRun.name == "send_mail").order_by(JobRun.id)).all()


def test_an_approval_through_http_mails_the_reviewer_after_commit(ready_ppa, client_as, users, csrf_token, inbox):
    analyst = users["mfbm_analyst"]
    set_channel(analyst, "immediate")
    ppa = ready_ppa(title="Kits <b>for</b> Datu Piang & Co")
    db.session.commit()
    client = client_as("moa_staff")
    response = client.post(f"/workflow/ppa/{ppa.id}/submit", data={"version": ppa.version},
                           headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200

    [message] = inbox.messages
    assert message.envelope_to == [analyst.email] and message["To"] == analyst.email
    assert message["From"] == "obcms <no-reply@localhost>"
    assert "waits for your technical review" in message["Subject"]
    text, html = parts(message)
    link = f"{BASE}/ppas/{ppa.id}/approval"
    assert "Kits <b>for</b> Datu Piang & Co" in text and link in text
    assert "Kits &lt;b&gt;for&lt;/b&gt; Datu Piang &amp; Co" in html and "<b>for</b>" not in html
    assert f'href="{link}"' in html
    assert f"{BASE}/account" in text and f'href="{BASE}/account"' in html
    [row] = mails(user_id=analyst.id)
    assert (row.status, row.attempts, row.kind, row.address) == ("sent", 1, "notification", analyst.email)
    assert [n.user_id for n in row.notifications] == [analyst.id]
    assert [r.status for r in send_runs()] == ["succeeded"]


def test_nothing_is_mailed_before_commit_nor_after_a_rollback(users, inbox):
    set_channel(users["viewer"], "immediate")
    db.session.commit()
    with db.session.begin_nested():
        notify([users["viewer"].id], "approval", "rolled back")
        assert len(mails()) == 1 and inbox.messages == []
        db.session.rollback()
    db.session.commit()
    assert mails() == [] and send_runs() == [] and inbox.messages == []


def test_users_who_chose_the_app_or_the_digest_get_no_immediate_mail(users, inbox, count_queries):
    set_channel(users["viewer"], "in_app")
    set_channel(users["moa_staff"], "immediate")
    with count_queries() as q:
        notify([users["viewer"].id, users["admin"].id, users["moa_staff"].id], "approval", "PPA-1 moved",
               url="/ppas/1")
    # who wants e-mail now; the notifications; the mail; its link; the JobRun
    assert q.count == 5
    db.session.commit()
    assert [m["To"] for m in inbox.messages] == [users["moa_staff"].email]


def test_inactive_users_get_no_mail(users, inbox):
    viewer = users["viewer"]
    set_channel(viewer, "immediate")
    viewer.is_active = False
    db.session.flush()
    assert notify([viewer.id], "approval", "Nobody reads this") == 1
    db.session.commit()
    assert queue_digests() == {"digests": 0, "notifications": 0}
    assert mails() == [] and inbox.messages == []


def test_without_mail_server_the_mail_is_written_to_the_log(users, caplog):
    set_channel(users["viewer"], "immediate")
    with caplog.at_level(logging.INFO, logger="obcms.mail"):
        notify([users["viewer"].id], "approval", "Logged, not sent", url="/ppas/7")
        db.session.commit()
    [row] = mails()
    assert row.status == "sent"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "obcms.mail")
    assert "no MAIL_SERVER" in logged and f"To: {users['viewer'].email}" in logged
    assert "Subject: Logged, not sent" in logged and f"{BASE}/ppas/7" in logged


def test_smtp_down_is_retried_then_recorded_failed(users, configure_mail):
    configure_mail(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    set_channel(users["viewer"], "immediate")
    notify([users["viewer"].id], "approval", "Nobody answers")
    db.session.commit()
    [row] = mails()
    assert (row.status, row.attempts, row.sent_at) == ("failed", 4, None)  # JOB_MAX_RETRIES 3: 1 + 3 tries
    assert "ConnectionRefusedError" in row.last_error
    [run] = send_runs()
    assert run.attempts == 4 and run.counts == {"sent": 0, "failed": 1, "retrying": 0}


def test_a_4xx_answer_is_retried_and_the_mail_arrives_once(users, inbox):
    inbox.refusals = ["451 4.3.0 Mailbox busy, try again later"]
    set_channel(users["viewer"], "immediate")
    notify([users["viewer"].id], "approval", "Second time lucky")
    db.session.commit()
    assert [m["Subject"] for m in inbox.messages] == ["Second time lucky"]
    [row] = mails()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    [run] = send_runs()
    assert run.attempts == 2 and run.status == "succeeded"

    assert send_queued([row.id]) == {"sent": 0, "failed": 0, "retrying": 0}  # sent once, never again
    assert len(inbox.messages) == 1


def test_a_5xx_answer_is_recorded_failed_without_retrying(users, inbox):
    inbox.refusals = ["550 5.1.1 No such mailbox"]
    set_channel(users["viewer"], "immediate")
    notify([users["viewer"].id], "approval", "Nobody home")
    db.session.commit()
    [row] = mails()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    [run] = send_runs()
    assert run.attempts == 1 and run.counts["failed"] == 1
    assert inbox.messages == []


def test_the_sweep_sends_rows_whose_job_never_ran_and_fails_interrupted_ones(users, inbox):
    set_channel(users["viewer"], "immediate")
    notify([users["viewer"].id], "approval", "Waiting in the outbox")
    waiting = mails()[0]
    db.session.execute(sa.delete(JobRun))  # as if the queue had been away: the row only
    stuck = OutboundMail(address="x@example.gov.ph", kind="notification", subject="s", text_body="t", dedupe_key="k",
                         html_body="h", status="sending", attempts=1, last_attempt_at=utcnow() - timedelta(hours=2))
    db.session.add(stuck)
    db.session.commit()
    assert mails(status="queued") == [waiting] and inbox.messages == []
    assert send_queued() == {"sent": 1, "failed": 0, "retrying": 0, "interrupted": 1}
    assert [m["Subject"] for m in inbox.messages] == ["Waiting in the outbox"]
    assert db.session.get(OutboundMail, stuck.id).status == "failed"


def test_the_daily_digest_groups_unread_notifications_once_per_user_per_day(users, inbox):
    staff, viewer, analyst, moa = users["oobc_staff"], users["viewer"], users["mfbm_analyst"], users["moa_staff"]
    set_channel(viewer, "in_app")
    set_channel(analyst, "immediate")
    set_channel(moa, "daily_digest")
    notify([staff.id, viewer.id, analyst.id], "approval", "PPA-1 waits for <review>", url="/ppas/1")
    notify([staff.id], "progress", "PPA-2 moved to 40 %", url="/ppas/2")
    notify([staff.id], "progress", "Already read")
    mark_read(staff, [db.session.scalar(sa.select(Notification.id).where(Notification.message == "Already read"))])
    db.session.commit()
    assert [m["To"] for m in inbox.messages] == [analyst.email]  # immediate: mailed already, not in a digest
    inbox.messages.clear()

    run = enqueue("send_mail_digest")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).counts == {"digests": 1, "notifications": 2}
    [message] = inbox.messages  # staff (no preference: the default digest); moa_staff has nothing new
    assert message["To"] == staff.email and message["Subject"].startswith("obcms: 2 new notifications")
    text, html = parts(message)
    assert text.index("PPA-2 moved") < text.index("PPA-1 waits for <review>")  # newest first
    assert f"{BASE}/ppas/1" in text and f"{BASE}/ppas/2" in text and "Already read" not in text
    assert "PPA-1 waits for &lt;review&gt;" in html and f'href="{BASE}/ppas/2"' in html
    assert f"{BASE}/notifications" in text
    [row] = mails(kind="digest")
    assert row.status == "sent" and sorted(n.message for n in row.notifications) == [
        "PPA-1 waits for <review>", "PPA-2 moved to 40 %"]

    notify([staff.id], "approval", "Later the same day")
    assert queue_digests() == {"digests": 0, "notifications": 0}  # one per user per day
    assert queue_digests(now=utcnow() + timedelta(days=1)) == {"digests": 1, "notifications": 1}
    assert queue_digests(now=utcnow() + timedelta(days=2)) == {"digests": 0, "notifications": 0}  # nothing new
    db.session.commit()
    assert [m["Subject"].split(" (")[0] for m in inbox.messages[1:]] == ["obcms: 1 new notification"]
    linked = db.session.execute(sa.select(sa.func.count()).select_from(mail_notifications)).scalar()
    assert linked == 1 + 2 + 1  # analyst's immediate, the two digests


def test_the_digest_runs_a_constant_number_of_statements(users, count_queries):
    for n in range(3):
        notify([u.id for u in users.values()], "approval", f"Message {n}", url=f"/ppas/{n}")
    with count_queries() as q:
        assert queue_digests() == {"digests": len(users), "notifications": 3 * len(users)}
    # the pending notifications with their users; today's digests already made; the mails; their links; the job
    assert q.count == 5


def test_the_account_page_offers_the_channel_and_saves_it(client_as, users, csrf_token, count_queries):
    client = client_as("viewer")
    client.get("/account")
    with count_queries() as q:
        page = client.get("/account").get_data(as_text=True)
    assert q.count <= 5  # the user (with the sign-in), the sign-ins, the feeds, the API tokens, the channel
    assert 'id="notifications"' in page and '<option selected value="daily_digest">' in page
    token = csrf_token(client)

    response = client.post("/account/notifications", data={"channel": "immediate", "csrf_token": token},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section class="card" id="notifications">') and "<html" not in fragment
    assert '<option selected value="immediate">' in fragment and "Saved." in fragment
    db.session.expire_all()
    assert channel_of(users["viewer"]) == "immediate"

    response = client.post("/account/notifications", data={"channel": "in_app", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/account#notifications")
    db.session.expire_all()
    assert channel_of(users["viewer"]) == "in_app"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 1


@pytest.mark.parametrize("channel", ["", "weekly", "x" * 5000, "immediate\x00"])
def test_the_channel_form_refuses_what_is_not_a_choice_and_changes_nothing(client_as, users, csrf_token, channel):
    client = client_as("viewer")
    response = client.post("/account/notifications", data={"channel": channel, "csrf_token": csrf_token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code in (400, 422)
    if response.status_code == 422:
        html = response.get_data(as_text=True)
        assert 'aria-invalid="true"' in html and 'class="field-error"' in html
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 0


def test_the_channel_form_needs_csrf(client_as):
    response = client_as("viewer").post("/account/notifications", data={"channel": "immediate"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 0


def test_the_admin_console_lists_failed_mails_read_only(client_as, users):
    db.session.add(OutboundMail(user_id=users["viewer"].id, address=users["viewer"].email, kind="notification",
                                subject="Bounced <mail>", text_body="t", html_body="h", status="failed",
                                attempts=1, last_error="SMTPRecipientsRefused: 550", dedupe_key="k"))
    db.session.commit()
    client = client_as("admin")
    html = client.get("/admin/outboundmail/?flt0_status_equals=failed").get_data(as_text=True)
    assert "Bounced &lt;mail&gt;" in html and "SMTPRecipientsRefused: 550" in html
    mail_id = mails()[0].id
    details = client.get(f"/admin/outboundmail/details/?id={mail_id}").get_data(as_text=True)
    assert "Bounced &lt;mail&gt;" in details and users["viewer"].email in details
    assert client.get("/admin/outboundmail/new/").status_code in (302, 403, 404)
    assert client_as("oobc_staff").get("/admin/outboundmail/").status_code == 403
