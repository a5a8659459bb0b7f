"""Fire transitions, and the dry run that says which ones a user may fire and why not.

    log = fire(item, "start", current_user, comment=None, expected_version=form_version)
    for option in available_transitions(item, current_user): option.allowed, option.reasons
    options = availability_of(items, "start", current_user)          # the dry run of many, then
    fired, stale = fire_many([(item, "start") for item in allowed], current_user, expected_versions=seen)

Services never commit: the caller owns the transaction.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.context import audit_cause
from ..audit.recording import change_entries, write_entries
from ..database import lock_rows
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..transaction import after_commit
from .guard import firing, firing_many
from .locking import check_version, refuse_stale, stale_rows
from .machine import machine_for
from .models import TransitionLog


@dataclass
class Availability:
    """What firing `transition` now would do: allowed, or the reasons why not."""

    transition: object
    allowed: bool = True
    refusals: list = field(default_factory=list)  # (kind, reason): kind is "state", "actor" or "requirements"
    missing_fields: list = field(default_factory=list)

    @property
    def name(self):
        return self.transition.name

    @property
    def label(self):
        return self.transition.label

    @property
    def comment_required(self):
        return self.transition.comment_required

    @property
    def reasons(self):
        return [reason for _, reason in self.refusals]

    @property
    def reason(self):
        return " ".join(self.reasons)

    def reasons_for(self, kind):
        return " ".join(reason for k, reason in self.refusals if k == kind)

    def refuse(self, kind, reason):
        self.allowed = False
        self.refusals.append((kind, reason))


def _is_empty(value):
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | dict):
        return len(value) == 0
    return False


def _label(value):
    return str(value).replace("_", " ")


def submitter_id(obj, machine, session=None):
    """The user who fired the latest submitting transition on `obj` (None when never submitted)."""
    if not machine.submitting:
        return None
    session = session or db.session
    return session.scalar(
        sa.select(TransitionLog.actor_user_id)
        .where(TransitionLog.object_type == machine.object_type, TransitionLog.object_id == obj.id,
               TransitionLog.transition.in_(machine.submitting))
        .order_by(TransitionLog.id.desc()).limit(1))


def _check(obj, machine, transition, actor, submitter):
    option = Availability(transition)
    current = getattr(obj, machine.field)
    if current not in transition.sources:
        option.refuse("state", f"Only possible when {machine.field} is "
                               f"{' or '.join(_label(s) for s in transition.sources)} (now {_label(current)}).")
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        option.refuse("actor", "Sign in first.")
    else:
        if transition.roles is not None and actor.role not in transition.roles:
            option.refuse("actor", "Needs the role "
                                   f"{' or '.join(sorted(_label(r) for r in transition.roles))}.")
        elif transition.allow is not None:
            verdict = transition.allow(obj, actor)
            if verdict is not True:
                option.refuse("actor", verdict if isinstance(verdict, str) else "You may not do this on this item.")
        if transition.not_by_submitter and submitter is not None and submitter == actor.id:
            option.refuse("actor", "You submitted this; someone else must act on it.")
    for name in machine.requirements(transition):
        if _is_empty(getattr(obj, name)):
            option.missing_fields.append(name)
    if option.missing_fields:
        option.refuse("requirements", "Fill in first: " + ", ".join(_label(f) for f in option.missing_fields) + ".")
    return option


def _submitter_if_needed(obj, machine, transitions):
    return submitter_id(obj, machine) if any(t.not_by_submitter for t in transitions) else None


def available_transitions(obj, actor):
    """Every transition from the current state, each with allowed True/False and the reasons why not."""
    machine = _machine(obj)
    options = machine.from_state(getattr(obj, machine.field))
    submitter = _submitter_if_needed(obj, machine, options)
    return [_check(obj, machine, transition, actor, submitter) for transition in options]


def submitter_ids(objs, machine, session=None):
    """{object id: the user who fired its latest submitting transition} for many objects, in one query (the
    set-based twin of submitter_id, for bulk planning); objects never submitted are absent."""
    ids = sorted({obj.id for obj in objs})
    if not machine.submitting or not ids:
        return {}
    session = session or db.session
    latest = (sa.select(TransitionLog.object_id, sa.func.max(TransitionLog.id).label("last_id"))
              .where(TransitionLog.object_type == machine.object_type, TransitionLog.object_id.in_(ids),
                     TransitionLog.transition.in_(machine.submitting))
              .group_by(TransitionLog.object_id).subquery())
    rows = session.execute(sa.select(TransitionLog.object_id, TransitionLog.actor_user_id)
                           .join(latest, TransitionLog.id == latest.c.last_id)).all()
    return {object_id: actor_id for object_id, actor_id in rows}


def availability_of(objs, transition, actor, session=None):
    """{object id: Availability} of a transition for many objects of one model: what fire() would say of
    each (state, actor, requirements; not the comment), in at most one query (the submitters, when a chosen
    transition needs them). `transition` is a name, or a function obj → name (None: no such step for this
    object, reported as None). A name the machine does not know gives None for every object."""
    objs = list(objs)
    if not objs:
        return {}
    machine = _machine(objs[0])
    chosen = {obj.id: machine.get(transition(obj) if callable(transition) else transition) for obj in objs}
    needy = [obj for obj in objs if chosen[obj.id] is not None and chosen[obj.id].not_by_submitter]
    submitters = submitter_ids(needy, machine, session) if needy else {}
    return {obj.id: None if chosen[obj.id] is None else
            _check(obj, machine, chosen[obj.id], actor, submitters.get(obj.id)) for obj in objs}


def _machine(obj):
    machine = machine_for(obj)
    if machine is None:
        raise TypeError(f"{type(obj).__name__} has no __state_machine__")
    return machine


def transition_for(obj, transition_name, actor):
    """(machine, transition) when the object's machine has it and the actor's role may ever fire it: NotFound
    (no such transition), NotAllowed (a role that may never fire it hears so, 403, before any question of
    version, state or input)."""
    machine = _machine(obj)
    transition = machine.get(transition_name)
    if transition is None:
        raise NotFound(f"{type(obj).__name__} has no action '{transition_name}'.")
    if transition.roles is not None and getattr(actor, "role", None) not in transition.roles:
        raise NotAllowed(f"You tried '{transition.label}' on {obj}. "
                         f"Needs the role {' or '.join(sorted(_label(r) for r in transition.roles))}.")
    return machine, transition


def fire(obj, transition_name, actor, comment=None, expected_version=None, session=None):
    """Fire a transition: lock the row, re-read it, check state, actor, requirements and comment, apply,
    run the effects, log it (the audit records the status change). Returns the TransitionLog row.

    Raises NotFound (no such transition), Conflict (stale version, or the state moved on), NotAllowed
    (the actor may not), ValidationFailed (missing fields or comment; `errors` names each).
    """
    session = session or db.session
    machine, transition = transition_for(obj, transition_name, actor)
    comment = (comment or "").strip() or None

    session.flush()
    if machine.lock is not None:
        machine.lock(obj, session)
    else:
        lock_rows(type(obj), [obj.id], session)
    session.refresh(obj)
    if expected_version not in (None, ""):
        check_version(obj, expected_version, session=session)

    option = _check(obj, machine, transition, actor,
                    submitter_id(obj, machine, session) if transition.not_by_submitter else None)
    if option.reasons_for("state"):
        raise Conflict(f"'{transition.label}' is no longer possible. {option.reasons_for('state')}")
    if option.reasons_for("actor"):
        raise NotAllowed(f"You tried '{transition.label}' on {obj}. {option.reasons_for('actor')}")
    if option.missing_fields:
        raise ValidationFailed(f"'{transition.label}' needs more information first.",
                               errors={f: [f"Required before '{transition.label}'."] for f in option.missing_fields})
    _check_comment(transition, comment)

    from_state = getattr(obj, machine.field)
    with audit_cause(f"transition '{transition.name}'"), firing(obj):
        setattr(obj, machine.field, transition.target)
        with _commenting(comment):
            for effect in transition.effects:
                effect(obj, transition, actor)
        log = TransitionLog(**_log_values(machine, transition, obj.id, from_state, actor, comment))
        session.add(log)
        session.flush()
    for callback in transition.after_commit:
        after_commit(lambda callback=callback: callback(obj, transition, actor), session)
    return log


def _check_comment(transition, comment):
    if transition.comment_required and not comment:
        raise ValidationFailed(f"'{transition.label}' needs a comment.",
                               errors={"comment": [f"Say why ('{transition.label}' needs a comment)."]})


def _log_values(machine, transition, object_id, from_state, actor, comment):
    return dict(object_type=machine.object_type, object_id=object_id, transition=transition.name,
                from_state=from_state, to_state=transition.target, actor_user_id=getattr(actor, "id", None),
                actor_label=(getattr(actor, "username", None) or "system")[:120], comment=comment)


def fire_many(objs_steps, actor, comment=None, expected_versions=None, skip_stale=False, session=None):
    """Fire transitions on many objects of one model at once, set-based (bulk operations).

    objs_steps = [(obj, transition name)] of objects checked with availability_of() (state, actor,
    requirements) at the versions `expected_versions` {id: version} (else the version loaded): inside the
    lock, the version check proves that nothing changed since, so those checks still hold. A stale object
    raises Conflict naming it, nothing written; with skip_stale the others are fired and the stale ones
    answered. Statements, whatever the number of objects: the lock (machine.lock_many), one read of the
    versions, per distinct transition one UPDATE (the state, version + 1, the sets_columns effects) and each
    batched effect's twin once (other effects run per object), one INSERT of the transition logs, one of
    the audit rows. Returns (fired ids, {stale id: reason})."""
    session = session or db.session
    objs_steps = list(objs_steps)
    if not objs_steps:
        return [], {}
    comment = (comment or "").strip() or None
    model = type(objs_steps[0][0])
    machine = _machine(objs_steps[0][0])
    groups = {}
    for obj, name in objs_steps:
        transition = transition_for(obj, name, actor)[1]
        _check_comment(transition, comment)
        groups.setdefault(transition, []).append(obj)
    expected_versions = expected_versions or {}
    objs = {obj.id: obj for obj, _ in objs_steps}
    expected = {i: int(expected_versions.get(i) or obj.version) for i, obj in objs.items()}

    session.flush()
    if machine.lock_many is not None:
        machine.lock_many(list(objs.values()), session)
    else:
        lock_rows(model, list(objs), session)
    table = model.__table__
    stale = stale_rows(model, expected, session)
    if not skip_stale:
        refuse_stale(objs.values(), expected, stale, session)

    fired, logs, entries = [], [], []
    with firing_many(model), _commenting(comment):
        for transition, members in groups.items():
            members = [obj for obj in members if obj.id not in stale]
            if not members:
                continue
            columns = {}
            for effect in transition.effects:
                if hasattr(effect, "columns"):
                    columns.update(effect.columns(transition, actor))
            pairs = [(obj.id, expected[obj.id]) for obj in members]
            written = session.execute(
                sa.update(table).where(table.c.id.in_([i for i, _ in pairs]),  # the index, then the versions
                                       sa.tuple_(table.c.id, table.c.version).in_(pairs))
                .values({machine.field: transition.target, "version": table.c.version + 1, **columns}))
            if written.rowcount != len(pairs):  # the lock and the read above make this a broken lock order
                raise Conflict("Some items changed while they were written. Reload and try again.")
            changes = {obj.id: {machine.field: (getattr(obj, machine.field), transition.target),
                                **{key: (getattr(obj, key), value) for key, value in columns.items()}}
                       for obj in members}
            with audit_cause(f"transition '{transition.name}'"):
                entries += change_entries(model, changes, versions={i: v + 1 for i, v in pairs})
            for obj in members:
                logs.append(_log_values(machine, transition, obj.id, changes[obj.id][machine.field][0], actor,
                                        comment))
                set_committed_value(obj, machine.field, transition.target)
                set_committed_value(obj, "version", expected[obj.id] + 1)
                for key, value in columns.items():
                    set_committed_value(obj, key, value)
            fired += [obj.id for obj in members]
        write_entries(entries, session.connection())
        session.execute(sa.insert(TransitionLog), logs)
        for transition, members in groups.items():
            members = [obj for obj in members if obj.id not in stale]
            if members:
                _run_effects_of_many(transition, members, actor)
                for callback in transition.after_commit:
                    for obj in members:
                        after_commit(lambda c=callback, o=obj, t=transition: c(o, t, actor), session)
        session.flush()
    return fired, stale


def _run_effects_of_many(transition, objs, actor):
    """The effects of `transition` on `objs` already moved: each batched one once, the others per object
    (sets_columns ones were written with the state)."""
    with audit_cause(f"transition '{transition.name}'"):
        for effect in transition.effects:
            if hasattr(effect, "columns"):
                continue
            if hasattr(effect, "many"):
                effect.many(objs, transition, actor)
            else:
                for obj in objs:
                    effect(obj, transition, actor)


@contextmanager
def _commenting(comment):
    token = _comment.set(comment)
    try:
        yield
    finally:
        _comment.reset(token)


_comment = ContextVar("transition_comment", default=None)


def firing_comment():
    """The comment given with the transition whose effects are running (None elsewhere): a rejection notice
    quotes it."""
    return _comment.get()


def transition_history(obj_or_type, object_id=None, session=None):
    """The transition log of one object, oldest first (one query, actors joined)."""
    session = session or db.session
    if object_id is None:
        machine = _machine(obj_or_type)
        object_type, object_id = machine.object_type, obj_or_type.id
    else:
        object_type = obj_or_type
    return list(session.scalars(
        sa.select(TransitionLog).where(TransitionLog.object_type == object_type, TransitionLog.object_id == object_id)
        .order_by(TransitionLog.id)))
