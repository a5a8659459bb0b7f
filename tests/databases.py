"""Fresh databases for the test run: a SQLite file, or a new PostgreSQL database on TEST_DATABASE_URL's server."""
import os
import tempfile
import uuid

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def backend():
    return os.environ.get("OBCMS_TEST_BACKEND") or ("postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite")


def _server_url():
    url = make_url(os.environ["TEST_DATABASE_URL"])
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def create_database(prefix="obcms_test"):
    """Create an empty database and return its URL (as a string)."""
    if backend() == "postgresql":
        server = _server_url()
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return server.set(database=name).render_as_string(hide_password=False)
    fd, path = tempfile.mkstemp(prefix=prefix + "_", suffix=".sqlite3")
    os.close(fd)
    return f"sqlite:///{path}"


def drop_database(url):
    url = make_url(url)
    if url.get_backend_name() == "postgresql":
        engine = sa.create_engine(_server_url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        engine.dispose()
    elif url.database and os.path.exists(url.database):
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(url.database + suffix)
            except FileNotFoundError:
                pass
