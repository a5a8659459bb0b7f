"""Sixteen people book one room for overlapping times at the same moment, each through the booking form with a
signed-in client of their own, on PostgreSQL with committed data: exactly one booking is made, the fifteen
others hear (409) who is in the way, nobody gets a 5xx — the exclusion constraint decides, not luck.
A correctness test, not a benchmark."""
import re
import threading

import pytest
import sqlalchemy as sa

from obcms.calendar.recurrence import MANILA as TIMEZONE

CLIENTS = 16
TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def _setup(app):
    """Committed: an organization, one staff user per client (signed in, each with a client), a room."""
    from obcms.audit.context import acting_as
    from obcms.auth import services as auth_services
    from obcms.calendar.models import Resource
    from obcms.extensions import db
    from tests.conftest import sign_in

    with app.app_context(), acting_as("test:setup"):
        db.create_all()
        org = auth_services.create_organization("Race Office", "RACE", "oobc")
        users = [auth_services.create_user(f"booker{i}", f"booker{i}@example.gov.ph", "a-long-password-123",
                                           "oobc_staff", org, full_name=f"Booker {i}") for i in range(CLIENTS)]
        room = Resource(name="Conference Room A", kind="room", capacity=20)
        db.session.add(room)
        db.session.flush()
        clients = [sign_in(app.test_client(), user) for user in users]
        db.session.commit()
        room_id = room.id
    tokens = [TOKEN.search(client.get("/").get_data(as_text=True)).group(1) for client in clients]
    return room_id, clients, tokens


@pytest.mark.postgres
@pytest.mark.committed
def test_sixteen_clients_booking_one_room_at_once_make_exactly_one_booking():
    from config import TestingConfig
    from obcms import create_app
    from obcms.calendar.models import Booking
    from obcms.extensions import db
    from tests.databases import create_database, drop_database

    url = create_database("obcms_booking_race")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url,
                     SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": CLIENTS + 2, "max_overflow": 4})
    try:
        room_id, clients, tokens = _setup(app)
        start = threading.Barrier(CLIENTS)
        answers = [None] * CLIENTS

        def book(i):
            # Every range overlaps every other: starts 09:00–10:15, ends 11:00–12:15.
            minutes = 5 * i
            form = {"csrf_token": tokens[i], "title": f"Meeting {i}", "date": "2026-12-08",
                    "start_time": f"{9 + minutes // 60:02d}:{minutes % 60:02d}",
                    "end_time": f"{11 + minutes // 60:02d}:{minutes % 60:02d}"}
            start.wait(timeout=60)
            try:
                response = clients[i].post(f"/calendar/resources/{room_id}/book", data=form)
                answers[i] = (response.status_code, response.get_data(as_text=True))
            except Exception as error:  # the app's 500 handler should stop this; count it as one
                answers[i] = (599, repr(error))

        threads = [threading.Thread(target=book, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        statuses = sorted(status for status, _ in answers)
        assert [s for s in statuses if s >= 500] == [], [body[:500] for status, body in answers if status >= 500]
        assert statuses.count(303) == 1 and statuses.count(409) == CLIENTS - 1, statuses
        with app.app_context():
            made = db.session.scalars(sa.select(Booking)).all()
            assert len(made) == 1 and made[0].status == "approved"
            winner = made[0]
            who = f"Booker {winner.title.split()[-1]}"
            span = f"{winner.starts_at.astimezone(TIMEZONE):%H:%M}–{winner.ends_at.astimezone(TIMEZONE):%H:%M}"
        expected = f"Conference Room A is booked {span} on 8 Dec 2026 by {who}."
        refused = [body for status, body in answers if status == 409]
        assert all(expected in body for body in refused), [re.findall(r"Conference Room A is booked[^<]*", body)
                                                            for body in refused]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)

