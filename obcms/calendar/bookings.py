"""Booking resources (DOMAIN.md "Calendar": resources and bookings), and managing the resources themselves.

    booking = book(actor, room, starts_at, ends_at, "Planning workshop")            # approved, or pending
    bookings = book_occurrences(actor, room, weekly_event, window_start, window_end)  # every occurrence, or none
    decide(booking, expected_version, approver, "approve")                          # or "reject" (comment), "cancel"
    busy = free_busy(room, date(2026, 12, 8))                                       # the day view

Two pending-or-approved bookings of one resource never overlap, and the database says so:
- PostgreSQL: the exclusion constraint models.NO_OVERLAP. The service checks first (for the readable message in
  the common case), then inserts inside a SAVEPOINT; when a concurrent booking won the race, the constraint
  refuses the insert (sqlstate 23P01) and the booking now in the way is read and named in a Conflict. Two
  inserts that wait for each other on the constraint are a deadlock PostgreSQL breaks by aborting one: the
  SAVEPOINT is rolled back and that booking is checked and tried again.
- SQLite has no such constraint: the service takes the database write lock first (a no-op UPDATE, as
  obcms/workitems/tree/locking.py does), so the check and the insert that follow cannot be overtaken.

A booking of a resource that needs no approval is approved at once; otherwise it starts pending and the
resource's approvers (or an admin) approve or reject it — never the person who booked. The booker, an approver
or an admin cancels. Status changes only through BOOKING_MACHINE (obcms/workflow), registered here.
Services never commit: the caller owns the transaction.
"""
import random
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..auth.models import Organization, User
from ..auth.permissions import can, require, scope
from ..database import is_sqlite
from ..db_types import utcnow
from ..errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..ops.metrics import BOOKING_CONFLICTS
from ..workflow import StateMachine, Transition, fire, firing_comment, register_machine, sets_columns
from ..workflow.locking import check_version
from . import recurrence
from .models import BOOKING_STATUSES, HOLDING, RESOURCE_KINDS, Booking, CalendarEvent, Resource, resource_approvers

MANILA = recurrence.MANILA
OCCURRENCE_DAYS = 90  # a series is booked for its occurrences within this many days (all or nothing)
MAX_LENGTH = timedelta(days=14)
MAX_OCCURRENCES = 200  # a recurring event books at most this many occurrences at once
TITLE_LIMIT = 200
EXCLUSION_VIOLATION = "23P01"  # PostgreSQL: a row the exclusion constraint refuses
DEADLOCK = "40P01"
INSERT_ATTEMPTS = 8


# ------------------------------------------------------------------------------------------------- the machine
def may_decide(booking, actor):
    """Approvers of the booking's resource, and admins; never the person who booked it."""
    if booking.booked_by_id is not None and booking.booked_by_id == actor.id:
        return "You booked this; one of the resource's approvers must decide."
    if can(actor, "calendar.bookings.decide") or is_approver(booking.resource, actor):
        return True
    return f"Only the approvers of {booking.resource.name} (or an administrator) decide on its bookings."


def may_cancel(booking, actor):
    """The person who booked, the resource's approvers, and admins."""
    if booking.booked_by_id == actor.id and can(actor, "calendar.book"):
        return True
    if can(actor, "calendar.bookings.decide") or is_approver(booking.resource, actor):
        return True
    return "Only the person who booked, the resource's approvers or an administrator cancel a booking."


def is_approver(resource, actor):
    return actor is not None and any(user.id == actor.id for user in resource.approvers)


def visible_booking(booking_id, user):
    """A booking `user` may see (their organization's scope), or one of a resource they approve; else NotFound."""
    booking = db.session.scalar(scope(sa.select(Booking).where(Booking.id == booking_id), Booking, user))
    if booking is None:
        candidate = db.session.get(Booking, booking_id)
        if candidate is None or not is_approver(candidate.resource, user):
            raise NotFound(f"There is no booking #{booking_id} here.")
        booking = candidate
    return booking


def occurrence_window(start=None):
    """From `start` (now) to the end of the OCCURRENCE_DAYS-th day ahead (Manila): the occurrences a series books."""
    start = start or datetime.now(MANILA)
    return start, datetime.combine(start.date() + timedelta(days=OCCURRENCE_DAYS + 1), time(), MANILA)


