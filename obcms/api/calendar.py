"""The calendar in the API: the window (as the calendar's JSON feed gives it), calendar events (a series, one
occurrence, or this and the following ones) and resource bookings with their decisions — through the same
reads and services as the calendar pages (obcms/calendar), scoped as they are.

    GET    /api/v1/calendar?start=2026-12-01&end=2027-01-01[&modules=planning,staff][&mine=1][&limit=1000]
    GET    /api/v1/events[?after=<id>&limit=50]        the events you may see, by id
    POST   /api/v1/events                               201, Location, ETag
    GET    /api/v1/events/<id>                          ETag
    PATCH  /api/v1/events/<id>                          only the fields sent; scope + occurrence for one of a series
    DELETE /api/v1/events/<id>[?scope=…&occurrence=…]   If-Match (or ?version=)
    GET    /api/v1/bookings[?resource=…&status=…]       your organization's bookings, by id
    POST   /api/v1/bookings                             a time, or a calendar event's (each occurrence, all or none)
    GET    /api/v1/bookings/<id>
    GET    /api/v1/bookings/<id>/transitions            approve / reject / cancel: allowed, or why not
    POST   /api/v1/bookings/<id>/transitions/<name>     If-Match (or "version"); reject needs a comment
"""
import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_login import current_user

from ..auth.permissions import can, require, scope
from ..calendar import bookings, services
from ..calendar.models import Booking, CalendarEvent, Resource
from ..calendar.queries import (
    MODULES,
    Filters,
    Window,
    occurrence_start,
    visible_event,
    visible_events,
    visible_resources,
    window_entries,
    window_json,
)
from ..errors import NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..transaction import writes
from ..workflow import transition_for
from .calendar_schemas import (
    BookingCreateSchema,
    BookingFiredSchema,
    BookingListArgs,
    BookingPageSchema,
    BookingSchema,
    BookingsMadeSchema,
    BookingTransitionsSchema,
    CalendarArgs,
    CalendarWindowSchema,
    EventCreateSchema,
    EventDeleteArgs,
    EventPageSchema,
    EventPatchSchema,
    EventSchema,
    ListArgs,
)
from .ppas import IF_MATCH, etag, expected_version, problems, transition_options
from .schemas import FireSchema
from .views import bp, takes_json

ETAG = {"ETag": {"schema": {"type": "string"}, "description": '"<version>"'}}


def _user():
    """The signed-in user itself (the calendar's reads look at it for every row)."""
    return current_user._get_current_object()


def page_of(stmt, column, args, endpoint):
    """(rows, next URL): the rows after `after` by id, `limit` of them (one query)."""
    if args.get("after") is not None:
        stmt = stmt.where(column > args["after"])
    rows = db.session.scalars(stmt.order_by(column).limit(args["limit"] + 1)).all()
    if len(rows) <= args["limit"]:
        return rows, None
    rows = rows[:args["limit"]]
    return rows, url_for(endpoint, **{**request.args.to_dict(), "after": rows[-1].id})


def versioned(body, status=200):
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{body["version"]}"'
    return response


# The window ----------------------------------------------------------------------------------------------------

@bp.route("/calendar", methods=["GET"])
@bp.arguments(CalendarArgs, location="query", as_kwargs=False)
@bp.response(200, CalendarWindowSchema)
@bp.doc(tags=["calendar"], responses=problems(401, 403, 422))
def calendar_window(args):
    """The calendar window

    Every dated thing you may see overlapping [start, end) (Manila days): work items, PPA dates, events (a
    series' occurrences) and bookings, as the calendar's JSON feed gives them. When the window holds more
    than `limit` entries, only its first days come, with `truncated` and `next` (the day to ask from again)."""
    require(current_user, "calendar.read")
    window = Window(args["start"], args["end"])
    modules = frozenset(args["modules"].split(",")) if args.get("modules") else frozenset(MODULES)
    filters = Filters(modules, args["mine"], args.get("organization"))
    entries, following = window_entries(window, _user(), filters, args["limit"])
    # the feed's JSON, as CalendarWindowSchema describes it: its dump of 1,000 entries cost a third of the request
    return jsonify(window_json(window, entries, following))


# Events --------------------------------------------------------------------------------------------------------

def event_json(event):
    return {**EventSchema().dump(event), "participant_ids": [user.id for user in event.participants]}


def load_event(event_id):
    require(current_user, "calendar.read")
    return visible_event(event_id, current_user)


