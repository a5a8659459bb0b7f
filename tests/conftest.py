"""Fixtures: the app on a database made for this run, each test in a rolled-back transaction, clients signed
in as each role, small factories and a query counter."""
import contextlib
import contextvars
import os

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker

from config import TestingConfig
from obcms import create_app
from obcms.auth import services as auth_services
from obcms.auth.models import ROLES, Organization, User
from obcms.auth.sessions import start_sign_in
from obcms.extensions import cache, db
from obcms.ops.maintenance import OFF, remember_maintenance_state
from tests.databases import backend, create_database, drop_database

TEST_PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(config, items):
    on_postgres = backend() == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    skip_redis = pytest.mark.skip(reason="needs Redis (set REDIS_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def database_url():
    url = create_database()
    yield url
    drop_database(url)


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh `g`, its own session), as in production, even though the
    test itself runs inside an app context."""

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            return super(IsolatedClient, self).open(*args, **kwargs)

        return contextvars.copy_context().run(run)


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        _load_base_data()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _load_base_data():
    """Committed once per run: the organizations and one user per role (tests roll back their own changes)."""
    oobc = auth_services.create_organization("Office for Other Bangsamoro Communities", "OOBC", "oobc")
    moa = auth_services.create_organization("Ministry of Social Services and Development", "MSSD", "moa")
    other_moa = auth_services.create_organization("Ministry of Health", "MOH", "moa")
    mfbm = auth_services.create_organization("Ministry of Finance, and Budget and Management", "MFBM", "oversight")
    bpda = auth_services.create_organization("Bangsamoro Planning and Development Authority", "BPDA", "oversight")
    home = {"admin": oobc, "oobc_executive": oobc, "oobc_staff": oobc, "moa_staff": moa,
            "mfbm_analyst": mfbm, "bpda_planner": bpda, "viewer": moa}
    for role in ROLES:
        auth_services.create_user(role, f"{role}@example.gov.ph", TEST_PASSWORD, role, home[role],
                                  full_name=role.replace("_", " ").title())
    auth_services.create_user("other_moa_staff", "other_moa@example.gov.ph", TEST_PASSWORD, "moa_staff", other_moa)


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Each test runs inside a transaction that is rolled back at the end (commits become savepoints). Each
    starts with maintenance mode off in the app's copy of the switch, so no page reads it (exact counts)."""
    remember_maintenance_state(OFF, app)
    if "committed" in request.keywords:
        yield None
        return
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=True),
            scopefunc=_app_ctx_id)
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()
            cache.clear()  # cached searches of rows this rollback took away


@pytest.fixture
def users(db_session):
    """One user per role (by role name), plus 'other_moa_staff' of another MOA."""
    rows = db.session.scalars(sa.select(User)).all()
    return {u.username: u for u in rows}


@pytest.fixture
def organizations(db_session):
    return {o.acronym: o for o in db.session.scalars(sa.select(Organization))}


def sign_in(client, user):
    """Sign the user in for this client the way the sign-in page does (a SignIn row, the session as
    Flask-Login writes it, with session protection's id)."""
    from flask_login.utils import _create_identifier

    start_sign_in(user, "test client", "127.0.0.1")

    app = client.application
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": client.environ_base.get("HTTP_USER_AGENT", "")}):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_id"] = identifier
    return client


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def client_as(app, users):
    """client_as("moa_staff") → a test client signed in as that user."""

    def make(username):
        return sign_in(app.test_client(), users[username])

    return make


@pytest.fixture
def csrf_token(app):
    """Fetch a real CSRF token for a signed-in client (from any page's hx-headers)."""
    import re

    def token(client):
        html = client.get("/").get_data(as_text=True)
        return re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)

    return token


class QueryCounter:
    def __init__(self):
        self.statements = []

    @property
    def count(self):
        return len(self.statements)


IGNORED_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK")


@pytest.fixture
def count_queries(app):
    """with count_queries() as q: …; assert q.count <= 5  — counts SQL statements (not savepoints)."""

    @contextlib.contextmanager
    def counting():
        counter = QueryCounter()
        with app.app_context():
            target = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(IGNORED_STATEMENTS):
                counter.statements.append(statement)

        event.listen(target, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(target, "before_cursor_execute", before)

    return counting
