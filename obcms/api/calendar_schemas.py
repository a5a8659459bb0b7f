"""The calendar in the API: the window's entries, events and bookings in JSON, and what a request may send.

Shapes only; the rules (times, recurrence, who may book or decide, no double booking) are obcms/calendar's.
Days are Manila days; times are ISO 8601 with their offset.
"""
from marshmallow import Schema, fields, post_load, validate

from ..calendar import recurrence
from ..calendar.models import BOOKING_STATUSES, EVENT_KINDS, VISIBILITIES
from ..calendar.queries import MAX_DAYS
from ..calendar.services import SCOPES
from ..ids import MAX_ID
from .schemas import NO_NUL, Strict, TransitionOptionSchema, enum

ID = {"strict": True, "validate": validate.Range(1, MAX_ID)}
MODULES_PATTERN = r"^(coordination|planning|staff|resources)(,(coordination|planning|staff|resources))*$"
OCCURRENCE = r"^\d{8}(T\d{4})?$"
VERSION = {"metadata": {"description": "The version you read (or send If-Match: \"<version>\")."}}


# The window ----------------------------------------------------------------------------------------------------
class CalendarArgs(Schema):
    start = fields.Date(required=True, metadata={"description": "The first Manila day."})
    end = fields.Date(required=True, metadata={"description": f"The day after the last (at most {MAX_DAYS} days on)."})
    modules = fields.String(validate=validate.Regexp(MODULES_PATTERN, error="Comma-separated modules."),
                            metadata={"description": "Some of coordination, planning, staff, resources (default all)."})
    mine = fields.Boolean(load_default=False, metadata={"description": "Only what you organize, hold or booked."})
    organization = fields.Integer(validate=validate.Range(1, MAX_ID))
    # A page of entries as the API's lists have them (a busy month of a large portfolio holds tens of
    # thousands of activities): follow `next` for the days after, or ask for up to 5,000 at once.
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 5000),
                           metadata={"description": "At most this many entries (default 200): the window's first "
                                                    "days; `next` names the day to ask from for the rest."})


class EntrySchema(Schema):
    id = fields.String(metadata={"description": "<source>-<id>[-<part>]: stable across windows."})
    title = fields.String()
    start = fields.String(metadata={"description": "A date (all-day) or a datetime with its offset."})
    end = fields.String(metadata={"description": "Exclusive."})
    allDay = fields.Boolean()
    color = fields.String()
    url = fields.String()
    module = fields.String()
    category = fields.String()
    status = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    progress = fields.Integer(allow_none=True)
    breadcrumb = fields.String()


class CalendarWindowSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    truncated = fields.Boolean(metadata={"description": "True when only the window's first days came."})
    next = fields.Date(allow_none=True, metadata={"description": "The day to ask from again when truncated."})
    entries = fields.List(fields.Nested(EntrySchema))


# Events --------------------------------------------------------------------------------------------------------
class RuleSchema(Strict):
    """A recurrence as the event form edits it."""

    freq = enum(recurrence.FREQUENCIES, required=True)
    interval = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 366))
    weekdays = fields.List(enum(recurrence.WEEKDAYS), load_default=list, validate=validate.Length(max=7))
    monthly_by = enum(("day", "weekday"), load_default="day")
    nth = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.OneOf((1, 2, 3, 4, 5, -1)))
    count = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(1, 1000))
    until = fields.Date(allow_none=True, load_default=None)

    @post_load
    def make_rule(self, data, **kwargs):
        return recurrence.Rule(**{**data, "weekdays": tuple(data["weekdays"])})


class EventFieldsMixin:
    title = fields.String(validate=[validate.Length(max=200), NO_NUL])
    description = fields.String(validate=[validate.Length(max=5000), NO_NUL])
    location = fields.String(validate=[validate.Length(max=200), NO_NUL])
    kind = enum(EVENT_KINDS)
    visibility = enum(VISIBILITIES)
    organization_id = fields.Integer(allow_none=True, **ID)
    all_day = fields.Boolean()
    start_date = fields.Date()
    start_time = fields.Time(allow_none=True)
    end_date = fields.Date()
    end_time = fields.Time(allow_none=True)
    rule = fields.Nested(RuleSchema, allow_none=True, metadata={"description": "null: it does not recur."})
    participant_ids = fields.List(fields.Integer(**ID), validate=validate.Length(max=500))


class EventSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    location = fields.String()
    kind = enum(EVENT_KINDS)
    visibility = enum(VISIBILITIES)
    organization_id = fields.Integer(allow_none=True)
    organizer_id = fields.Integer(allow_none=True)
    all_day = fields.Boolean()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime(metadata={"description": "Exclusive; an all-day event ends at the next midnight."})
    rrule = fields.String(allow_none=True, metadata={"description": "RFC 5545 RRULE of a series."})
    exdates = fields.List(fields.String(), metadata={"description": "Starts the series skips."})
    series_id = fields.Integer(allow_none=True, metadata={"description": "The series of an edited occurrence."})
    recurrence_id = fields.DateTime(allow_none=True)
    participant_ids = fields.List(fields.Integer())
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))
    next = fields.String(allow_none=True, metadata={"description": "The next page's URL; null on the last."})


class ListArgs(Schema):
    after = fields.Integer(validate=validate.Range(0, MAX_ID),
                           metadata={"description": "Ids after this one (the `next` link carries it)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class EventCreateSchema(EventFieldsMixin, Strict):
    title = fields.String(required=True, validate=[validate.Length(max=200), NO_NUL])
    start_date = fields.Date(required=True)


class EventPatchSchema(EventFieldsMixin, Strict):
    scope = enum(SCOPES)
    occurrence = fields.String(validate=validate.Regexp(OCCURRENCE), metadata={
        "description": "The occurrence of a series (20261214T0900, Manila): with scope occurrence or following."})
    version = fields.Integer(**VERSION)


class EventDeleteArgs(Schema):
    scope = enum(SCOPES, load_default="series")
    occurrence = fields.String(validate=validate.Regexp(OCCURRENCE))
    version = fields.Integer(**VERSION)


# Bookings ------------------------------------------------------------------------------------------------------
class BookingSchema(Schema):
    id = fields.Integer()
    resource_id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    status = enum(BOOKING_STATUSES)
    booked_by_id = fields.Integer(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_comment = fields.String()
    organization_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class BookingPageSchema(Schema):
    items = fields.List(fields.Nested(BookingSchema))
    next = fields.String(allow_none=True, metadata={"description": "The next page's URL; null on the last."})


class BookingListArgs(ListArgs):
    resource = fields.Integer(validate=validate.Range(1, MAX_ID))
    status = enum(BOOKING_STATUSES)


class BookingCreateSchema(Strict):
    """A time (`title`, `starts_at`, `ends_at`), or a calendar event (`event_id`: its time, or each occurrence
    of a series in the next 90 days, all or none)."""

    resource_id = fields.Integer(required=True, **ID)
    title = fields.String(validate=[validate.Length(max=200), NO_NUL])
    starts_at = fields.AwareDateTime(default_timezone=recurrence.MANILA)
    ends_at = fields.AwareDateTime(default_timezone=recurrence.MANILA)
    event_id = fields.Integer(**ID)


class BookingsMadeSchema(Schema):
    items = fields.List(fields.Nested(BookingSchema))


class BookingTransitionsSchema(Schema):
    booking_id = fields.Integer()
    status = enum(BOOKING_STATUSES)
    version = fields.Integer()
    transitions = fields.List(fields.Nested(TransitionOptionSchema))


class BookingFiredSchema(Schema):
    booking_id = fields.Integer()
    transition = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    version = fields.Integer()
