"""Booking resources (UI.md page 8, "Resources"): the resources a user may book, the booking form with the
day's free/busy, and the decisions on a booking. The rules live in obcms/calendar/bookings.py.

    GET  /calendar/resources[?event_id=7]                          the resources this user may book
    GET  /calendar/resources/<id>/book[?date=2026-12-08][&event_id=7]   the form; htmx: the day's free/busy only
    POST /calendar/resources/<id>/book                             title, date, start_time, end_time | event_id
    POST /calendar/resources/bookings/<id>/approve|reject|cancel   version, comment (reject needs one)

A booking for a calendar event takes the event's times; for a recurring event, each occurrence in the next
OCCURRENCE_DAYS days (all or nothing). Taken time answers 409 with the form as typed and who is in the way;
field errors 422. The resource's own page (its bookings, with the actions) is calendar.resource.
"""
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import HiddenField, StringField

from ..auth.permissions import can, require
from ..errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..form_fields import Needed, ServiceForm, date_field
from ..htmx import render_page
from ..ids import parse_id
from ..transaction import writes
from ..workflow import available_transitions
from ..workflow.locking import version_number
from . import bookings
from .models import CalendarEvent, Resource
from .queries import visible_events, visible_resources

bp = Blueprint("bookings", __name__, url_prefix="/calendar/resources")

MANILA = bookings.MANILA
FREE_BUSY_ID = "free-busy"


def now():
    return datetime.now(MANILA)


class BookingForm(ServiceForm):
    title = StringField("What for", validators=[Needed()], render_kw={"maxlength": bookings.TITLE_LIMIT})
    date = date_field("Day", validators=[Needed()])
    start_time = StringField("From", validators=[Needed()], render_kw={"type": "time"})
    end_time = StringField("To", validators=[Needed()], render_kw={"type": "time"},
                           description="00:00 means midnight at the end of the day.")
    event_id = HiddenField()

    def day(self):
        return _parse(date.fromisoformat, self.date.data)

    def values(self):
        """(title, starts_at, ends_at) and {field: [errors]} from what was typed."""
        errors = {}
        day = self.day()
        start = _parse(time.fromisoformat, self.start_time.data)
        end = _parse(time.fromisoformat, self.end_time.data)
        if day is None:
            errors["date"] = ["Give the day (YYYY-MM-DD)."]
        if start is None:
            errors["start_time"] = ["Give the time it starts (HH:MM)."]
        if end is None:
            errors["end_time"] = ["Give the time it ends (HH:MM)."]
        if errors:
            return None, errors
        starts_at = datetime.combine(day, start.replace(tzinfo=None), MANILA)
        ends_at = datetime.combine(day, end.replace(tzinfo=None), MANILA)
        if end == time() and start != time():  # until midnight
            ends_at += timedelta(days=1)
        return {"title": self.title.data, "starts_at": starts_at, "ends_at": ends_at}, errors


def _parse(parse, text):
    text = (text or "").strip()
    if not text or len(text) > 20:
        return None
    try:
        return parse(text)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------- loading
def _resource(resource_id):
    item = db.session.scalar(visible_resources(sa.select(Resource).where(Resource.id == resource_id), current_user))
    if item is None:
        raise NotFound(f"There is no resource #{resource_id} here.")
    return item


def _event(raw):
    """The calendar event a booking is for (None when none is named); 404 when the user may not see it."""
    if raw in (None, ""):
        return None
    event_id = parse_id(raw)
    if event_id is None:
        raise ValidationFailed("Choose the event from the calendar.", errors={"event_id": ["Not an event."]})
    event = db.session.scalar(visible_events(sa.select(CalendarEvent).where(CalendarEvent.id == event_id),
                                             current_user))
    if event is None:
        raise NotFound(f"There is no calendar event #{event_id} here.")
    return event


def _may_book():
    require(current_user, "calendar.book")


@bp.app_template_global()
def booking_actions(booking):
    """The actions the signed-in user may take on `booking` (resource page rows): [Availability], allowed only."""
    if not (can(current_user, "calendar.book") or can(current_user, "calendar.bookings.decide")):
        return []
    return [option for option in available_transitions(booking, current_user) if option.allowed]


# ------------------------------------------------------------------------------------------------- pages
@bp.get("")
def index():
    require(current_user, "calendar.read")
    event = _event(request.args.get("event_id"))
    resources = db.session.scalars(visible_resources(sa.select(Resource), current_user)
                                   .order_by(Resource.kind, Resource.name)).all()
    return render_page("calendar/bookings/index.html", resources=resources, event=event,
                       may_book=can(current_user, "calendar.book"))


