"""Retention: audit entries older than AUDIT_RETENTION_DAYS (default 730) go to a compressed archive, then out
of the table. This is the only path that deletes audit rows; it leaves one summary entry of its own.

The archive is gzip-compressed JSON Lines (one entry per line, every column, values as stored) under
AUDIT_ARCHIVE_DIR (default: instance/audit-archive/). It is written completely before the rows are deleted,
under a `.partial` name that
becomes final only when the transaction commits: a failed run leaves the rows and at most a `.partial` file.
On PostgreSQL the append-only trigger lets the DELETE through only after `SET LOCAL obcms.audit_retention`.
"""
import gzip
import json
import os
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..db_types import utcnow
from ..extensions import db
from ..transaction import after_commit
from .models import AuditEntry
from .recording import record_event, serialize

DEFAULT_RETENTION_DAYS = 730


def archive_directory():
    return Path(current_app.config.get("AUDIT_ARCHIVE_DIR") or Path(current_app.instance_path) / "audit-archive")


def archive_audit_entries(days=None, directory=None, now=None, session=None, batch=2000):
    """Archive and delete the entries older than `days`. Returns counts (for the JobRun)."""
    session = session or db.session
    days = int(days or current_app.config.get("AUDIT_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)
    cutoff = (now or utcnow()) - timedelta(days=days)
    table = AuditEntry.__table__
    last_id = session.scalar(sa.select(sa.func.max(table.c.id)).where(table.c.at < cutoff))
    if last_id is None:
        return {"archived": 0, "cutoff": cutoff.isoformat()}
    old_rows = sa.and_(table.c.at < cutoff, table.c.id <= last_id)

    directory = Path(directory or archive_directory())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-before-{cutoff:%Y%m%dT%H%M%SZ}-{utcnow():%Y%m%dT%H%M%S%f}.jsonl.gz"
    partial = path.with_name(path.name + ".partial")
    archived = 0
    with gzip.open(partial, "wt", encoding="utf-8") as archive:
        result = session.execute(sa.select(table).where(old_rows).order_by(table.c.id)
                                 .execution_options(yield_per=batch))
        for row in result.mappings():
            archive.write(json.dumps({key: serialize(value) for key, value in row.items()}, ensure_ascii=False))
            archive.write("\n")
            archived += 1

    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(sa.text("SET LOCAL obcms.audit_retention = 'on'"))
    deleted = session.execute(sa.delete(table).where(old_rows)).rowcount
    if postgresql:
        session.execute(sa.text("SET LOCAL obcms.audit_retention = 'off'"))
    if deleted != archived:
        raise RuntimeError(f"archived {archived} audit entries but deleting removed {deleted}; rolled back")

    record_event("audit_entries", None, "archived", old=f"{archived} entries older than {cutoff.isoformat()}",
                 new=path.name, action="delete", cause=f"retention: older than {days} days", session=session)
    after_commit(lambda: os.replace(partial, path), session)
    return {"archived": archived, "cutoff": cutoff.isoformat(), "file": str(path)}
