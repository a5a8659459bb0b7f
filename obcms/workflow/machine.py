"""State machines declared as data, registered on their model, and the registry that finds them.

A domain declares its machine in its states module, beside the effects the transitions run, and registers
it there on the model; the model module never imports the states module (the effects import the domain's
services, which import the model):

    # obcms/workitems/states.py
    WORK_ITEM_MACHINE = StateMachine(
        field="status", states=("not_started", "in_progress", "completed"), permission="workitem.read",
        transitions=[
            Transition("start", "not_started", "in_progress", roles=EDITORS),
            Transition("complete", ("not_started", "in_progress"), "completed", roles=EDITORS,
                       effects=[set_completed_at]),
        ])
    register_machine(WorkItem, WORK_ITEM_MACHINE)

The domain package's __init__ imports its states module, so the machine is registered whenever the model
can be used. A model whose machine needs nothing of the domain (a test or benchmark model) may declare it
on itself instead, and is registered when its mapper is configured:

    class Gadget(Base):
        __state_machine__ = StateMachine(
            field="status", states=("draft", "done"), transitions=[Transition("finish", "draft", "done", roles=…)])

A transition names where it may start (one state or several), where it goes, and who may fire it:
`roles` (the actor's role must be one of them) and/or `allow(obj, actor)` for object-level rules (returns
True, or False / a reason text to refuse). `not_by_submitter` refuses the actor who fired the latest
transition marked `submits=True` on this object. `comment_required` needs a comment. `requires` (and the
machine's `entry_requirements[target]`) name fields that must be non-empty. `effects(obj, transition, actor)`
run inside the transaction; `after_commit(obj, transition, actor)` callbacks run once it commits.
`lock(obj, session)` replaces the default row lock taken by fire() (e.g. a tree locks its root first), and
`lock_many(objs, session)` the one fire_many() takes.

fire_many() (bulk operations) runs each effect once for all its objects when the effect says how:

    set_completed_at = sets_columns(lambda transition, actor: {"completed_at": utcnow(), "progress": 100})

    @batched(lambda items, transition, actor: update_ancestors([i.id for i in items], locked=True))
    def roll_up_ancestors(item, transition, actor): ...

sets_columns: the same values on every object, written in fire_many()'s one UPDATE; batched: a set-based twin
many(objs, transition, actor). Any other effect runs once per object.
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapper, configure_mappers

from ..audit.objects import object_type_of


def _as_tuple(value):
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


TRANSITION_KINDS = ("primary", "secondary", "danger")


def sets_columns(values):
    """An effect that sets columns to values the same for every object: values(transition, actor) →
    {attribute: value}. fire() sets them on the object, fire_many() in its one UPDATE."""
    def effect(obj, transition, actor):
        for key, value in values(transition, actor).items():
            setattr(obj, key, value)

    effect.columns = values
    return effect


def batched(many):
    """Give an effect its set-based twin many(objs, transition, actor): fire_many() runs it once for all its
    objects instead of the effect once per object."""
    def attach(effect):
        effect.many = many
        return effect

    return attach


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple
    target: str
    label: str | None = None
    roles: frozenset | None = None
    allow: Callable | None = None
    not_by_submitter: bool = False
    submits: bool = False
    comment_required: bool = False
    requires: tuple = ()
    effects: tuple = ()
    after_commit: tuple = ()
    # How the panel offers it: "primary" (the first one allowed is THE action of the step, the others look
    # secondary), "secondary", or "danger" (its own dialog, with the comment when one is required).
    kind: str = "primary"
    # confirm(obj) -> the question a confirmation dialog asks before firing (None: no confirmation);
    # done(obj) -> what the toast says happened. Both name the object ("MSSD-2026-001 sent to budget review").
    confirm: Callable | None = None
    done: Callable | None = None

    def __init__(self, name, sources, target, *, label=None, roles=None, allow=None, not_by_submitter=False,
                 submits=False, comment_required=False, requires=(), effects=(), after_commit=(), kind="primary",
                 confirm=None, done=None):
        values = dict(name=name, sources=_as_tuple(sources), target=target,
                      label=label or name.replace("_", " ").capitalize(),
                      roles=frozenset(_as_tuple(roles)) if roles is not None else None, allow=allow,
                      not_by_submitter=not_by_submitter, submits=submits, comment_required=comment_required,
                      requires=_as_tuple(requires), effects=tuple(effects), after_commit=tuple(after_commit),
                      kind=kind, confirm=confirm, done=done)
        for key, value in values.items():
            object.__setattr__(self, key, value)
        if roles is None and allow is None:
            raise ValueError(f"transition {name!r} allows nobody: give roles= and/or allow=")
        if kind not in TRANSITION_KINDS:
            raise ValueError(f"transition {name!r}: kind must be one of {', '.join(TRANSITION_KINDS)}")

    def done_message(self, obj):
        """The toast after firing: the transition's own sentence, else "<object>: <label> — now <state>."."""
        if self.done is not None:
            return self.done(obj)
        return f"{obj}: {self.label.lower()} — now {self.target.replace('_', ' ')}."