@bp.route("/events", methods=["GET"])
@bp.arguments(ListArgs, location="query", as_kwargs=False)
@bp.response(200, EventPageSchema)
@bp.doc(tags=["events"], responses=problems(401, 403, 422))
def event_list(args):
    """Calendar events

    The events you may see (public ones, your organization's, private ones you organize or attend), by id,
    `limit` at a time: follow `next`. A series is one event; the calendar window gives its occurrences."""
    require(current_user, "calendar.read")
    stmt = visible_events(sa.select(CalendarEvent), current_user).options(sa.orm.selectinload(CalendarEvent.participants))
    rows, next_url = page_of(stmt, CalendarEvent.id, args, "api.event_list")
    return jsonify(items=[event_json(event) for event in rows], next=next_url)


@bp.route("/events", methods=["POST"])
@takes_json("calendar.create")
@bp.arguments(EventCreateSchema)
@bp.response(201, EventSchema, headers=ETAG)
@bp.doc(tags=["events"], responses=problems(400, 401, 403, 415, 422))
@writes
def event_create(values):
    """Create a calendar event

    Organized by you, through the same service as the event form: a time (`start_date`, `start_time`,
    `end_date`, `end_time`) or whole days (`all_day`), recurring with `rule`."""
    event = services.create_event(current_user, **values)
    response = versioned(event_json(event), 201)
    response.headers["Location"] = url_for("api.event_detail", event_id=event.id)
    return response


@bp.route("/events/<int:event_id>", methods=["GET"])
@bp.response(200, EventSchema, headers=ETAG)
@bp.doc(tags=["events"], responses=problems(401, 403, 404, missing="event"))
def event_detail(event_id):
    """One calendar event

    A single event or a whole series (its `rrule` and skipped starts), with `ETag` its version."""
    return versioned(event_json(load_event(event_id)))


def the_occurrence(event, stamp):
    """The Manila start of the occurrence `stamp` names (None when none is named); 422 when the series has
    no such occurrence."""
    if not stamp or not event.rrule:
        return None
    try:
        return occurrence_start(event, stamp)
    except NotFound as error:
        raise ValidationFailed(error.detail, errors={"occurrence": [error.detail]}) from None


@bp.route("/events/<int:event_id>", methods=["PATCH"])
@takes_json("calendar.read")
@bp.arguments(EventPatchSchema)
@bp.response(200, EventSchema, headers=ETAG)
@bp.doc(tags=["events"], parameters=[IF_MATCH],
        responses=problems(400, 401, 403, 404, 409, 415, 422, missing="event"))
@writes
def event_update(changes, event_id):
    """Change a calendar event

    Only the fields sent change. `scope`: the whole `series` (default), one `occurrence` (named by
    `occurrence`, it becomes an event of its own) or that one and the `following` (the series is split).
    Answers the event that holds the change. A stale version is a 409 naming what a colleague changed."""
    event = load_event(event_id)
    version = expected_version(event_id, changes)
    scope_name, start = changes.pop("scope", "series"), the_occurrence(event, changes.pop("occurrence", None))
    values = {**services.form_values(event, start), **changes}
    changed = services.update_event(event, version, current_user, scope=scope_name, occurrence=start, **values)
    return versioned(event_json(changed))


@bp.route("/events/<int:event_id>", methods=["DELETE"])
@bp.arguments(EventDeleteArgs, location="query", as_kwargs=False)
@bp.response(204)
@bp.doc(tags=["events"], parameters=[IF_MATCH], responses=problems(401, 403, 404, 409, 422, missing="event"))
@writes
def event_delete(args, event_id):
    """Delete a calendar event

    The whole series (default), one `occurrence` (skipped from then on) or that one and the `following`."""
    event = load_event(event_id)
    version = expected_version(event_id, dict(args))
    services.delete_event(event, version, current_user, scope=args["scope"],
                          occurrence=the_occurrence(event, args.get("occurrence")))
    return "", 204


# Bookings ------------------------------------------------------------------------------------------------------

def booking_json(booking):
    return BookingSchema().dump(booking)


def load_booking(booking_id):
    require(current_user, "calendar.read")
    return bookings.visible_booking(booking_id, current_user)


@bp.route("/bookings", methods=["GET"])
@bp.arguments(BookingListArgs, location="query", as_kwargs=False)
@bp.response(200, BookingPageSchema)
@bp.doc(tags=["bookings"], responses=problems(401, 403, 422))
def booking_list(args):
    """Bookings

    The bookings of your organization (every one for the global roles), by id, `limit` at a time."""
    require(current_user, "calendar.read")
    stmt = scope(sa.select(Booking), Booking, current_user)
    if args.get("resource"):
        stmt = stmt.where(Booking.resource_id == args["resource"])
    if args.get("status"):
        stmt = stmt.where(Booking.status == args["status"])
    rows, next_url = page_of(stmt, Booking.id, args, "api.booking_list")
    return jsonify(BookingPageSchema().dump({"items": rows, "next": next_url}))