def approved_resource_ids(actor):
    """A SELECT of the ids of the resources `actor` approves (their bookings reach them beyond their scope)."""
    return sa.select(resource_approvers.c.resource_id).where(resource_approvers.c.user_id == actor.id)


# In the same UPDATE as the status when fired for many bookings at once (fire_many).
record_decision = sets_columns(lambda transition, actor: {"decided_by_id": actor.id, "decided_at": utcnow(),
                                                          "decision_comment": firing_comment() or ""})


def _when(booking):
    return describe_span(booking.starts_at, booking.ends_at)


BOOKING_MACHINE = StateMachine(
    field="status",
    states=BOOKING_STATUSES,
    initial="pending",
    permission="calendar.read",
    transitions=[
        Transition("approve", "pending", "approved", allow=may_decide, effects=[record_decision],
                   confirm=lambda b: f"Approve {b.resource.name} for “{b.title}”, {_when(b)}?",
                   done=lambda b: f"{b.resource.name} approved for “{b.title}”, {_when(b)}."),
        Transition("reject", "pending", "rejected", allow=may_decide, effects=[record_decision],
                   comment_required=True, kind="danger",
                   done=lambda b: f"The booking of {b.resource.name} for “{b.title}” was rejected."),
        Transition("cancel", HOLDING, "cancelled", allow=may_cancel, kind="danger", label="Cancel booking",
                   confirm=lambda b: f"Cancel the booking of {b.resource.name} for “{b.title}”, {_when(b)}? "
                                     "The time becomes free for others.",
                   done=lambda b: f"The booking of {b.resource.name} for “{b.title}” was cancelled."),
    ],
)
register_machine(Booking, BOOKING_MACHINE)
ACTIONS = tuple(t.name for t in BOOKING_MACHINE.transitions)


# ------------------------------------------------------------------------------------------------- reading
def describe_span(starts_at, ends_at):
    """'09:00–11:00 on 8 Dec 2026' (Manila), or '8 Dec 2026 09:00 – 9 Dec 2026 10:00' across days."""
    start, end = starts_at.astimezone(MANILA), ends_at.astimezone(MANILA)
    if start.date() == end.date() or (end - start <= timedelta(days=1) and end.time() == time()
                                       and end.date() == start.date() + timedelta(days=1)):
        end_text = "24:00" if end.date() != start.date() else f"{end:%H:%M}"
        return f"{start:%H:%M}–{end_text} on {start.day} {start:%b %Y}"
    return f"{start.day} {start:%b %Y %H:%M} – {end.day} {end:%b %Y %H:%M}"


def _who(booking):
    user = booking.booked_by
    return user.display_name if user is not None else "someone no longer in obcms"


def describe_blocker(resource, booking):
    """'Conference Room A is booked 09:00–11:00 on 8 Dec 2026 by Moa Staff (pending approval).'"""
    pending = " (pending approval)" if booking.status == "pending" else ""
    return f"{resource.name} is booked {_when(booking)} by {_who(booking)}{pending}."


def holding_bookings(resource, starts_at, ends_at):
    """Pending and approved bookings of `resource` overlapping [starts_at, ends_at), by start (who booked loaded)."""
    return db.session.scalars(
        sa.select(Booking).options(selectinload(Booking.booked_by))
        .where(Booking.resource_id == resource.id, Booking.status.in_(HOLDING),
               Booking.starts_at < ends_at, Booking.ends_at > starts_at)
        .order_by(Booking.starts_at, Booking.id)).all()


@dataclass(frozen=True)
class Clash:
    """A wanted span and the booking in its way."""

    starts_at: datetime
    ends_at: datetime
    booking: Booking

    @property
    def wanted(self):
        return describe_span(self.starts_at, self.ends_at)


def clashes(resource, spans):
    """[Clash] for each wanted (starts_at, ends_at) that overlaps a pending or approved booking. ONE query."""
    spans = list(spans)
    if not spans:
        return []
    existing = holding_bookings(resource, min(s for s, _ in spans), max(e for _, e in spans))
    return [Clash(start, end, booking) for start, end in spans for booking in existing
            if booking.starts_at < end and booking.ends_at > start]