@dataclass
class StateMachine:
    field: str
    states: tuple
    transitions: Iterable
    initial: str | None = None
    permission: str | None = None  # what the generic route requires to see or act on the object at all
    # lock(obj, session): what fire() locks before re-reading the object; default: the object's own row.
    # A model whose writers lock something else first (a tree locks its root) names it, so all lock in one order.
    lock: Callable | None = None
    # lock_many(objs, session): what fire_many() locks (in one order with lock()); default: the rows, in id order.
    lock_many: Callable | None = None
    entry_requirements: dict = field(default_factory=dict)
    model: type | None = None

    def __post_init__(self):
        self.states = tuple(self.states)
        self.transitions = tuple(self.transitions)
        self.initial = self.initial or self.states[0]
        self._by_name = {}
        for transition in self.transitions:
            if transition.name in self._by_name:
                raise ValueError(f"duplicate transition {transition.name!r}")
            unknown = {transition.target, *transition.sources} - set(self.states)
            if unknown:
                raise ValueError(f"transition {transition.name!r} names unknown states: {sorted(unknown)}")
            self._by_name[transition.name] = transition
        unknown = set(self.entry_requirements) - set(self.states)
        if unknown:
            raise ValueError(f"entry requirements for unknown states: {sorted(unknown)}")

    def get(self, name):
        return self._by_name.get(name)

    def from_state(self, state):
        return [t for t in self.transitions if state in t.sources]

    def requirements(self, transition):
        return tuple(dict.fromkeys(transition.requires + tuple(self.entry_requirements.get(transition.target, ()))))

    @property
    def submitting(self):
        return tuple(t.name for t in self.transitions if t.submits)

    @property
    def object_type(self):
        return object_type_of(self.model)


_MACHINES = {}


def register_machine(model, machine):
    """Make `machine` the state machine of the mapped class `model` (its `__state_machine__`), now: the
    generic routes find it by object type, and assigning its field loads the old value (so the status guard
    sees a change even on an expired object). Registering the same pair again does nothing."""
    if machine.model is model and model.__dict__.get("__state_machine__") is machine:
        return
    if machine.model is not None:
        raise ValueError(f"this machine is already registered on {machine.model.__name__}")
    if machine.field not in sa.inspect(model).columns:
        raise ValueError(f"{model.__name__}.__state_machine__ field {machine.field!r} is not a column")
    model.__state_machine__ = machine
    machine.model = model
    _MACHINES[object_type_of(model)] = model
    event.listen(getattr(model, machine.field), "set", _keep_old_value, active_history=True, retval=True)


def _keep_old_value(target, value, oldvalue, initiator):
    return value


def machine_for(obj_or_cls):
    """The StateMachine of a model (class or instance), or None."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return getattr(cls, "__state_machine__", None)


def managed_model(object_type):
    """The machine-managed model registered under `object_type` (for the generic routes), or None."""
    configure_mappers()
    return _MACHINES.get(object_type)


def managed_models():
    return dict(_MACHINES)


@event.listens_for(Mapper, "mapper_configured")
def _register(mapper, cls):
    """A model that declares its own `__state_machine__` is registered when its mapper is configured."""
    machine = cls.__dict__.get("__state_machine__")
    if machine is not None:
        register_machine(cls, machine)
