"""Reading the audit trail: the filtered log (page and CSV export) and one object's history."""
import csv
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from ..db_types import utcnow
from ..extensions import db
from ..ids import parse_id
from .models import AUDIT_ACTIONS, AuditEntry
from .objects import object_type_of

CSV_COLUMNS = ("at", "actor", "action", "object_type", "object_id", "object_version", "field", "old_value",
               "new_value", "cause", "request_id", "ip")


@dataclass
class AuditFilters:
    object_type: str | None = None
    object_id: int | None = None
    user: str | None = None
    action: str | None = None
    date_from: object = None  # dates in the configured time zone, both inclusive
    date_to: object = None

    @classmethod
    def from_args(cls, args):
        def number(name):
            return parse_id(args.get(name))

        def day(name):
            """A date from 1900 to 2200 (the calendar's ends would overflow the day-after arithmetic), else None."""
            try:
                value = datetime.strptime((args.get(name) or "").strip(), "%Y-%m-%d").date()
            except ValueError:
                return None
            return value if 1900 <= value.year <= 2200 else None

        action = args.get("action") or None
        return cls(object_type=(args.get("object_type") or "").strip() or None, object_id=number("object_id"),
                   user=(args.get("user") or "").strip() or None,
                   action=action if action in AUDIT_ACTIONS else None,
                   date_from=day("date_from"), date_to=day("date_to"))

    def as_args(self):
        return {key: (value.isoformat() if hasattr(value, "isoformat") else value)
                for key, value in vars(self).items() if value not in (None, "")}


def _local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def filtered_entries(filters):
    """SELECT of the entries matching the filters, newest first."""
    stmt = sa.select(AuditEntry)
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id)
    if filters.user:
        stmt = stmt.where(sa.func.lower(AuditEntry.actor_label) == filters.user.lower())
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.date_from:
        stmt = stmt.where(AuditEntry.at >= _local_midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEntry.at < _local_midnight(filters.date_to + timedelta(days=1)))
    return stmt.order_by(AuditEntry.id.desc())


def object_history(object_type, object_id, limit=200):
    """The latest entries of one object, newest first (one query)."""
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
        .order_by(AuditEntry.id.desc()).limit(limit)).all()


def _cell(value):
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(filters, batch=1000):
    """The filtered entries as CSV text, yielded in chunks (streamed; rows fetched in batches)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    result = db.session.execute(filtered_entries(filters).execution_options(yield_per=batch))
    for count, entry in enumerate(result.scalars(), start=1):
        writer.writerow([_cell(v) for v in (
            entry.at.isoformat(), entry.actor_label, entry.action, entry.object_type, entry.object_id,
            entry.object_version, entry.field, entry.old_value, entry.new_value, entry.cause, entry.request_id,
            entry.ip)])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def deletion_of(model, object_id, session=None):
    """(actor_user_id, actor_label, at) of the audit row that recorded the deletion of this object, else None
    (never existed, or went with a deleted parent). One query."""
    session = session or db.session
    return session.execute(
        sa.select(AuditEntry.actor_user_id, AuditEntry.actor_label, AuditEntry.at)
        .where(AuditEntry.object_type == object_type_of(model), AuditEntry.object_id == object_id,
               AuditEntry.action == "delete")
        .order_by(AuditEntry.id.desc()).limit(1)).first()


def how_long_ago(at):
    """"just now", "3 minutes ago", "2 days ago"."""
    return _how_long_ago(utcnow() - at)


def _how_long_ago(elapsed):
    seconds = max(int(elapsed.total_seconds()), 0)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
