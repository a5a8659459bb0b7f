"""Optimistic locking end to end: the version the user saw against the current one.

Every editable model has `version` with `__mapper_args__ = {"version_id_col": version}`: each ORM UPDATE
checks and bumps it (a concurrent write raises StaleDataError, shown as a 409). Forms and API payloads send
the version they were rendered with:

    versioned_update(org, form.version.data, {"name": form.name.data, "acronym": form.acronym.data})

A stale version raises Conflict (HTTP 409) with your_version, current_version and changed_fields
{field: {"current": …, "yours": …, "by": …}} taken from the audit trail since your version.

THE RULE FOR SET-BASED UPDATES: an UPDATE statement bypasses version_id_col, so every bulk UPDATE of a
versioned table sets `version = version + 1` itself; bump_version adds it to the values:

    session.execute(update(WorkItem).where(WorkItem.id.in_(ids)).values(bump_version({"progress": 50}, WorkItem)))
"""
import sqlalchemy as sa

from ..audit.models import AuditEntry
from ..audit.objects import object_type_of
from ..audit.recording import serialize
from ..audit.redaction import PERSONAL
from ..database import lock_rows
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..ids import parse_id


def bump_version(values, model):
    """`values` plus version = version + 1 (for UPDATE … SET of a versioned model or table)."""
    table = getattr(model, "__table__", model)
    return {**values, "version": table.c.version + 1}


VERSION_MISSING = "The form did not say which version it was editing. Reload it and try again."


def version_number(expected_version):
    """The version a form or payload sent, as an int (ValidationFailed when it is missing or no version)."""
    number = parse_id(expected_version)
    if not number:
        raise ValidationFailed(VERSION_MISSING, errors={"version": [VERSION_MISSING]})
    return number


def _same(a, b):
    return (a or "").strip() == (b or "").strip()


def changed_since(obj, your_version, submitted=None, session=None):
    """{field: {"current", "yours", "yours_changed", "by", "at"}} for what changed after `your_version`.

    From the audit trail (entries of this object with a later object_version); for models without audit
    entries, the submitted fields whose current value differs. `yours_changed` is False when the submitted
    value equals the value at your version (you left that field alone, so re-applying keeps theirs), None when
    unknown (not submitted, or redacted in the trail)."""
    session = session or db.session
    submitted = submitted or {}
    entries = session.execute(
        sa.select(AuditEntry.field, AuditEntry.old_value, AuditEntry.new_value, AuditEntry.actor_label, AuditEntry.at)
        .where(AuditEntry.object_type == object_type_of(obj), AuditEntry.object_id == obj.id,
               AuditEntry.object_version > your_version, AuditEntry.field.is_not(None))
        .order_by(AuditEntry.id)).all()
    changed, base, last = {}, {}, {}
    for name, old_value, new_value, actor_label, at in entries:
        base.setdefault(name, old_value)
        last[name] = new_value
        changed[name] = {"by": actor_label, "at": at.isoformat()}
    if not entries:
        for name, value in submitted.items():
            if hasattr(obj, name) and serialize(getattr(obj, name)) != serialize(value):
                changed[name] = {"by": None, "at": None}
    for name, facts in changed.items():
        facts["current"] = serialize(getattr(obj, name)) if hasattr(obj, name) else last.get(name)
        facts["yours"] = serialize(submitted[name]) if name in submitted else None
        known = name in submitted and name in base and base[name] != PERSONAL
        facts["yours_changed"] = (not _same(facts["yours"], base[name])) if known else None
    return changed


def conflict(obj, your_version, submitted=None, session=None):
    """The Conflict error for an edit made on `your_version` of `obj` (which holds the current state)."""
    changed = changed_since(obj, your_version, submitted, session)
    who = sorted({facts["by"] for facts in changed.values() if facts.get("by")})
    detail = (f"{obj} was changed{' by ' + ', '.join(who) if who else ''} after you opened it "
              f"(version {your_version} → {obj.version}). Compare, then apply yours again or keep theirs.")
    return Conflict(detail, your_version=your_version, current_version=obj.version, changed_fields=changed)


def check_version(obj, expected_version, submitted=None, session=None, current_version=None):
    """Raise Conflict when the version the user saw is not the current one: `current_version` when the
    caller read it inside a lock (the object is then reloaded only to describe the conflict), else
    `obj.version`. The one version check of every model (work items, PPAs, tranches, organizations …)."""
    expected = version_number(expected_version)
    current = obj.version if current_version is None else current_version
    if expected != current:
        session = session or db.session
        if current_version is not None:
            session.refresh(obj)
        raise conflict(obj, expected, submitted, session)
    return expected


def keep_theirs_where_untouched(form, error, theirs):
    """After a 409, make `form` (holding what the user sent) ready to save again on the current version:
    every field the user left alone (`yours_changed` is False) shows the colleague's value from `theirs`
    (the form data of the record as it is now), so saving keeps their change; the user's own edits stay."""
    form.version.data = error.current_version
    for name, facts in error.changed_fields.items():
        if facts.get("yours_changed") is False and name in theirs and name in form:
            form[name].process(None, theirs[name])


def resubmission(form):
    """[(name, value)] that post `form` as it stands (the conflict panel's "Apply mine again" sends them)."""
    pairs = []
    for field in form:
        if field.type in ("CSRFTokenField", "SubmitField"):
            continue
        if field.type == "BooleanField":
            pairs.extend([(field.name, "y")] if field.data else [])
        elif field.type == "SelectMultipleField":
            pairs.extend((field.name, value) for value in field.data or [])
        elif hasattr(field, "_value"):
            pairs.append((field.name, field._value()))
        else:
            pairs.append((field.name, "" if field.data is None else str(field.data)))
    return pairs


def versioned_update(obj, expected_version, changes, session=None):
    """Apply `changes` (field → value) if `obj` is still at `expected_version`, else raise Conflict.

    The row is locked and re-read first, so the comparison is with the latest committed version even when two
    saves race; the flush then bumps the version (and the audit records each changed field)."""
    session = session or db.session
    session.flush()
    lock_rows(type(obj), [obj.id], session)
    session.refresh(obj)
    check_version(obj, expected_version, changes, session)
    for name, value in changes.items():
        setattr(obj, name, value)
    session.flush()
    return obj


STALE = "Changed since you loaded the page (version {yours} → {current}). Reload and choose again."


def stale_rows(model, expected, session=None):
    """{id: reason} of the rows of `model` whose version is not the one expected ({id: version}): one read,
    inside the caller's lock (set-based writes of many rows check with it). A missing row is stale too."""
    session = session or db.session
    table = model.__table__
    current = dict(session.execute(sa.select(table.c.id, table.c.version).where(table.c.id.in_(list(expected))))
                   .all())
    return {i: STALE.format(yours=v, current=current.get(i, "deleted")) for i, v in expected.items()
            if current.get(i) != v}


def refuse_stale(objs, expected, stale, session=None):
    """When some object is stale: the Conflict check_version would raise for the first (in `objs` order)."""
    first = next((obj for obj in objs if obj.id in stale), None)
    if first is None:
        return
    session = session or db.session
    try:
        session.refresh(first)
    except sa.exc.InvalidRequestError:  # deleted meanwhile
        raise Conflict(f"{first} was deleted after you opened it. Reload the page.") from None
    raise conflict(first, expected[first.id], session=session)
