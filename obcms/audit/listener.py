"""The one flush listener that writes the audit trail for every Audited model, in the same transaction.

create: one row per column with a value (old empty); update: one row per changed column (old → new);
delete: one row per column that had a value (new empty). Rows are inserted with one statement per flush.
"""
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session

from .mixins import Audited
from .objects import object_type_of
from .recording import audited_columns, entry, entry_context, write_entries


def _is_audited(obj):
    return isinstance(obj, Audited)


def _version(state):
    mapper = state.mapper
    if mapper.version_id_col is None:
        return None
    return state.dict.get(mapper.get_property_by_column(mapper.version_id_col).key)


def _primary_key(state):
    """The id (new objects have no identity key until the flush is finalized, but their id is set)."""
    if state.identity:
        return state.identity[0]
    mapper = state.mapper
    return state.dict.get(mapper.get_property_by_column(mapper.primary_key[0]).key)


def _rows(session):
    context = None
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not _is_audited(obj):
                continue
            state = inspect(obj)
            object_id = _primary_key(state)
            if object_id is None:
                continue
            context = context or entry_context()
            object_type, version = object_type_of(obj), _version(state)
            for key, personal in audited_columns(type(obj)).items():
                if action == "update":
                    history = state.attrs[key].history
                    if not (history.added or history.deleted):
                        continue
                    old = history.deleted[0] if history.deleted else None
                    new = history.added[0] if history.added else None
                    if old == new:
                        continue
                else:
                    value = state.dict.get(key)
                    if value is None:
                        continue
                    old, new = (None, value) if action == "create" else (value, None)
                rows.append(entry(context, action, object_type, object_id, version, key, old, new, personal))
    return rows


@event.listens_for(Session, "before_flush")
def _load_before_delete(session, flush_context, instances):
    """A deleted object's values are recorded from memory: load any expired column while it still exists."""
    for obj in session.deleted:
        if _is_audited(obj):
            state = inspect(obj)
            if state.persistent and state.expired_attributes & set(audited_columns(type(obj))):
                session.refresh(obj)


@event.listens_for(Session, "after_flush")
def _record(session, flush_context):
    write_entries(_rows(session), session.connection())


def _keep_old_value(target, value, oldvalue, initiator):
    return value


@event.listens_for(Mapper, "mapper_configured")
def _track_old_values(mapper, cls):
    """Load the old value on assignment even when it was expired, so history always has `old`."""
    if issubclass(cls, Audited):
        for key in audited_columns(cls):
            event.listen(getattr(cls, key), "set", _keep_old_value, active_history=True, retval=True)
