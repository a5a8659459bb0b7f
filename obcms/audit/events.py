"""The audit trail as people read it: one event per change of one object (its field rows grouped), fields by
their labels, internal columns left out, values formatted (pesos, dates, Manila times, state names).
The raw rows stay on each event for "show the stored values".

    events = group(entries)                   # entries newest first → [AuditEvent], newest first
    page = events_page(filters, page_number)  # the audit log: a page of events (two queries)

An event is the rows written together: same time, actor, action and object (and object version).
"""
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from ..auth.models import User
from ..db_types import Money
from ..extensions import db
from ..money import format_pesos
from ..pagination import paginate
from ..templating import format_date, format_datetime
from .models import AuditEntry
from .objects import model_for
from .queries import filtered_entries

# Columns that are bookkeeping, not something a person changed: shown only among the raw rows.
HIDDEN_FIELDS = frozenset({"id", "version", "lft", "rgt", "depth", "tree_id", "created_at", "updated_at",
                           "created_by_id", "updated_by_id", "password_hash", "session_token", "secret_hash"})
LABELS = {"ppa_id": "PPA", "implementing_moa_id": "Implementing MOA", "lead_organization_id": "Lead organization",
          "organization_id": "Organization", "parent_id": "Parent item", "execution_project_id": "Execution project",
          "submitted_by_id": "Submitted by", "budget_allocation": "Budget allocation", "fiscal_year": "Fiscal year",
          "workitem_tracking_enabled": "Work-item tracking", "position": "Position among its siblings"}
VERBS = {"create": "created", "update": "changed", "delete": "deleted"}
KEY = ("at", "actor_label", "action", "object_type", "object_id", "object_version")


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class AuditEvent:
    at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: int | None
    object_version: int | None
    cause: str | None
    request_id: str | None
    ip: str | None
    actor_name: str = ""  # the user's name now (the label kept in the row names jobs and deleted users)
    entries: list = field(default_factory=list)  # the raw rows, as stored
    changes: list = field(default_factory=list)  # [Change] a person reads

    @property
    def object_label(self):
        name = self.object_type.replace("_", " ")
        return f"{name} #{self.object_id}" if self.object_id is not None else name

    @property
    def summary(self):
        """"changed 3 fields", "created", "deleted" — what the event did, in words."""
        verb = VERBS.get(self.action, self.action)
        if self.action == "update" and self.changes:
            return f"{verb} {', '.join(c.label.lower() for c in self.changes[:3])}" + \
                (f" and {len(self.changes) - 3} more" if len(self.changes) > 3 else "")
        return verb

    @property
    def hidden_count(self):
        return len(self.entries) - len(self.changes)


def label_of(name):
    if name in LABELS:
        return LABELS[name]
    text = name[:-3] if name.endswith("_id") else name
    return text.replace("_", " ").capitalize()


def _column_type(model, name):
    column = getattr(getattr(model, "__table__", None), "c", {}).get(name) if model is not None else None
    return column.type if column is not None else None


def display(value, kind, name=""):
    """A stored value (text) as a person reads it."""
    if value is None or value == "":
        return "—"
    base = kind.impl if isinstance(kind, sa.types.TypeDecorator) and not isinstance(kind, Money) else kind
    try:
        if isinstance(base, Money):
            return format_pesos(Decimal(value))
        if isinstance(base, sa.Boolean) or (base is None and value in ("true", "false")):
            return {"true": "yes", "false": "no"}.get(value, value)
        if isinstance(base, sa.DateTime):
            return format_datetime(datetime.fromisoformat(value))
        if isinstance(base, sa.Date):
            return format_date(date.fromisoformat(value))
    except (ValueError, InvalidOperation):
        return value
    kind = base
    if name.endswith("_id"):
        return f"#{value}"
    if isinstance(kind, sa.JSON) or value[:1] in ("[", "{"):
        try:
            data = json.loads(value)
        except ValueError:
            return value
        if isinstance(data, list):
            return f"{len(data)} item{'s' if len(data) != 1 else ''}" if data else "none"
        return value
    if isinstance(kind, sa.Enum) or (isinstance(kind, sa.String) and "_" in value and " " not in value):
        return value.replace("_", " ")
    return value


def _event_of(entry):
    return AuditEvent(at=entry.at, actor_label=entry.actor_label, action=entry.action,
                      object_type=entry.object_type, object_id=entry.object_id, object_version=entry.object_version,
                      cause=entry.cause, request_id=entry.request_id, ip=entry.ip)


def _display_names(user_ids):
    """{user id: display name} of the actors (one query; none when only jobs acted)."""
    if not user_ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.full_name, User.username).where(User.id.in_(sorted(user_ids))))
    return {i: full_name or username for i, full_name, username in rows}


def group(entries):
    """Rows (newest first) → events (newest first), each with its readable changes."""
    events, by_key = [], {}
    for entry in entries:
        key = tuple(getattr(entry, name) for name in KEY)
        event = by_key.get(key)
        if event is None:
            event = by_key[key] = _event_of(entry)
            events.append(event)
        event.entries.append(entry)
        event.cause = event.cause or entry.cause
    names = _display_names({e.entries[0].actor_user_id for e in events} - {None})
    for event in events:
        event.actor_name = names.get(event.entries[0].actor_user_id, event.actor_label)
        model = model_for(event.object_type)
        event.entries.sort(key=lambda e: e.id)
        for entry in event.entries:
            if entry.field is None or entry.field in HIDDEN_FIELDS:
                continue
            kind = _column_type(model, entry.field)
            event.changes.append(Change(entry.field, label_of(entry.field), display(entry.old_value, kind, entry.field),
                                        display(entry.new_value, kind, entry.field)))
    return events


def events_page(filters, page, per_page=25):
    """A page of events matching the filters, newest first: the events (grouped SQL), then their rows."""
    columns = [getattr(AuditEntry, name) for name in KEY]
    keys = (filtered_entries(filters).order_by(None)
            .with_only_columns(*columns, sa.func.min(AuditEntry.id).label("first_id"),
                               sa.func.max(AuditEntry.id).label("last_id"))
            .group_by(*columns).order_by(sa.desc("last_id")))
    count = sa.select(sa.func.count()).select_from(keys.order_by(None).subquery())
    found = paginate(keys, page, per_page=per_page, count_stmt=count)
    if not found.items:
        return found, []
    wanted = {tuple(row[:len(KEY)]) for row in found.items}
    low, high = min(r.first_id for r in found.items), max(r.last_id for r in found.items)
    rows = db.session.scalars(filtered_entries(filters).where(AuditEntry.id.between(low, high))).all()
    return found, group([r for r in rows if tuple(getattr(r, n) for n in KEY) in wanted])
