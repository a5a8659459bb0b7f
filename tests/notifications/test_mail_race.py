"""Four `send_mail` runs at once over the same queued e-mails, on PostgreSQL with committed rows and a real
SMTP server: every e-mail arrives exactly once (each row is claimed by one run). A correctness test."""
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from config import TestingConfig
from obcms import create_app
from obcms.extensions import db
from obcms.notifications.mail import send_queued, write_mails
from obcms.notifications.models import OutboundMail
from tests.databases import create_database, drop_database
from tests.notifications.test_mail import Inbox, free_port

RUNS = 4
MAILS = 24


@pytest.mark.postgres
@pytest.mark.committed
def test_concurrent_runs_send_each_mail_once():
    url = create_database("obcms_mail_race")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": RUNS + 2})
    try:
        with app.app_context():
            db.create_all()
            write_mails([dict(address=f"person{n}@example.gov.ph", kind="notification", subject=f"Mail {n}",
                              text_body="t", html_body="<p>h</p>", dedupe_key=f"race:{n}", notification_ids=[])
                         for n in range(MAILS)], db.session)
            db.session.commit()
        start = threading.Barrier(RUNS)
        results = [None] * RUNS

        def run(i):
            with app.app_context():
                start.wait(timeout=60)
                results[i] = send_queued()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(RUNS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert sum(r["sent"] for r in results) == MAILS, results
        assert sorted(m["Subject"] for m in inbox.messages) == sorted(f"Mail {n}" for n in range(MAILS))
        with app.app_context():
            rows = db.session.execute(sa.select(OutboundMail.status, OutboundMail.attempts)).all()
            assert set(rows) == {("sent", 1)}
    finally:
        controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
