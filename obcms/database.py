"""Engine set-up per backend, and the row lock every domain uses for its critical sections.

SQLite: foreign keys on, WAL, a busy timeout, and real transactions (pysqlite's own BEGIN handling is
turned off and SQLAlchemy emits BEGIN), so SAVEPOINTs and rolled-back tests work as on PostgreSQL; writers
begin with BEGIN IMMEDIATE (see _writes_expected).

PostgreSQL: connections keep their prepared statements across a rollback (KeepsPreparedStatements).
"""
import os

import psycopg
import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy import event

from .extensions import db


def is_sqlite(session=None):
    bind = (session or db.session).get_bind()
    return bind.dialect.name == "sqlite"


def engine_options(config):
    """The engine options for the configured database. PostgreSQL connects with a timeout, so an unreachable
    server makes /health answer 503 within seconds instead of hanging on the operating system's TCP timeout."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", config.get("DATABASE_CONNECT_TIMEOUT", 5))
        # A statement that runs longer than this is cancelled by the server (a 503 page, not a worker held).
        timeout_ms = int(config.get("DATABASE_STATEMENT_TIMEOUT_MS", 30000))
        settings = [f"statement_timeout={timeout_ms}"] if timeout_ms else []
        # Search (obcms/search/queries.py): how word-similar a query word must be to a row's text (pg_trgm's
        # `<%`, default 0.6, misses typos such as "livelyhood" for "livelihood").
        settings.append(f"pg_trgm.word_similarity_threshold={float(config.get('SEARCH_WORD_SIMILARITY', 0.4))}")
        connect_args.setdefault("options", " ".join(f"-c {setting}" for setting in settings))
        options["connect_args"] = connect_args
    return options


def init_database(app):
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
            if engine.url.database and engine.url.database != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(engine.url.database)), exist_ok=True)
        elif engine.dialect.driver == "psycopg":
            _configure_psycopg(engine)


def _end_session(_error=None):
    """Close the request's session. When the server dropped the connection after the answer was made (a
    restart mid-request), the closing ROLLBACK fails: the connection is thrown away (SQLAlchemy invalidates it
    and the pool reconnects later) and the answer goes out, instead of a bare 500 from the server. Whatever
    the failure, the session leaves the registry: one left behind would be found again by a later request
    whose context happens to get the same id, with its broken transaction (PendingRollbackError, a 500). Runs
    before Flask-SQLAlchemy's own teardown, which then finds nothing left to close."""
    try:
        db.session.remove()
    except sa.exc.SQLAlchemyError as error:
        current_app.logger.warning("database connection lost while closing a session: %s", _first_line(error))
        try:
            db.session.registry().invalidate()
        finally:
            db.session.registry.clear()


def _first_line(error):
    """The driver's message of a database error, its first line only (a log line, not a traceback)."""
    message = str(getattr(error, "orig", None) or error)
    return message.partition("\n")[0][:200]


class KeepsPreparedStatements(psycopg.Connection):
    """A psycopg connection that keeps its prepared statements when a transaction rolls back.

    psycopg prepares a statement once it ran prepare_threshold (5) times, so PostgreSQL parses and plans it
    only once per connection; but it forgets them all at every ROLLBACK (the transaction may have dropped
    what they name), and every request ends with one (the session's close). So no statement was ever
    prepared, and PostgreSQL parsed and planned every statement of every request: about half of its CPU
    per page. obcms runs no DDL inside a request or job transaction (schema changes are migrations), so
    rolling back drops nothing a statement names; DISCARD ALL, DEALLOCATE ALL, DROP and ALTER still clear
    them, and PostgreSQL re-plans a prepared statement by itself when a table it reads changes."""

    def _rollback_gen(self):
        self._prepared.clear = _keep  # for this rollback only: the instance attribute shadows the method
        try:
            return (yield from super()._rollback_gen())
        finally:
            del self._prepared.clear


def _keep():
    return False


def _configure_psycopg(engine):
    if getattr(engine, "_obcms_configured", False):
        return
    engine._obcms_configured = True

    @event.listens_for(engine, "do_connect")
    def connect(dialect, connection_record, cargs, cparams):
        return KeepsPreparedStatements.connect(*cargs, **cparams)


def _configure_sqlite(engine):
    if getattr(engine, "_obcms_configured", False):
        return
    engine._obcms_configured = True

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writes_expected() else "BEGIN")


def _writes_expected():
    """SQLite: a transaction that reads, then writes, fails at once with "database is locked" when another
    writer committed in between. Requests that may write (and jobs, commands) therefore take the write lock
    at BEGIN and queue behind each other (busy_timeout); reads (GET) stay concurrent."""
    return not has_request_context() or request.method not in ("GET", "HEAD", "OPTIONS")


def lock_rows(model, ids, session=None):
    """Lock rows of `model` for the rest of the transaction, in id order (so two lockers never deadlock).

    PostgreSQL: SELECT … FOR UPDATE. SQLite has no row locks: a no-op UPDATE takes the database write lock,
    which serializes writers just the same.
    """
    session = session or db.session
    ids = sorted(set(ids))
    if not ids:
        return []
    table = model.__table__
    if is_sqlite(session):
        session.execute(sa.update(table).where(table.c.id == ids[0]).values(id=table.c.id))
        return ids
    return list(session.scalars(sa.select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id)
                                .with_for_update()))
