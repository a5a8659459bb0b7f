"""PostgreSQL unreachable, or accepting connections and never answering: signed-in pages answer a 503 page
("the database is unavailable") within the connect timeout, never a bare 500, and /health says why."""
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from flask_login.utils import _create_identifier

from config import TestingConfig
from obcms import create_app
from obcms.extensions import db

# Apps of their own, on a database that is not there: not the suite's rolled-back session.
pytestmark = pytest.mark.committed


def outage_app(url):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, DATABASE_CONNECT_TIMEOUT=2)


def signed_in(app):
    """A client whose session names a user, so the first thing a page does is load that user."""
    client = app.test_client()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": client.environ_base.get("HTTP_USER_AGENT", "")}):
        identifier = _create_identifier()  # as Flask-Login's strong session protection expects it
    with client.session_transaction() as session:
        session.update({"_user_id": "1:token:1:secret", "_fresh": True, "_id": identifier})
    return client


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (a hung database)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.parametrize("path", ["/", "/ppas", "/work-items/"])
def test_an_unreachable_database_is_a_503_page(path):
    app = outage_app("postgresql+psycopg://postgres@127.0.0.1:1/obcms")  # nothing listens there
    response = signed_in(app).get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "The database is unavailable" in html and "<html" in html
    problem = signed_in(app).get(path, headers={"Accept": "application/json"})
    assert problem.status_code == 503 and problem.get_json()["error"] == "database_unavailable"
    assert app.test_client().get("/health").status_code == 503


def test_any_error_page_is_drawn_while_the_database_is_away():
    app = outage_app("postgresql+psycopg://postgres@127.0.0.1:1/obcms")
    response = signed_in(app).get("/no-such-page")  # its header would load the signed-in user
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(silent_server):
    app = outage_app(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/obcms")
    started = time.monotonic()
    response = signed_in(app).get("/ppas")
    assert response.status_code == 503 and "The database is unavailable" in response.get_data(as_text=True)
    assert time.monotonic() - started < 10  # the connect timeout (2 s, per attempt), not the OS's minutes



@pytest.mark.postgres
def test_a_connection_dropped_mid_request_still_answers(app):
    """PostgreSQL restarted while a request ran: the page was made; the session's closing ROLLBACK then fails on
    the dead connection. The answer still goes out, and the next request reconnects."""
    with app.app_context():
        other = db.engine.connect()
    try:
        with app.app_context():  # a request's context: its teardown closes the session
            pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            time.sleep(0.1)
    finally:
        other.close()
    with app.app_context():
        assert db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid


def test_a_transaction_broken_earlier_in_the_session_is_a_503_not_a_500():
    """SQLAlchemy's PendingRollbackError (a connection lost earlier in this session, as in a restart) is the
    database's trouble: the 503 page, drawn for an anonymous visitor."""
    app = outage_app("sqlite://")
    with app.test_request_context("/ppas"):
        response = app.make_response(app.handle_user_exception(sa.exc.PendingRollbackError("invalid transaction")))
    assert response.status_code == 503
    assert "The database is unavailable" in response.get_data(as_text=True)


def test_a_session_that_fails_to_close_leaves_the_registry(monkeypatch):
    """Whatever error closing the session raises, the session is not left behind for a later request whose
    context happens to get the same id (it would meet the broken transaction: a 500)."""
    app = outage_app("sqlite://")
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        assert db.session.registry.has()

        def broken_close():
            monkeypatch.undo()  # once: SQLAlchemy may close it again while throwing it away
            raise sa.exc.PendingRollbackError("invalid transaction")

        monkeypatch.setattr(db.session.registry(), "close", broken_close)
    with app.app_context():
        assert not db.session.registry.has()
