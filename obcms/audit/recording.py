"""Turn changes into audit rows: which columns count, how values are written, one INSERT for many rows.

Set-based writers (tree shifts, roll-ups, bulk operations) bypass the flush listener; they record what they
changed with record_bulk_change, in the same transaction and with one INSERT for all rows:

    with audit_cause("roll-up from child #123"):
        session.execute(update(WorkItem).where(...).values(bump_version({"progress": new})))
        record_bulk_change(WorkItem, {parent_id: {"progress": (old, new)}}, versions={parent_id: v})

A writer that makes several kinds of change in one operation builds the rows first (change_entries,
creation_entries) and writes them together: write_entries(rows_a + rows_b) is still ONE statement (on
PostgreSQL an INSERT … SELECT FROM json_to_recordset(one JSON document), one prepared statement whatever the
number of rows; on SQLite an executemany, stepped in C).
"""
import enum
import json
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache

import sqlalchemy as sa
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
    kind = type(value)
    if kind is int or kind is Decimal:  # the common cases first
        return str(value)
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
    kind = type(value)
    if kind is int or kind is Decimal:
        return str(value)
    text = serialize(value)
    if text is None or isinstance(value, bool | int | float | Decimal | date | time):
        return text
    return redact(text)


def entry_context(cause=None):
    """The columns every row of this change shares: time, actor, request, IP, cause (a given cause joined to the
    one of the audit_cause() around it)."""
    actor_id, label = current_actor()
    outer = current_cause()
    if cause and outer and outer != cause:  # joined as audit_cause() joins (a bulk operation's id stays on its rows)
        cause = f"{cause} ← {outer}"
    return {"at": utcnow(), "actor_user_id": actor_id, "actor_label": label[:120],
            "request_id": current_request_id(), "ip": client_ip(), "cause": (cause or outer)}


def entry(context, action, object_type, object_id, object_version, field, old, new, personal=False):
    return dict(context, action=action, object_type=object_type, object_id=object_id,
                object_version=object_version, field=field, old_value=stored_value(old, personal),
                new_value=stored_value(new, personal))


COLUMNS = ("at", "actor_user_id", "actor_label", "action", "object_type", "object_id", "object_version", "field",
           "old_value", "new_value", "request_id", "ip", "cause")


# In rows written together with a new row (tree.insert): an object_id left None, and this mark in a cause,
# stand for that row's id (filled in by the same statement on PostgreSQL, by fill_new_id elsewhere).
NEW_ID = "#(new)"


def json_insert(new_id=None):
    """INSERT INTO audit_entries (…) SELECT … FROM json_to_recordset(:_audit) AS v(at …, …): the rows as one
    JSON document (json_params), one prepared statement whatever their number (PostgreSQL). `new_id`: a
    column (of a CTE inserting a row in the same statement) that rows without object_id and NEW_ID in
    causes take."""
    return _json_insert() if new_id is None else _json_insert_with(new_id)


def storage_type(column):
    """The type a column is stored as (enums are VARCHARs, decorators their impl)."""
    kind = column.type
    if isinstance(kind, sa.Enum):
        return sa.String(kind.length)
    return kind.impl if isinstance(kind, sa.types.TypeDecorator) else kind


@cache
def _json_source():
    table = AuditEntry.__table__
    return (sa.func.json_to_recordset(sa.cast(sa.bindparam("_audit", type_=sa.Text), sa.JSON))
            .table_valued(*[sa.column(name, storage_type(table.c[name])) for name in COLUMNS])
            .render_derived(name="v", with_types=True))


@cache
def _json_insert():
    source = _json_source()
    return AuditEntry.__table__.insert().from_select(COLUMNS, sa.select(*[source.c[name] for name in COLUMNS]))


def _json_insert_with(new_id):
    source = _json_source()
    values = [source.c[name] for name in COLUMNS]
    values[COLUMNS.index("object_id")] = sa.func.coalesce(source.c.object_id, new_id)
    values[COLUMNS.index("cause")] = sa.func.replace(source.c.cause, NEW_ID, "#" + sa.cast(new_id, sa.Text))
    return AuditEntry.__table__.insert().from_select(COLUMNS, sa.select(*values).select_from(source)
                                                     .join(new_id.table, sa.true()))


def json_params(rows):
    """The parameters of json_insert for `rows`."""
    return {"_audit": json.dumps(rows, default=str)}


def fill_new_id(rows, new_id):
    """Give rows written with a new row (see NEW_ID) its id, when they are written on their own."""
    mark = f"#{new_id}"
    for row in rows:
        if row.get("object_id") is None:
            row["object_id"] = new_id
        if row.get("cause") and NEW_ID in row["cause"]:
            row["cause"] = row["cause"].replace(NEW_ID, mark)
    return rows


def write_entries(rows, connection=None):
    """ONE INSERT for all rows, on the session's connection (same transaction). Returns the number."""
    if not rows:
        return 0
    connection = connection or db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(json_insert(), json_params(rows))
    else:
        connection.execute(AuditEntry.__table__.insert(), rows)
    return len(rows)


def change_entries(model, changes, versions=None, action="update", cause=None):
    """The rows for changes = {object id: {field: (old, new)}} (see record_bulk_change), not written. Besides
    the audited columns, a model may name facts that are no column in `__audit_facts__` (a work item's
    "position" among its siblings)."""
    columns = {**audited_columns(model), **dict.fromkeys(getattr(model, "__audit_facts__", ()), False)}
    object_type = object_type_of(model)
    context = entry_context(cause)
    versions = versions or {}
    return [entry(context, action, object_type, object_id, versions.get(object_id), field, old, new,
                  columns[field])
            for object_id, fields in changes.items()
            for field, (old, new) in fields.items()
            if field in columns and serialize(old) != serialize(new)]


def creation_entries(model, object_id, values, version=1, cause=None):
    """The rows the flush listener writes for a new object (one per audited column with a value), for an
    object inserted set-based: values = {column key: value}. Not written."""
    context = entry_context(cause)
    object_type = object_type_of(model)
    return [entry(context, "create", object_type, object_id, version, key, None, values[key], personal)
            for key, personal in audited_columns(model).items() if values.get(key) is not None]


def record_bulk_change(model, changes, versions=None, action="update", cause=None, session=None):
    """Record changes a set-based statement made: changes = {object id: {field: (old, new)}}.

    Columns the model does not audit (secrets, excluded, bookkeeping) are skipped; personal ones redacted.
    `versions` = {object id: version after the change} when known. Returns the number of rows written.
    """
    rows = change_entries(model, changes, versions, action, cause)
    return write_entries(rows, (session or db.session).connection())


def record_event(object_type, object_id, field, old=None, new=None, action="update", cause=None, session=None):
    """One row about something that is not a model change (e.g. the retention job's summary)."""
    rows = [entry(entry_context(cause), action, object_type, object_id, None, field, old, new)]
    return write_entries(rows, (session or db.session).connection())