def _context(resource, form, event, day, conflict=None):
    if day is None:
        day = now().date()
    occurrences, taken = [], set()
    if event is not None:
        if event.rrule:
            found = bookings.event_occurrences(event, *bookings.occurrence_window(now()))
        else:
            found = [(event.starts_at.astimezone(MANILA), event.ends_at.astimezone(MANILA), event)]
        occurrences = found[:bookings.MAX_OCCURRENCES]
        spans = [(start, end) for start, end, _ in occurrences]
        taken = {(c.starts_at, c.ends_at) for c in bookings.clashes(resource, spans)}
    form.date.render_kw = {"type": "date", "hx-get": url_for("bookings.book_form", resource_id=resource.id),
                           "hx-trigger": "change", "hx-target": f"#{FREE_BUSY_ID}", "hx-swap": "outerHTML"}
    return dict(resource=resource, form=form, event=event, day=day, busy=bookings.free_busy(resource, day),
                occurrences=occurrences, taken=taken, conflict=conflict, free_busy_id=FREE_BUSY_ID,
                occurrence_days=bookings.OCCURRENCE_DAYS, may_read=lambda booking: can(current_user, "calendar.read", booking))


@bp.get("/<int:resource_id>/book")
def book_form(resource_id):
    """The booking form with the chosen day's free/busy (htmx, when the day changes: the free/busy only)."""
    resource = _resource(resource_id)
    _may_book()
    form = BookingForm(formdata=None)
    event = _event(request.args.get("event_id"))
    day = _parse(date.fromisoformat, request.args.get("date"))
    if event is not None:
        form.event_id.data = str(event.id)
        form.title.data = event.title
        if day is None:
            first = (bookings.event_occurrences(event, *bookings.occurrence_window(now()))[:1] if event.rrule
                     else [(event.starts_at.astimezone(MANILA), None, None)])
            day = first[0][0].date() if first else None
    form.date.data = (day or now().date()).isoformat()
    return render_page("calendar/bookings/book.html", block="free_busy", **_context(resource, form, event, day))


def _book_again(error, resource_id):
    """After a refusal (rolled back): the form as typed, with the field errors (422) or who is in the way (409)."""
    resource = _resource(resource_id)
    form = BookingForm()
    try:
        event = _event(form.event_id.data)
    except DomainError:
        event = None
    if isinstance(error, Conflict):
        return render_page("calendar/bookings/book.html", **_context(resource, form, event, form.day(), error)), 409
    form.show_failure(error)
    return render_page("calendar/bookings/book.html", **_context(resource, form, event, form.day())), 422


@bp.post("/<int:resource_id>/book")
@writes(on_error=_book_again, catch=(ValidationFailed, Conflict))
def book(resource_id):
    resource = _resource(resource_id)
    _may_book()
    form = BookingForm()
    event = _event(form.event_id.data)
    if event is None:
        values, errors = form.values()
        if errors:
            raise ValidationFailed("Please correct the highlighted fields.", errors=errors)
        made = [bookings.book(current_user, resource, **values)]
    elif event.rrule:
        made = bookings.book_occurrences(current_user, resource, event, *bookings.occurrence_window(now()))
    else:
        made = [bookings.book(current_user, resource, event.starts_at, event.ends_at, event.title, event=event)]
    first = made[0]
    state = "waiting for approval" if first.status == "pending" else "booked"
    what = (f"{len(made)} occurrences of “{first.title}”" if len(made) > 1
            else f"“{first.title}”, {bookings.describe_span(first.starts_at, first.ends_at)}")
    flash(f"{resource.name} {state} for {what}.", "success")
    return redirect(url_for("calendar.resource", resource_id=resource.id,
                            **{"from": first.starts_at.astimezone(MANILA).date().isoformat()}), code=303)


# ------------------------------------------------------------------------------------------------- decisions
def _decide_again(error, booking_id, action):
    """A decision the rules refused for missing input (a rejection without its comment): the dialog's form on a
    page of its own, with the error beside the box."""
    booking = bookings.visible_booking(booking_id, current_user)
    transition = bookings.BOOKING_MACHINE.get(action)
    return render_page("calendar/bookings/decide.html", booking=booking, transition=transition,
                       errors=error.errors or {"__all__": [error.detail]}, comment=request.form.get("comment")), 422


@bp.post("/bookings/<int:booking_id>/<any(approve,reject,cancel):action>")
@writes(on_error=_decide_again)
def decide(booking_id, action):
    booking = bookings.visible_booking(booking_id, current_user)
    if not (can(current_user, "calendar.book") or can(current_user, "calendar.bookings.decide")):
        raise NotAllowed("You may not change bookings: booking and deciding on bookings is for staff.")
    version = version_number(request.form.get("version"))
    log = bookings.decide(booking, version, current_user, action, request.form.get("comment"))
    flash(bookings.BOOKING_MACHINE.get(log.transition).done_message(booking), "success")
    return redirect(url_for("calendar.resource", resource_id=booking.resource_id,
                            **{"from": booking.starts_at.astimezone(MANILA).date().isoformat()}), code=303)