@dataclass(frozen=True)
class Busy:
    """One busy range of a day (clipped to the day) and the booking behind it."""

    starts_at: datetime
    ends_at: datetime
    booking: Booking


def free_busy(resource, day):
    """The busy ranges of `resource` on the Manila `day`, in order: [Busy]. ONE query."""
    start = datetime.combine(day, time(), MANILA)
    end = start + timedelta(days=1)
    return [Busy(max(b.starts_at.astimezone(MANILA), start), min(b.ends_at.astimezone(MANILA), end), b)
            for b in holding_bookings(resource, start, end)]


def event_occurrences(event, window_start, window_end):
    """[(starts_at, ends_at, event)] of `event` starting in [window_start, window_end), Manila datetimes
    (all-day occurrences from Manila midnight to midnight): a single event once, a series each occurrence
    (the occurrences edited on their own, which are events of their own, included)."""
    found = []
    for item in [event, *_overrides(event, window_start, window_end)]:
        for start, end in _expand(item, window_start, window_end):
            if window_start <= start < window_end:
                found.append((start, end, item))
    return sorted(found, key=lambda occurrence: occurrence[0])


def _overrides(event, window_start, window_end):
    if not event.rrule:
        return []
    return db.session.scalars(sa.select(CalendarEvent).where(
        CalendarEvent.series_id == event.id, CalendarEvent.starts_at < window_end,
        CalendarEvent.ends_at > window_start).order_by(CalendarEvent.starts_at)).all()


def _expand(event, window_start, window_end):
    if event.all_day:
        start, end = event.starts_at.astimezone(MANILA).date(), event.ends_at.astimezone(MANILA).date()
        days = recurrence.occurrences(start, end, event.rrule, [date.fromisoformat(d[:10]) for d in event.exdates or ()],
                                      window_start, window_end, limit=MAX_OCCURRENCES + 1)
        return [(datetime.combine(s, time(), MANILA), datetime.combine(e, time(), MANILA)) for s, e in days]
    start, end = event.starts_at.astimezone(MANILA), event.ends_at.astimezone(MANILA)
    return recurrence.occurrences(start, end, event.rrule, [datetime.fromisoformat(d) for d in event.exdates or ()],
                                  window_start, window_end, limit=MAX_OCCURRENCES + 1)


# ------------------------------------------------------------------------------------------------- booking
def book(actor, resource, starts_at, ends_at, title, event=None):
    """Book `resource` for [starts_at, ends_at) (aware datetimes). Approved at once, or pending when the
    resource needs approval. Conflict naming the booking in the way when the time is taken."""
    require(actor, "calendar.book")
    title = _title(title)
    _check_span(starts_at, ends_at)
    _check_available(resource)
    return _insert(actor, resource, [(starts_at, ends_at, title, event)])[0]


def book_occurrences(actor, resource, event, window_start, window_end):
    """Book `resource` for every occurrence of `event` starting in [window_start, window_end): all of them, or
    none — a Conflict lists each occurrence whose time is taken, and by whom."""
    require(actor, "calendar.book")
    _check_available(resource)
    if window_end <= window_start:
        raise ValidationFailed("The end of the window must be after its start.", errors={"window": ["Pick an end."]})
    found = event_occurrences(event, window_start, window_end)
    if not found:
        raise ValidationFailed(f"“{event.title}” has no occurrence between {window_start.astimezone(MANILA):%-d %b %Y} "
                               f"and {window_end.astimezone(MANILA):%-d %b %Y}: nothing to book.",
                               errors={"event_id": ["No occurrence in this period."]})
    if len(found) > MAX_OCCURRENCES:
        raise ValidationFailed(f"“{event.title}” occurs more than {MAX_OCCURRENCES} times in this period; book a "
                               "shorter period.", errors={"event_id": [f"At most {MAX_OCCURRENCES} occurrences."]})
    for (start, end, _), (next_start, _, _) in zip(found, found[1:], strict=False):
        if next_start < end:
            raise ValidationFailed(f"Occurrences of “{event.title}” overlap each other ({describe_span(start, end)}); "
                                   "book them one by one.", errors={"event_id": ["Its occurrences overlap."]})
    rows = []
    for start, end, item in found:
        _check_span(start, end)
        rows.append((start, end, _title(item.title), item))
    return _insert(actor, resource, rows)