def _refuse(field, message):
    raise ValidationFailed(message, errors={field: [message]})


@bp.route("/bookings", methods=["POST"])
@takes_json("calendar.book")
@bp.arguments(BookingCreateSchema)
@bp.response(201, BookingsMadeSchema)
@bp.doc(tags=["bookings"], responses=problems(400, 401, 403, 409, 415, 422))
@writes
def booking_create(values):
    """Book a resource

    For a time (`title`, `starts_at`, `ends_at`), or for a calendar event (`event_id`: its time; a series'
    occurrences in the next 90 days, all or none). Approved at once, or pending when the resource needs
    approval. Taken time is a 409 naming the booking in the way."""
    resource = db.session.scalar(visible_resources(sa.select(Resource).where(Resource.id == values["resource_id"]),
                                                   current_user))
    if resource is None:
        _refuse("resource_id", "No such resource to book.")
    if "event_id" in values:
        if {"title", "starts_at", "ends_at"} & set(values):
            _refuse("event_id", "Book either a calendar event or a time (title, starts_at, ends_at), not both.")
        event = db.session.scalar(visible_events(sa.select(CalendarEvent).where(CalendarEvent.id == values["event_id"]),
                                                 current_user))
        if event is None:
            _refuse("event_id", "No such calendar event.")
        if event.rrule:
            made = bookings.book_occurrences(current_user, resource, event, *bookings.occurrence_window())
        else:
            made = [bookings.book(current_user, resource, event.starts_at, event.ends_at, event.title, event=event)]
    else:
        missing = [name for name in ("title", "starts_at", "ends_at") if not values.get(name)]
        if missing:
            raise ValidationFailed("Say what for and when, or name a calendar event.",
                                   errors={name: ["Required (or send event_id)."] for name in missing})
        made = [bookings.book(current_user, resource, values["starts_at"], values["ends_at"], values["title"])]
    response = jsonify(BookingsMadeSchema().dump({"items": made}))
    response.status_code = 201
    response.headers["Location"] = url_for("api.booking_detail", booking_id=made[0].id)
    return response


@bp.route("/bookings/<int:booking_id>", methods=["GET"])
@bp.response(200, BookingSchema, headers=ETAG)
@bp.doc(tags=["bookings"], responses=problems(401, 403, 404, missing="booking"))
def booking_detail(booking_id):
    """One booking

    Of your organization, or of a resource you approve."""
    return versioned(booking_json(load_booking(booking_id)))


@bp.route("/bookings/<int:booking_id>/transitions", methods=["GET"])
@bp.response(200, BookingTransitionsSchema, headers=ETAG)
@bp.doc(tags=["bookings"], responses=problems(401, 403, 404, missing="booking"))
def booking_transitions(booking_id):
    """What you may decide on a booking

    approve, reject (with a comment) or cancel, from its status: each `allowed` or the reasons why not."""
    booking = load_booking(booking_id)
    response = jsonify(BookingTransitionsSchema().dump({
        "booking_id": booking.id, "status": booking.status, "version": booking.version,
        "transitions": transition_options(booking, current_user)}))
    response.headers["ETag"] = etag(booking)
    return response


def _may_decide(booking_id, transition):
    """Before the body is read: a booking out of reach is a 404, a transition the machine lacks a 404, then
    someone who neither books nor decides a 403 (as the resource page)."""
    transition_for(load_booking(booking_id), transition, current_user)
    if not (can(current_user, "calendar.book") or can(current_user, "calendar.bookings.decide")):
        raise NotAllowed("You may not change bookings: booking and deciding on bookings is for staff.")


@bp.route("/bookings/<int:booking_id>/transitions/<transition>", methods=["POST"])
@takes_json("calendar.read", first=_may_decide)
@bp.arguments(FireSchema)
@bp.response(200, BookingFiredSchema, headers=ETAG)
@bp.doc(tags=["bookings"], parameters=[IF_MATCH],
        responses=problems(400, 401, 403, 404, 409, 415, 422, missing="booking"))
@writes
def booking_fire(body, booking_id, transition):
    """Approve, reject or cancel a booking

    As the resource page does: approvers of its resource (never the person who booked) approve or reject
    (with a comment); the booker, an approver or an administrator cancels. A stale version is a 409."""
    booking = load_booking(booking_id)
    version = expected_version(booking_id, body)
    log = bookings.decide(booking, version, current_user, transition, body.get("comment"))
    response = jsonify(BookingFiredSchema().dump({"booking_id": booking.id, "transition": log.transition,
                                                  "from_state": log.from_state, "to_state": log.to_state,
                                                  "version": booking.version}))
    response.headers["ETag"] = etag(booking)
    return response
