"""Calendar events: create, edit, move and delete — a whole series, one occurrence, or this and the following
ones (DOMAIN.md "Calendar"). The rules live here; views parse forms, call one function, answer.

    event = create_event(actor, title="Staff meeting", start_date=date(2026, 12, 7), start_time=time(9),
                         end_date=date(2026, 12, 7), end_time=time(10), rule=Rule("weekly"))
    update_event(event, version, actor, scope="occurrence", occurrence=start, title="Moved staff meeting")
    move_event(event, version, actor, to_date=date(2026, 12, 8), to_time=time(14))
    delete_event(event, version, actor, scope="following", occurrence=start)

Every write is version-checked (obcms.workflow.locking.check_version: a 409 names what changed and who) and
audited by the flush listener. Bad input raises ValidationFailed with the form's field names; nothing is written.
Rescheduling a work item goes through the work items' one write call (move_work_item_dates).
"""
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..auth.permissions import READ_ALL, can, require
from ..errors import ValidationFailed
from ..extensions import db
from ..workflow.locking import check_version
from ..workitems import services as workitem_services
from . import recurrence
from .models import EVENT_KINDS, VISIBILITIES, CalendarEvent

MANILA = recurrence.MANILA
SCOPES = ("series", "occurrence", "following")
FIELDS = ("title", "description", "location", "kind", "visibility", "organization_id", "all_day", "start_date",
          "start_time", "end_date", "end_time", "rule", "participant_ids")
LIMITS = {"title": 200, "location": 200, "description": 5000}
FAR = timedelta(days=366 * 200)  # "until the end": the expansion horizon for the end of a bounded series


# ------------------------------------------------------------------------------------------------- reading
def form_values(event, occurrence=None):
    """The form's fields of an event (of one occurrence when given: its Manila start and end)."""
    start = occurrence or event.starts_at.astimezone(MANILA)
    end = start + (event.ends_at - event.starts_at)
    rule = None
    if event.rrule:
        rule = recurrence.from_rrule(event.rrule, _first(event))
    last = (end - timedelta(days=1)).date() if event.all_day else end.date()
    return {"title": event.title, "description": event.description, "location": event.location, "kind": event.kind,
            "visibility": event.visibility, "organization_id": event.organization_id, "all_day": event.all_day,
            "start_date": start.date(), "start_time": None if event.all_day else start.time(),
            "end_date": last, "end_time": None if event.all_day else end.time(), "rule": rule,
            "participant_ids": [user.id for user in event.participants]}


def _first(event):
    """The series' first start as recurrence wants it: a date (all-day) or a Manila datetime."""
    start = event.starts_at.astimezone(MANILA)
    return start.date() if event.all_day else start


# ------------------------------------------------------------------------------------------------- checking
def _clean(values, actor, existing=None):
    """The model's columns (and participants) from form values, or ValidationFailed naming each field."""
    errors = {}
    out = {}

    def fail(name, message):
        errors.setdefault(name, []).append(message)

    for name in ("title", "description", "location"):
        text = (values.get(name) or "").strip()
        if len(text) > LIMITS[name]:
            fail(name, f"At most {LIMITS[name]} characters (this has {len(text)}).")
        out[name] = text
    if not out["title"]:
        fail("title", "Give the event a title.")
    out["kind"] = values.get("kind") or "meeting"
    if out["kind"] not in EVENT_KINDS:
        fail("kind", "Choose a kind from the list.")
    out["visibility"] = values.get("visibility") or "organization"
    if out["visibility"] not in VISIBILITIES:
        fail("visibility", "Choose who sees it from the list.")
    out["organization_id"] = _organization(values.get("organization_id"), actor, existing, fail)
    out["all_day"] = bool(values.get("all_day"))
    starts_at, ends_at = _times(values, out["all_day"], fail)
    out["starts_at"], out["ends_at"] = starts_at, ends_at
    rule = values.get("rule")
    out["rrule"] = None
    if rule is not None and starts_at is not None:
        first = starts_at.astimezone(MANILA)
        try:
            out["rrule"] = recurrence.to_rrule(rule, first.date() if out["all_day"] else first)
        except recurrence.RuleError as error:
            fail(getattr(error, "field", "rule") or "rule", str(error))
    participants = _participants(values.get("participant_ids") or [], fail)
    if errors:
        raise ValidationFailed("; ".join(m for messages in errors.values() for m in messages), errors=errors)
    return out, participants


def _organization(raw, actor, existing, fail):
    """The organization an event belongs to: any (or none: OOBC-wide) for the global roles; the user's own
    for everyone else."""
    if actor.role in READ_ALL:
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            fail("organization_id", "Choose an organization from the list.")
            return None
    return actor.organization_id if existing is None else existing.organization_id