def _insert(actor, resource, rows):
    """Insert bookings for rows [(starts_at, ends_at, title, event)], all or none (see the module's docstring)."""
    session = db.session
    session.flush()
    spans = [(start, end) for start, end, _, _ in rows]
    status = "pending" if resource.needs_approval else "approved"
    on_sqlite = is_sqlite(session)
    if on_sqlite:
        take_write_lock(session)
    for attempt in range(1, INSERT_ATTEMPTS + 1):
        _refuse_clashes(resource, spans)
        bookings = [Booking(resource_id=resource.id, event_id=event.id if event is not None else None, title=title,
                            starts_at=start, ends_at=end, status=status, booked_by_id=actor.id,
                            organization_id=actor.organization_id)
                    for start, end, title, event in rows]
        try:
            with session.begin_nested():
                session.add_all(bookings)
                session.flush()
            return bookings
        except sa.exc.IntegrityError as error:
            if on_sqlite or _sqlstate(error) != EXCLUSION_VIOLATION:
                raise
            _refuse_clashes(resource, spans)  # names the booking that won the race
            BOOKING_CONFLICTS.inc()
            raise Conflict(f"{resource.name} was booked by someone else at the same moment. Pick another time.",
                           conflicts=[]) from None
        except sa.exc.OperationalError as error:
            # Two bookings waiting for each other on the constraint: PostgreSQL aborted this one. The savepoint
            # is gone; check again (the other one has probably committed by now) and try once more.
            if on_sqlite or _sqlstate(error) != DEADLOCK or attempt == INSERT_ATTEMPTS:
                raise
            clock.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")


def take_write_lock(session=None):
    """SQLite: take the database write lock now (a no-op UPDATE), so that nobody books between our check and
    our insert. PostgreSQL needs none: its exclusion constraint decides."""
    session = session or db.session
    table = Booking.__table__
    session.execute(sa.update(table).where(sa.false()).values(id=table.c.id))


def _refuse_clashes(resource, spans):
    found = clashes(resource, spans)
    if not found:
        return
    BOOKING_CONFLICTS.inc()
    lines = []
    for clash in found:
        blocker = describe_blocker(resource, clash.booking)
        lines.append(blocker if len(spans) == 1 else f"{clash.wanted}: {blocker}")
    if len(spans) == 1:
        raise Conflict(" ".join(dict.fromkeys(lines)) + " Pick another time.", conflicts=lines)
    taken = len({(c.starts_at, c.ends_at) for c in found})
    raise Conflict(f"{resource.name} is taken for {taken} of the {len(spans)} occurrences; nothing was booked. "
                   + " ".join(lines), conflicts=lines)


def _sqlstate(error):
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


def _title(text):
    title = (text or "").strip()
    if not title:
        raise ValidationFailed("Say what the booking is for.", errors={"title": ["Say what the booking is for."]})
    if len(title) > TITLE_LIMIT:
        raise ValidationFailed(f"At most {TITLE_LIMIT} characters (this has {len(title)}).",
                               errors={"title": [f"At most {TITLE_LIMIT} characters (this has {len(title)})."]})
    return title


def _check_span(starts_at, ends_at):
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationFailed("Give the time it starts.", errors={"start_time": ["Give the time it starts."]})
    if not isinstance(ends_at, datetime) or ends_at.tzinfo is None:
        raise ValidationFailed("Give the time it ends.", errors={"end_time": ["Give the time it ends."]})
    if ends_at <= starts_at:
        raise ValidationFailed("A booking must end after it starts.", errors={"end_time": ["End after the start."]})
    if ends_at - starts_at > MAX_LENGTH:
        raise ValidationFailed(f"A booking may last at most {MAX_LENGTH.days} days.",
                               errors={"end_time": [f"At most {MAX_LENGTH.days} days."]})


