"""iCalendar (RFC 5545) output of the calendar: subscription feeds and the download of one event.

    ical = build_calendar("obcms – Planning", events, entries, event_url=link, base_url="https://obcms.example/")
    body = ical.to_ical()

Pure: takes the rows and entries it is given (already scoped by the caller) and what it needs to write links;
no request, no database. Text is escaped by the `icalendar` library, so nothing a user wrote can break out of
its property.

- A calendar event is one VEVENT with its own stable UID (`CalendarEvent.uid`), DTSTART/DTEND in Asia/Manila
  (TZID, with a VTIMEZONE) or as dates for all-day events (end exclusive), its RRULE as stored, its exception
  dates as EXDATE and SEQUENCE = version - 1 (so it rises with every change a person can see).
- An occurrence edited on its own (an override: `series_id` set) is a VEVENT with the series' UID and a
  RECURRENCE-ID naming the occurrence it replaces; that start then is not an EXDATE of the series. An override
  whose series is not given (not visible to the reader, or out of the window) stands alone under its own UID.
- Every other calendar entry (work items, PPA dates, bookings: obcms.calendar.queries.Entry) is a VEVENT with
  UID "<entry.id>@obcms", which stays the same from one fetch to the next.
"""
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urljoin

from icalendar import Calendar, Event, Timezone, vRecur

from . import recurrence

PRODID = "-//obcms//calendar//EN"
MANILA = recurrence.MANILA
TZID = "Asia/Manila"
REFRESH = timedelta(hours=1)  # how often a client should poll a feed (REFRESH-INTERVAL, X-PUBLISHED-TTL)
TIMEZONE_FROM = date(2000, 1, 1)  # the VTIMEZONE describes Manila from here on (no transition since)
MODULE_CATEGORIES = {"coordination": "Coordination", "planning": "Planning", "staff": "Staff tasks",
                     "resources": "Resources"}
BOOKING_STATUS = {"pending": "TENTATIVE", "approved": "CONFIRMED"}


def build_calendar(name, events=(), entries=(), *, event_url=None, base_url="", now=None):
    """A VCALENDAR named `name` of calendar `events` (CalendarEvent rows, overrides included) and other
    calendar `entries` (queries.Entry, events excluded). `event_url(event)` gives an event's absolute link;
    entries' relative links are joined to `base_url`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ical = Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    ical.add("x-wr-calname", name)
    ical.add("x-wr-timezone", TZID)
    ical.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    ical.add("x-published-ttl", "PT1H")
    ical.add_component(Timezone.from_tzid(TZID, first_date=TIMEZONE_FROM))
    for component in event_components(events, event_url=event_url, now=now):
        ical.add_component(component)
    for entry in entries:
        ical.add_component(entry_component(entry, base_url=base_url, now=now))
    return ical


def event_components(events, *, event_url=None, now):
    """VEVENTs of calendar events: series and single events first, then overrides bound to their series."""
    events = list(events)
    by_id = {event.id: event for event in events}
    overrides = [event for event in events if event.series_id is not None and event.series_id in by_id]
    replaced = {}  # series id → the starts (Manila) its included overrides replace
    for override in overrides:
        replaced.setdefault(override.series_id, set()).add(_local(override.recurrence_id, by_id[override.series_id]))
    bound = {override.id for override in overrides}
    out = []
    for event in events:
        if event.id in bound:
            continue
        out.append(_event(event, event.uid, now, event_url, skip=replaced.get(event.id, set())))
    for override in overrides:
        series = by_id[override.series_id]
        out.append(_event(override, series.uid, now, event_url,
                          recurrence_id=_local(override.recurrence_id, series)))
    return out


def _event(event, uid, now, event_url, skip=(), recurrence_id=None):
    component = Event()
    component.add("uid", uid)
    component.add("dtstamp", now)
    component.add("sequence", max(event.version - 1, 0))
    component.add("last-modified", event.updated_at.astimezone(UTC))
    component.add("created", event.created_at.astimezone(UTC))
    component.add("summary", event.title)
    start, end = _local(event.starts_at, event), _local(event.ends_at, event)
    component.add("dtstart", start)
    component.add("dtend", end)
    if recurrence_id is not None:
        component.add("recurrence-id", recurrence_id)
    if event.rrule:
        component.add("rrule", vRecur.from_ical(event.rrule))
        exdates = [day for day in _exdates(event) if day not in skip]
        if exdates:
            component.add("exdate", exdates)
    if event.description:
        component.add("description", event.description)
    if event.location:
        component.add("location", event.location)
    if event_url is not None:
        component.add("url", event_url(event))
    component.add("categories", [MODULE_CATEGORIES["coordination"], event.kind.replace("_", " ")])
    return component


def _local(moment, event):
    """A stored UTC moment of `event` as iCalendar wants it: its Manila day (all-day) or Manila time."""
    moment = moment.astimezone(MANILA)
    return moment.date() if event.all_day else moment


def _exdates(event):
    """The series' exception starts (stored as ISO strings) as dates (all-day) or Manila datetimes."""
    out = []
    for value in event.exdates or ():
        try:
            if event.all_day:
                out.append(date.fromisoformat(value[:10]))
            else:
                moment = datetime.fromisoformat(value)
                out.append((moment if moment.tzinfo else moment.replace(tzinfo=MANILA)).astimezone(MANILA))
        except (TypeError, ValueError):
            continue  # not a start the series could have had: nothing to skip
    return out


def entry_component(entry, *, base_url="", now):
    """The VEVENT of one non-event calendar entry (work item, PPA date, booking)."""
    component = Event()
    component.add("uid", f"{entry.id}@obcms")
    component.add("dtstamp", now)
    if entry.version:
        component.add("sequence", max(entry.version - 1, 0))
    component.add("summary", entry.title)
    start, end = entry.start, entry.end
    if not entry.all_day:
        start, end = start.astimezone(MANILA), end.astimezone(MANILA)
    component.add("dtstart", start)
    component.add("dtend", end)
    details = [part for part in (entry.breadcrumb, _words(entry.category), _words(entry.status),
                                 f"{entry.progress}% done" if entry.progress is not None else None) if part]
    if details:
        component.add("description", " · ".join(details))
    if entry.location:
        component.add("location", entry.location)
    if entry.url:
        component.add("url", urljoin(base_url, entry.url))
    component.add("categories", [MODULE_CATEGORIES.get(entry.module, entry.module)])
    if entry.module == "resources" and entry.status in BOOKING_STATUS:
        component.add("status", BOOKING_STATUS[entry.status])
    component.add("transp", "TRANSPARENT" if entry.all_day else "OPAQUE")
    return component


def _words(value):
    return value.replace("_", " ") if value else None