def _times(values, all_day, fail):
    start_date, end_date = values.get("start_date"), values.get("end_date") or values.get("start_date")
    if not isinstance(start_date, date):
        fail("start_date", "Give the day it starts (YYYY-MM-DD).")
        return None, None
    if not isinstance(end_date, date):
        fail("end_date", "Give the day it ends (YYYY-MM-DD).")
        return None, None
    if all_day:
        if end_date < start_date:
            fail("end_date", "The last day cannot be before the first.")
            return None, None
        return (datetime.combine(start_date, time(), MANILA),
                datetime.combine(end_date + timedelta(days=1), time(), MANILA))
    start_time, end_time = values.get("start_time"), values.get("end_time")
    if not isinstance(start_time, time):
        fail("start_time", "Give the time it starts (HH:MM), or make it an all-day event.")
        return None, None
    if not isinstance(end_time, time):
        fail("end_time", "Give the time it ends (HH:MM).")
        return None, None
    starts_at, ends_at = datetime.combine(start_date, start_time, MANILA), datetime.combine(end_date, end_time, MANILA)
    if ends_at <= starts_at:
        fail("end_time", "It must end after it starts.")
        return None, None
    if ends_at - starts_at > timedelta(days=366):
        fail("end_date", "An event may last at most a year; make a longer one recur instead.")
        return None, None
    return starts_at, ends_at


def _participants(ids, fail):
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        fail("participant_ids", "Choose participants from the list.")
        return []
    if not wanted:
        return []
    users = db.session.scalars(sa.select(User).where(User.id.in_(wanted), User.is_active)).all()
    if len(users) != len(wanted):
        fail("participant_ids", "Some of the chosen people are unknown or no longer active.")
    return list(users)


def last_end(starts_at, ends_at, all_day, rrule, exdates=()):
    """The end of a series' last occurrence (UTC), or None when it never ends; `ends_at` for a single event."""
    if not rrule:
        return ends_at
    if "COUNT=" not in rrule and "UNTIL=" not in rrule:
        return None
    start, end = starts_at.astimezone(MANILA), ends_at.astimezone(MANILA)
    if all_day:
        start, end = start.date(), end.date()
    found = recurrence.occurrences(start, end, rrule, _exdates(exdates, all_day), start, start + FAR)
    if not found:
        return ends_at
    last = found[-1][1]
    return datetime.combine(last, time(), MANILA) if all_day else last


def _exdates(values, all_day):
    return [date.fromisoformat(v[:10]) if all_day else datetime.fromisoformat(v) for v in values or ()]


def _may_manage(event, actor):
    if event.organizer_id == actor.id and can(actor, "calendar.create"):
        return
    require(actor, "calendar.manage", event)


# ------------------------------------------------------------------------------------------------- writing
def create_event(actor, **values):
    """A new event organized by `actor` (who must hold calendar.create)."""
    require(actor, "calendar.create")
    columns, participants = _clean(values, actor)
    event = CalendarEvent(organizer_id=actor.id, exdates=[], **columns)
    event.last_ends_at = last_end(event.starts_at, event.ends_at, event.all_day, event.rrule)
    event.participants = participants
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event, expected_version, actor, scope="series", occurrence=None, **values):
    """Change an event: the whole series; one `occurrence` (its Manila start; an override event of its own is
    made and the series skips that start); or that occurrence and the following ones (the series is split).
    Returns the event that holds the change."""
    _may_manage(event, actor)
    scope = _scope(event, scope, occurrence)
    check_version(event, expected_version, _submitted(values))
    if scope == "occurrence":
        values = {**values, "rule": None}  # one occurrence does not recur
    columns, participants = _clean(values, actor, existing=event)
    if scope == "series":
        _apply(event, columns, participants)
        return event
    if scope == "occurrence":
        _skip(event, occurrence)
        override = CalendarEvent(organizer_id=event.organizer_id, series_id=event.id, exdates=[],
                                 recurrence_id=occurrence, **{**columns, "rrule": None})
        override.last_ends_at = override.ends_at
        override.participants = participants
        db.session.add(override)
        db.session.flush()
        return override
    head, tail = recurrence.split_before(event.rrule, _first(event), _local(occurrence, event.all_day))
    if head is None:  # from the first occurrence on: the whole series
        _apply(event, columns, participants)
        return event
    if values.get("rule") == recurrence.from_rrule(event.rrule, _first(event)):
        columns["rrule"] = tail  # the rule as it was: what is left of it (a count goes on counting)
    _set_rule(event, head)
    later = CalendarEvent(organizer_id=event.organizer_id, exdates=[], **columns)
    later.last_ends_at = last_end(later.starts_at, later.ends_at, later.all_day, later.rrule)
    later.participants = participants
    db.session.add(later)
    db.session.flush()
    return later