def _check_available(resource):
    if not resource.available:
        raise ValidationFailed(f"{resource.name} is not available for booking just now.",
                               errors={"resource": [f"{resource.name} is not available."]})


# ------------------------------------------------------------------------------------------------- deciding
def decide(booking, expected_version, actor, action, comment=None):
    """Approve or reject a pending booking (reject needs a comment), or cancel a pending or approved one, through
    BOOKING_MACHINE: 403 for someone who may not (the booker never approves their own), 409 when the version
    the user saw is stale or the booking moved on. Returns the TransitionLog row."""
    if action not in ACTIONS:
        raise ValidationFailed(f"Unknown action '{action}'.", errors={"action": [f"One of: {', '.join(ACTIONS)}."]})
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAllowed("Sign in first.")
    try:
        return fire(booking, action, actor, comment=comment, expected_version=expected_version)
    except DomainError as error:  # the workflow names the object by str(): say which booking in words
        error.detail = error.detail.replace(str(booking), f"the booking of {booking.resource.name} for "
                                                          f"“{booking.title}”, {_when(booking)}")
        if error.detail[:1].islower():
            error.detail = error.detail[0].upper() + error.detail[1:]
        raise


def cancel(booking, expected_version, actor, comment=None):
    return decide(booking, expected_version, actor, "cancel", comment)


# ------------------------------------------------------------------------------------------------- resources
RESOURCE_LIMITS = {"name": 120, "location": 200, "description": 5000}


def _resource_values(values, existing=None):
    errors, out = {}, {}

    def fail(name, message):
        errors.setdefault(name, []).append(message)

    for name, limit in RESOURCE_LIMITS.items():
        text = (values.get(name) or "").strip()
        if len(text) > limit:
            fail(name, f"At most {limit} characters (this has {len(text)}).")
        out[name] = text
    if not out["name"]:
        fail("name", "Give the resource a name.")
    elif db.session.scalar(sa.select(Resource.id).where(
            sa.func.lower(Resource.name) == out["name"].lower(),
            Resource.id != (existing.id if existing is not None else -1))) is not None:
        fail("name", f"There is already a resource named “{out['name']}”.")
    out["kind"] = values.get("kind") or "room"
    if out["kind"] not in RESOURCE_KINDS:
        fail("kind", f"One of: {', '.join(RESOURCE_KINDS)}.")
    capacity = values.get("capacity")
    if capacity in (None, ""):
        out["capacity"] = None
    else:
        try:
            out["capacity"] = int(capacity)
        except (TypeError, ValueError):
            out["capacity"] = None
            fail("capacity", "A whole number of people.")
        else:
            if not 0 < out["capacity"] <= 100_000:
                fail("capacity", "A whole number of people, at least 1.")
    out["available"] = bool(values.get("available", True))
    out["needs_approval"] = bool(values.get("needs_approval", False))
    organization = values.get("organization")
    if organization is not None and not isinstance(organization, Organization):
        fail("organization", "Choose an organization from the list.")
    out["organization_id"] = organization.id if organization is not None else None
    approvers = list(values.get("approvers") or [])
    if any(not isinstance(user, User) or not user.is_active for user in approvers):
        fail("approvers", "Choose active users as approvers.")
    if errors:
        raise ValidationFailed("; ".join(m for messages in errors.values() for m in messages), errors=errors)
    return out, sorted(approvers, key=lambda user: user.id)


def create_resource(actor, **values):
    """A new bookable resource (administrators, from the console)."""
    require(actor, "admin.console")
    columns, approvers = _resource_values(values)
    resource = Resource(**columns)
    resource.approvers = approvers
    db.session.add(resource)
    db.session.flush()
    return resource


def update_resource(resource, expected_version, actor, **values):
    """Change a resource (administrators): version-checked against what the form was rendered with."""
    require(actor, "admin.console")
    columns, approvers = _resource_values(values, existing=resource)
    check_version(resource, expected_version, {k: v for k, v in columns.items() if k != "organization_id"})
    for name, value in columns.items():
        if getattr(resource, name) != value:
            setattr(resource, name, value)
    if [u.id for u in resource.approvers] != [u.id for u in approvers]:
        resource.approvers = approvers
    db.session.flush()
    return resource
