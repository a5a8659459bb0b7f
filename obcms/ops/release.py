"""Release day: a checked backup, the migration plan, a restore (`flask obcms release backup|plan|restore`).

    backup = make_backup(directory)     # Backup(path, size, tables, revision): written, then checked
    plan = migration_plan()             # Plan(current, heads, steps, sql): what `flask db upgrade` would do
    restore_backup(path)                # the database of DATABASE_URL becomes the backup's

PostgreSQL: `pg_dump -Fc` (custom format), checked by listing it with `pg_restore -l`; restored with
`pg_restore --clean --if-exists --single-transaction`. The client programs come from PATH and must be of the
server's major version or newer. The connection is passed as a libpq connection string and the password in
PGPASSWORD, so no password shows in the process list.

SQLite (the embedded default): the file is copied with SQLite's online backup API (consistent while obcms
runs), checked with `PRAGMA integrity_check`, and restored the same way in the other direction.

Rollback levels (docs/INSTALL.md "Release procedure"): (1) the previous code only, when the release had no
migration; (2) the previous code and `flask db downgrade <the revision printed by plan>`; (3) the previous code
and `release restore` of the backup taken before the upgrade (changes made since are lost).
"""
import io
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import current_app

from ..extensions import db

DUMP_TIMEOUT = 6 * 60 * 60  # seconds; a dump or restore that runs longer is stopped


class ReleaseError(Exception):
    """A step that could not be done, said in one line."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    tables: int       # tables whose rows the backup holds
    revision: str     # the migrations' revision of the database backed up


@dataclass(frozen=True)
class Step:
    revision: str
    down_revision: str | None
    message: str


@dataclass(frozen=True)
class Plan:
    current: tuple
    heads: tuple
    steps: list = field(default_factory=list)   # the revisions to apply, oldest first
    sql: str = ""                                # the SQL preview (Alembic offline mode), "" when nothing to do
    no_sql_because: str = ""                     # why there is no preview (SQLite's batch migrations)


def default_backup_directory():
    return Path(current_app.config.get("BACKUP_DIR") or Path(current_app.instance_path) / "backups")


def _alembic_config():
    migrate = current_app.extensions["migrate"]
    return migrate.migrate.get_config(migrate.directory)


def current_revisions():
    with db.engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


# PostgreSQL ---------------------------------------------------------------------------------------------

def _quote(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_connection(url=None):
    """(conninfo, environment) for the PostgreSQL client programs: the URL's parts as a libpq connection
    string, its password in PGPASSWORD."""
    url = url or db.engine.url
    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    parts.update({key: value for key, value in url.query.items() if isinstance(value, str)})
    conninfo = " ".join(f"{key}={_quote(value)}" for key, value in parts.items() if value not in (None, ""))
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _program(name):
    path = shutil.which(name)
    if path is None:
        raise ReleaseError(f"{name} is not on PATH: install the PostgreSQL client of the server's version "
                           "(apt-get install -y postgresql-client)")
    return path


def _run(arguments, env):
    try:
        result = subprocess.run(arguments, env=env, capture_output=True, text=True, timeout=DUMP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"{Path(arguments[0]).name} did not finish within {DUMP_TIMEOUT} s") from None
    if result.returncode != 0:
        message = " ".join(result.stderr.strip().splitlines()[-3:]) or f"exit status {result.returncode}"
        raise ReleaseError(f"{Path(arguments[0]).name} failed: {message}")
    return result.stdout


def list_dump(path, env=None):
    """The tables whose rows a custom-format dump holds, read with `pg_restore -l` (fails on a damaged file)."""
    listing = _run([_program("pg_restore"), "-l", str(path)], env or os.environ)
    return [line.split(" TABLE DATA ", 1)[1].strip() for line in listing.splitlines()
            if not line.startswith(";") and " TABLE DATA " in line]


def _dump_postgresql(path):
    conninfo, env = libpq_connection()
    _run([_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={path}",
          f"--dbname={conninfo}"], env)
    return list_dump(path, env)


def _restore_postgresql(path):
    list_dump(path)  # a damaged or foreign file stops here, before anything is dropped
    conninfo, env = libpq_connection()
    _run([_program("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", f"--dbname={conninfo}", str(path)], env)


# SQLite -------------------------------------------------------------------------------------------------

def _sqlite_copy(source, target):
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _sqlite_tables(path):
    connection = sqlite3.connect(path)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ReleaseError(f"{path} fails SQLite's integrity check")
        return [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    except sqlite3.DatabaseError as error:
        raise ReleaseError(f"{path} is not an SQLite database ({error})") from None
    finally:
        connection.close()


def _sqlite_file():
    name = db.engine.url.database
    if not name or name == ":memory:":
        raise ReleaseError("the database is in memory: there is no file to back up")
    return name


# The three steps ----------------------------------------------------------------------------------------

def make_backup(directory=None):
    """Back the database up into `directory` (default BACKUP_DIR) under a timestamped name, then check the file.
    Returns a Backup."""
    db.session.remove()  # no transaction of ours held open during the backup (on SQLite it would lock it)
    directory = Path(directory or default_backup_directory())
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReleaseError(f"cannot write backups to {directory}: {error.strerror}") from None
    revision = "+".join(current_revisions()) or "empty"
    dialect = db.engine.dialect.name
    database = Path(db.engine.url.database or "obcms").stem
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if dialect == "postgresql":
        path = directory / f"obcms-{database}-{stamp}-{revision}.dump"
        tables = _dump_postgresql(path)
    elif dialect == "sqlite":
        path = directory / f"obcms-{database}-{stamp}-{revision}.sqlite3"
        _sqlite_copy(_sqlite_file(), path)
        tables = _sqlite_tables(path)
    else:
        raise ReleaseError(f"backups of {dialect} databases are not supported")
    if not tables:
        raise ReleaseError(f"{path} holds no table: the backup is not usable")
    return Backup(path=path, size=path.stat().st_size, tables=len(tables), revision=revision)


def restore_backup(path):
    """Replace the database's contents with the backup at `path` (made by make_backup)."""
    path = Path(path)
    if not path.is_file():
        raise ReleaseError(f"{path}: no such file")
    db.session.remove()
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        db.engine.dispose()  # our pooled connections would hold locks the restore waits for
        _restore_postgresql(path)
    elif dialect == "sqlite":
        _sqlite_tables(path)
        db.engine.dispose()
        _sqlite_copy(str(path), _sqlite_file())
    else:
        raise ReleaseError(f"restores into {dialect} databases are not supported")
    db.engine.dispose()


