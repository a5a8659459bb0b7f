"""Turn changes into audit rows: which columns count, how values are written, one INSERT for many rows.

Set-based writers (tree shifts, roll-ups, bulk operations) bypass the flush listener; they record what they
changed with record_bulk_change, in the same transaction and with one INSERT for all rows:

    with audit_cause("roll-up from child #123"):
        session.execute(update(WorkItem).where(...).values(bump_version({"progress": new})))
        record_bulk_change(WorkItem, {parent_id: {"progress": (old, new)}}, versions={parent_id: v})
"""
import enum
import json
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache

from sqlalchemy import inspect

from ..db_types import utcnow
from ..extensions import db
from .context import client_ip, current_actor, current_cause, current_request_id
from .models import AuditEntry
from .objects import object_type_of
from .redaction import redact, redact_personal

# Never recorded, whatever the model says: credentials and secrets by name.
SECRET_COLUMN = re.compile(r"password|secret|token|api_key|_hash$|^hash$", re.IGNORECASE)
# Bookkeeping, not content: the version is kept as AuditEntry.object_version instead.
BOOKKEEPING_COLUMNS = frozenset({"version", "created_at", "updated_at"})
MAX_VALUE_LENGTH = 20000


@cache
def audited_columns(cls):
    """{attribute key: personal?} for the columns of an Audited model that are recorded."""
    mapper = inspect(cls)
    excluded = set(getattr(cls, "__audit_exclude__", ()))
    personal = set(getattr(cls, "__audit_personal__", ()))
    columns = {}
    for prop in mapper.column_attrs:
        key = prop.key
        if key in excluded or key in BOOKKEEPING_COLUMNS or SECRET_COLUMN.search(key):
            continue
        columns[key] = key in personal
    return columns


def serialize(value):
    """Text for a stored value, exact: str(Decimal), ISO dates, UTC ISO timestamps, true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        text = (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, Decimal | int | float):
        return str(value)
    elif isinstance(value, dict | list | tuple):
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    elif isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    else:
        text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH] + "…"
    return text


def stored_value(value, personal):
    if personal:
        return redact_personal(value)
    text = serialize(value)
    if text is None or isinstance(value, bool | int | float | Decimal | date | time):
        return text
    return redact(text)


def entry_context(cause=None):
    """The columns every row of this change shares: time, actor, request, IP, cause."""
    actor_id, label = current_actor()
    return {"at": utcnow(), "actor_user_id": actor_id, "actor_label": label[:120],
            "request_id": current_request_id(), "ip": client_ip(), "cause": (cause or current_cause())}


def entry(context, action, object_type, object_id, object_version, field, old, new, personal=False):
    return dict(context, action=action, object_type=object_type, object_id=object_id,
                object_version=object_version, field=field, old_value=stored_value(old, personal),
                new_value=stored_value(new, personal))


def write_entries(rows, connection=None):
    """One INSERT (executemany) for all rows, on the session's connection (same transaction)."""
    if rows:
        (connection or db.session.connection()).execute(AuditEntry.__table__.insert(), rows)
    return len(rows)


def record_bulk_change(model, changes, versions=None, action="update", cause=None, session=None):
    """Record changes a set-based statement made: changes = {object id: {field: (old, new)}}.

    Columns the model does not audit (secrets, excluded, bookkeeping) are skipped; personal ones redacted.
    `versions` = {object id: version after the change} when known. Returns the number of rows written.
    """
    columns = audited_columns(model)
    object_type = object_type_of(model)
    context = entry_context(cause)
    versions = versions or {}
    rows = [entry(context, action, object_type, object_id, versions.get(object_id), field, old, new,
                  columns[field])
            for object_id, fields in changes.items()
            for field, (old, new) in fields.items()
            if field in columns and serialize(old) != serialize(new)]
    return write_entries(rows, (session or db.session).connection())


def record_event(object_type, object_id, field, old=None, new=None, action="update", cause=None, session=None):
    """One row about something that is not a model change (e.g. the retention job's summary)."""
    rows = [entry(entry_context(cause), action, object_type, object_id, None, field, old, new)]
    return write_entries(rows, (session or db.session).connection())
