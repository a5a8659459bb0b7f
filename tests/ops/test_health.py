"""/health answers without login: 200 when the database (and Redis, when configured) answer, else 503."""
import os
import socket
import time

import pytest

from config import TestingConfig
from obcms import create_app

# A PostgreSQL port nobody listens on: the connection is refused at once.
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/x"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def probe(app):
    started = time.monotonic()
    response = app.test_client().get("/health")
    assert time.monotonic() - started < 10, "the probe must not hang"
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def test_healthy_without_signing_in(app):
    status, body = probe(app)
    assert status == 200
    assert body == {"status": "healthy", "database": "ok", "redis": "not_configured",
                    "version": app.config["VERSION"]}


@pytest.mark.committed
def test_unreachable_database_is_503_unhealthy():
    status, body = probe(create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=UNREACHABLE_DATABASE))
    assert status == 503
    assert body["status"] == "unhealthy" and body["database"] == "error"


@pytest.mark.committed
@pytest.mark.slow
def test_a_database_that_never_answers_is_503_within_the_connect_timeout():
    """A server that accepts the TCP connection and then says nothing: only the connect timeout ends the wait."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{port}/x",
                         DATABASE_CONNECT_TIMEOUT=1)
        status, body = probe(app)
    assert status == 503 and body["database"] == "error"


@pytest.mark.committed
def test_unreadable_sqlite_file_is_503_unhealthy(tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing-dir/../nowhere/x.db")
    (tmp_path / "nowhere").rmdir()  # created by the app factory; remove it so the file cannot be opened
    status, body = probe(app)
    assert status == 503 and body["database"] == "error"


@pytest.mark.redis
def test_redis_ok_when_configured(database_url):
    redis_app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=os.environ["REDIS_URL"])
    status, body = probe(redis_app)
    assert status == 200
    assert body["status"] == "healthy" and body["redis"] == "ok"


@pytest.mark.committed
def test_unreachable_redis_is_503(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=UNREACHABLE_REDIS)
    status, body = probe(app)
    assert status == 503
    assert body == {"status": "unhealthy", "database": "ok", "redis": "error", "version": app.config["VERSION"]}