def migration_plan(sql=True):
    """What `flask db upgrade` would do now: the revisions to apply (oldest first) and (with `sql`) their SQL."""
    db.session.remove()
    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    heads = tuple(sorted(script.get_heads()))
    current = current_revisions()
    if set(current) == set(heads):
        return Plan(current=current, heads=heads)
    if len(current) > 1:
        raise ReleaseError(f"the database has several heads ({', '.join(current)}): merge them first")
    start = current[0] if current else None
    steps = [Step(rev.revision, rev.down_revision if isinstance(rev.down_revision, str) else None,
                  " ".join((rev.doc or "").strip().split("\n\n")[0].split()))
             for rev in script.iterate_revisions("heads", start)]
    steps.reverse()
    if not sql:
        return Plan(current=current, heads=heads, steps=steps)
    config.output_buffer = io.StringIO()
    try:
        command.upgrade(config, f"{start}:heads" if start else "heads", sql=True)
    except CommandError as error:  # SQLite: a batch migration reflects the live table, which offline mode cannot
        because = ("SQLite's batch migrations read the live tables, which Alembic's offline mode cannot"
                   if db.engine.dialect.name == "sqlite" else " ".join(str(error).split()))
        return Plan(current=current, heads=heads, steps=steps, no_sql_because=because)
    return Plan(current=current, heads=heads, steps=steps, sql=config.output_buffer.getvalue())
