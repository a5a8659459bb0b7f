"""The status column of a machine-managed model changes only through fire() (or a declared derived change).

ORM changes: a before_flush check refuses any change of the column outside fire(). Set-based UPDATEs run
through the session (`session.execute(update(Model).values(status=…))`, also ORM bulk updates by primary
key) are refused by a do_orm_execute check. Statements sent straight to a Connection (or raw SQL text)
bypass the session and are not seen: do not write status that way.

Derived status changes (a container completed because all its children are, PPA status synced from its
project) are not user transitions; they declare themselves and their cause:

    with derived_status("roll-up from child #123"):
        session.execute(update(WorkItem).where(...).values(bump_version({"status": "completed"}, WorkItem)))
"""
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..audit.context import audit_cause
from ..errors import ValidationFailed
from .machine import machine_for, managed_models

_firing: ContextVar[frozenset] = ContextVar("obcms_workflow_firing", default=frozenset())
_derived: ContextVar[bool] = ContextVar("obcms_workflow_derived", default=False)
_firing_tables: ContextVar[frozenset] = ContextVar("obcms_workflow_firing_tables", default=frozenset())


class StatusChangeRefused(ValidationFailed):
    """A status was changed without a transition."""

    title = "Status changes go through the workflow actions"


@contextmanager
def firing(obj):
    """Used by fire(): inside, `obj`'s status column may change."""
    token = _firing.set(_firing.get() | {id(obj)})
    try:
        yield
    finally:
        _firing.reset(token)


@contextmanager
def firing_many(model):
    """Used by fire_many(): inside, a set-based UPDATE may write `model`'s status column."""
    token = _firing_tables.set(_firing_tables.get() | {model.__table__.name})
    try:
        yield
    finally:
        _firing_tables.reset(token)


@contextmanager
def derived_status(cause):
    """Allow status changes derived from other data (roll-ups, syncs); the audit rows carry `cause`."""
    token = _derived.set(True)
    try:
        with audit_cause(cause):
            yield
    finally:
        _derived.reset(token)


def _refuse(cls, machine, detail):
    names = ", ".join(t.name for t in machine.transitions)
    raise StatusChangeRefused(detail, errors={machine.field: [
        f"The {machine.field} of a {cls.__name__} changes only through its actions ({names})."]})


@event.listens_for(Session, "before_flush")
def _guard_flush(session, flush_context, instances):
    if _derived.get():
        return
    allowed = _firing.get()
    for obj in session.new:
        machine = machine_for(obj)
        if machine is not None:
            value = getattr(obj, machine.field)
            if value is not None and value not in machine.states:
                _refuse(type(obj), machine, f"'{value}' is not a {machine.field} of {type(obj).__name__}.")
    for obj in session.dirty:
        machine = machine_for(obj)
        if machine is None or id(obj) in allowed:
            continue
        if inspect(obj).attrs[machine.field].history.has_changes():
            _refuse(type(obj), machine, f"{type(obj).__name__} #{inspect(obj).identity[0]}: its {machine.field} "
                                        "cannot be set directly.")


def _statement_columns(statement, parameters):
    names = set()
    for key in list(getattr(statement, "_values", None) or ()) + \
            [k for k, _ in (getattr(statement, "_ordered_values", None) or ())]:
        names.add(getattr(key, "key", None) or getattr(key, "name", None) or str(key))
    for row in getattr(statement, "_multi_values", None) or ():
        for values in row:
            names.update(getattr(k, "key", None) or str(k) for k in (values if isinstance(values, dict) else ()))
    for params in parameters if isinstance(parameters, list | tuple) else [parameters or {}]:
        names.update(params)
    return names


@event.listens_for(Session, "do_orm_execute")
def _guard_bulk(orm_execute_state):
    if not orm_execute_state.is_update or _derived.get():
        return
    statement = orm_execute_state.statement
    table = getattr(statement, "table", None)
    model = _model_of_table(table)
    if model is None or model.__table__.name in _firing_tables.get():
        return
    machine = machine_for(model)
    column = model.__table__.c[machine.field]
    if {machine.field, column.key, column.name} & _statement_columns(statement, orm_execute_state.parameters):
        _refuse(model, machine, f"A set-based UPDATE of {model.__name__}.{machine.field} is refused; "
                                "fire a transition, or wrap derived changes in derived_status(cause).")


def _model_of_table(table):
    if table is None:
        return None
    for model in managed_models().values():
        if model.__table__ is table or getattr(table, "name", None) == model.__table__.name:
            return model
    return None