def move_event(event, expected_version, actor, to_date, to_time=None, scope="series", occurrence=None):
    """Reschedule: the event (or one occurrence, or the series from one on) starts on `to_date` at `to_time`
    (all-day events keep being all-day), keeping its duration. A drag on the calendar and the keyboard's
    "Move to…" both come here."""
    values = form_values(event, _local_datetime(occurrence) if occurrence else None)
    if not isinstance(to_date, date):
        raise ValidationFailed("Give the day to move it to (YYYY-MM-DD).", errors={"to_date": ["Pick a day."]})
    start = datetime.combine(values["start_date"], values["start_time"] or time(), MANILA)
    end = datetime.combine(values["end_date"] + (timedelta(days=1) if event.all_day else timedelta()),
                           values["end_time"] or time(), MANILA)
    new_start = datetime.combine(to_date, time() if event.all_day else (to_time or start.timetz().replace(tzinfo=None)),
                                 MANILA)
    new_end = new_start + (end - start)
    values.update(start_date=new_start.date(), start_time=None if event.all_day else new_start.time(),
                  end_date=(new_end - timedelta(days=1)).date() if event.all_day else new_end.date(),
                  end_time=None if event.all_day else new_end.time())
    if values["rule"] is not None and scope != "occurrence":
        values["rule"] = _rule_from(values["rule"], event, new_start)
    return update_event(event, expected_version, actor, scope, occurrence, **values)


def delete_event(event, expected_version, actor, scope="series", occurrence=None):
    """Delete an event: the whole series (with its overrides), one occurrence (skipped from now on), or that
    occurrence and the following ones (the series ends before it)."""
    _may_manage(event, actor)
    scope = _scope(event, scope, occurrence)
    check_version(event, expected_version)
    if scope == "occurrence":
        _skip(event, occurrence)
        return
    if scope == "following":
        head, _ = recurrence.split_before(event.rrule, _first(event), _local(occurrence, event.all_day))
        if head is not None:
            _set_rule(event, head)
            return
    db.session.delete(event)
    db.session.flush()


def move_work_item_dates(item, expected_version, actor, to_date):
    """Reschedule a work item from the calendar: its start (a task: its due date) goes to `to_date`, the
    other date with it; written through the work items' one write call (roll-ups and audit included)."""
    if not isinstance(to_date, date):
        raise ValidationFailed("Give the day to move it to (YYYY-MM-DD).", errors={"to_date": ["Pick a day."]})
    anchor = item.due_date if item.work_type in ("task", "subtask") or item.start_date is None else item.start_date
    if anchor is None:
        raise ValidationFailed(f"“{item.title}” has no dates to move.", errors={"to_date": ["It has no dates."]})
    shift = to_date - anchor
    changes = {}
    if item.start_date is not None:
        changes["start_date"] = item.start_date + shift
    if item.due_date is not None:
        changes["due_date"] = item.due_date + shift
    return workitem_services.update_work_item(item, expected_version, actor, **changes)


# ------------------------------------------------------------------------------------------------- helpers
def _scope(event, scope, occurrence):
    if scope not in SCOPES:
        raise ValidationFailed("Choose which events to change.", errors={"scope": [f"One of: {', '.join(SCOPES)}."]})
    if event.rrule is None:
        return "series"
    if scope != "series" and occurrence is None:
        raise ValidationFailed("Which occurrence? Open it from the calendar first.",
                               errors={"scope": ["Open the occurrence from the calendar."]})
    return scope


def _local(moment, all_day):
    moment = moment.astimezone(MANILA)
    return moment.date() if all_day else moment


def _local_datetime(moment):
    return moment.astimezone(MANILA)


def _skip(event, occurrence):
    """The series no longer has the occurrence starting at `occurrence`."""
    stamp = (_local(occurrence, event.all_day)).isoformat()
    if stamp not in (event.exdates or []):
        event.exdates = [*(event.exdates or []), stamp]
    event.last_ends_at = last_end(event.starts_at, event.ends_at, event.all_day, event.rrule, event.exdates)
    db.session.flush()


def _set_rule(event, rrule):
    event.rrule = rrule
    event.last_ends_at = last_end(event.starts_at, event.ends_at, event.all_day, event.rrule, event.exdates)
    db.session.flush()


def _apply(event, columns, participants):
    for name, value in columns.items():
        if getattr(event, name) != value:
            setattr(event, name, value)
    if [u.id for u in event.participants] != [u.id for u in participants]:
        event.participants = participants
    event.last_ends_at = last_end(event.starts_at, event.ends_at, event.all_day, event.rrule, event.exdates)
    db.session.flush()


def _rule_from(rule, event, new_start):
    """A series moved to another weekday recurs on the new one when it recurred on one named day (a rule
    without named days follows its start anyway)."""
    if rule.freq == "weekly" and len(rule.weekdays) == 1:
        old = event.starts_at.astimezone(MANILA)
        if new_start.weekday() != old.weekday():
            return type(rule)(**{**rule.__dict__, "weekdays": (recurrence.WEEKDAYS[new_start.weekday()],)})
    return rule


def _submitted(values):
    """What the conflict panel compares with the colleague's change: the fields as the model names them."""
    return {name: values[name] for name in ("title", "description", "location", "kind", "visibility")
            if name in values}
