"""`flask obcms check-deploy`: a production-like installation (PostgreSQL at the migrations' head, Redis with an
RQ worker's heartbeat, mail, TLS proxy, secure cookies) passes; each wrong setting, one at a time, fails with its
one line; risky ones are listed without failing."""
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import stamp, upgrade
from rq import Queue, Worker
from rq.utils import utcformat

from config import ProductionConfig, TestingConfig
from obcms import create_app
from obcms.extensions import db
from obcms.jobqueue.queue import redis_connection
from obcms.ops import deploy_check
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.committed  # apps and databases of their own

MANILA_OFFSET = timedelta(hours=8)


def check_deploy(app):
    result = app.test_cli_runner().invoke(args=["obcms", "check-deploy"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout.splitlines()


@pytest.fixture(autouse=True)
def clock_in_manila(monkeypatch):
    """The machine's zone cannot be changed by a test: its offset is the one thing faked."""
    monkeypatch.setattr(deploy_check, "local_utc_offset", lambda: datetime.now(ZoneInfo("Asia/Manila")).utcoffset())


@pytest.fixture(scope="module")
def installation():
    """A PostgreSQL database migrated to head, and an RQ worker registered (birth and heartbeat) on a queue of
    this module's own in the test Redis. Yields the production settings that use them."""
    url = create_database("obcms_deploy")
    queue_name = f"obcms_deploy_{uuid.uuid4().hex[:10]}"
    migrator = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    connection = redis_connection(os.environ["REDIS_URL"])
    worker = Worker([Queue(queue_name, connection=connection)], connection=connection)
    try:
        with migrator.app_context():
            upgrade()
        worker.register_birth()
        worker.heartbeat()
        yield dict(SQLALCHEMY_DATABASE_URI=url, REDIS_URL=os.environ["REDIS_URL"], RQ_QUEUE=queue_name,
                   RATELIMIT_STORAGE_URI=os.environ["REDIS_URL"], SECRET_KEY=secrets.token_urlsafe(64), DEBUG=False,
                   ALLOWED_HOSTS=["obcms.example.gov.ph"], PUBLIC_BASE_URL="https://obcms.example.gov.ph",
                   SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, HSTS=True, TRUSTED_PROXIES=1,
                   MAIL_SERVER="smtp.example.gov.ph", MAIL_DEFAULT_SENDER="obcms <obcms@example.gov.ph>",
                   TIMEZONE="Asia/Manila"), worker
    finally:
        worker.register_death()
        for key in connection.scan_iter(f"*{queue_name}*"):
            connection.delete(key)
        with migrator.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)


@pytest.fixture
def production_app(installation):
    """production_app(**changes) → the production app of `installation`, with some settings changed after it
    started (the start-up check would refuse some of them: the deploy check must still name each)."""
    settings, _ = installation
    made = []

    def make(database_url=None, **changes):
        app = create_app(ProductionConfig, **{**settings, **({"SQLALCHEMY_DATABASE_URI": database_url}
                                                             if database_url else {})})
        app.config.update(changes)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_production_installation_passes(production_app):
    assert check_deploy(production_app()) == (0, ["all checks passed"])


WRONG = {
    "environment": (dict(ENV_NAME="default"), "wrong: OBCMS_ENV: is 'default', not production"),
    "no key": (dict(SECRET_KEY=""), "wrong: SECRET_KEY: is missing"),
    "default key": (dict(SECRET_KEY="dev-only-insecure-key"), "wrong: SECRET_KEY: is a default, short or patterned key"),
    "short key": (dict(SECRET_KEY="Zx81-short-but-random"), "wrong: SECRET_KEY: is a default, short or patterned key"),
    "hosts": (dict(ALLOWED_HOSTS=[]), "wrong: ALLOWED_HOSTS: is empty"),
    "links to this machine": (dict(PUBLIC_BASE_URL="http://127.0.0.1:5000"), "wrong: PUBLIC_BASE_URL: points at this machine"),
    "links over http": (dict(PUBLIC_BASE_URL="http://obcms.example.gov.ph"), "wrong: PUBLIC_BASE_URL: is not https"),
    "session cookie over http": (dict(SESSION_COOKIE_SECURE=False), "wrong: SESSION_COOKIE_SECURE: is off"),
    "remember cookie over http": (dict(REMEMBER_COOKIE_SECURE=False), "wrong: REMEMBER_COOKIE_SECURE: is off"),
    "session cookie for scripts": (dict(SESSION_COOKIE_HTTPONLY=False), "wrong: SESSION_COOKIE_HTTPONLY: is off"),
    "remember cookie for scripts": (dict(REMEMBER_COOKIE_HTTPONLY=False), "wrong: REMEMBER_COOKIE_HTTPONLY: is off"),
    "same site none": (dict(SESSION_COOKIE_SAMESITE="None"), "wrong: SESSION_COOKIE_SAMESITE: is 'None'"),
    "remember same site unset": (dict(REMEMBER_COOKIE_SAMESITE=None), "wrong: REMEMBER_COOKIE_SAMESITE: is None"),
    "hsts": (dict(HSTS=False), "wrong: HSTS: is off"),
    "no proxy fix": (dict(TRUSTED_PROXIES=0), "wrong: TRUSTED_PROXIES: is 0"),
    "no redis": (dict(REDIS_URL=None), "wrong: REDIS_URL: is not set"),
    "no worker on the queue": (dict(RQ_QUEUE="obcms_deploy_nobody"), "wrong: RQ worker: none seen on the "
                                                                     "'obcms_deploy_nobody' queue"),
    "no mail": (dict(MAIL_SERVER=None), "wrong: MAIL_SERVER: is not set"),
    "mail from localhost": (dict(MAIL_DEFAULT_SENDER="obcms <no-reply@localhost>"), "wrong: MAIL_DEFAULT_SENDER"),
    "no zone": (dict(TIMEZONE=""), "wrong: OBCMS_TIMEZONE: is empty"),
    "no such zone": (dict(TIMEZONE="Asia/Atlantis"), "wrong: OBCMS_TIMEZONE: 'Asia/Atlantis' is not a time zone"),
}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("changes, line", WRONG.values(), ids=WRONG.keys())
def test_each_wrong_setting_fails_with_its_line(production_app, changes, line):
    code, lines = check_deploy(production_app(**changes))
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(line), lines


@pytest.mark.postgres
@pytest.mark.redis
def test_debug_fails(production_app, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # what the flask command reads (it sets app.debug from it)
    code, lines = check_deploy(production_app())
    assert code == 1 and len(lines) == 1 and lines[0].startswith("wrong: FLASK_DEBUG: debug mode is on"), lines


@pytest.mark.postgres
@pytest.mark.redis
def test_a_database_that_is_not_postgresql_fails(production_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'obcms.sqlite3'}"
    sqlite = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with sqlite.app_context():
        upgrade()  # at head: only the database kind is wrong
        db.engine.dispose()
    code, lines = check_deploy(production_app(database_url=url))
    assert (code, lines) == (1, ["wrong: DATABASE_URL: is sqlite, not PostgreSQL: set "
                                 "DATABASE_URL=postgresql+psycopg://user@host/db"])


@pytest.mark.postgres
@pytest.mark.redis
def test_migrations_behind_the_code_fail(production_app, installation):
    app = production_app()
    with app.app_context():
        head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config(
            app.extensions["migrate"].directory)).get_current_head()
        stamp(revision="k3_search")
    try:
        code, lines = check_deploy(app)
        assert (code, lines) == (1, [f"wrong: migrations: the database is at k3_search, the code at {head}: "
                                     "run flask --app wsgi db upgrade"])
    finally:
        with app.app_context():
            stamp(revision="head")


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_not_seen_for_five_minutes_fails(production_app, installation):
    _, worker = installation
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    worker.connection.hset(worker.key, "last_heartbeat", utcformat(ten_minutes_ago))
    try:
        code, lines = check_deploy(production_app())
        assert code == 1 and len(lines) == 1 and lines[0].startswith("wrong: RQ worker: none seen on the")
    finally:
        worker.heartbeat()
        worker.connection.hset(worker.key, "last_heartbeat", utcformat(datetime.now(UTC)))


@pytest.mark.postgres
@pytest.mark.redis
def test_risky_settings_are_listed_without_failing(production_app, monkeypatch):
    monkeypatch.setattr(deploy_check, "local_utc_offset", lambda: timedelta(0))  # a machine on UTC
    code, lines = check_deploy(production_app(RATELIMIT_STORAGE_URI="memory://"))
    assert code == 0
    assert [line.split(":")[:2] for line in lines[:-1]] == [["risky", " RATELIMIT_STORAGE_URI"],
                                                            ["risky", " clock zone"]]
    assert lines[-1] == "all checks passed (2 risky setting(s) above)"


# Without PostgreSQL or a worker (the SQLite pass too) ------------------------------------------------------

def test_the_embedded_default_is_not_a_production_installation(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'obcms.sqlite3'}")
    try:
        code, lines = check_deploy(app)
        settings = [line.split(": ")[1] for line in lines]
        assert code == 1
        for setting in ("OBCMS_ENV", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "HSTS", "TRUSTED_PROXIES",
                        "DATABASE_URL", "migrations", "REDIS_URL", "MAIL_SERVER"):
            assert setting in settings, (setting, lines)
        assert all(line.startswith(("wrong: ", "risky: ")) for line in lines)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_redis_that_does_not_answer_is_named_and_nothing_breaks(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'obcms.sqlite3'}",
                     REDIS_URL="redis://127.0.0.1:1/0")
    try:
        with app.app_context():
            findings = {finding.setting: finding for finding in deploy_check.run_checks(app)}
        assert findings["REDIS_URL"].problem.startswith("Redis does not answer")
        assert findings["rq_worker"].problem.startswith("could not be checked: ")
    finally:
        with app.app_context():
            db.engine.dispose()
