"""iCalendar (RFC 5545) output of the calendar: subscription feeds and the download of one event.

    body = build_calendar("obcms – Planning", events, entries, event_url=link, base_url="https://obcms.example/")

Pure: takes the rows and entries it is given (already scoped by the caller) and what it needs to write links;
no request, no database. The text is written line by line (a component object per entry cost a millisecond
each): every TEXT value is escaped (backslash, semicolon, comma, line breaks) and long lines folded as RFC 5545
says, so nothing a user wrote can break out of its property; the `icalendar` library only gives the VTIMEZONE
and checks each RRULE once.

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
from functools import lru_cache
from urllib.parse import urljoin

from icalendar import Timezone, vRecur

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
    """The bytes of a VCALENDAR named `name` of calendar `events` (CalendarEvent rows, overrides included) and
    other calendar `entries` (queries.Entry, events excluded). `event_url(event)` gives an event's absolute
    link; entries' relative links are joined to `base_url`."""
    stamp = _utc(now or datetime.now(UTC))
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_text(name)}", f"X-WR-TIMEZONE:{TZID}", "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
             "X-PUBLISHED-TTL:PT1H", _timezone()]
    lines += event_components(events, event_url=event_url, stamp=stamp)
    for entry in entries:
        lines += entry_component(entry, base_url=base_url, stamp=stamp)
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


@lru_cache(maxsize=1)
def _timezone():
    """The VTIMEZONE of Manila, as `icalendar` writes it (already folded, without its last line break)."""
    return Timezone.from_tzid(TZID, first_date=TIMEZONE_FROM).to_ical().decode("utf-8").rstrip("\r\n")


def event_components(events, *, event_url=None, stamp):
    """The lines of the VEVENTs of calendar events: series and single events first, then overrides bound to
    their series."""
    events = list(events)
    by_id = {event.id: event for event in events}
    overrides = [event for event in events if event.series_id is not None and event.series_id in by_id]
    replaced = {}  # series id → the starts (Manila) its included overrides replace
    for override in overrides:
        replaced.setdefault(override.series_id, set()).add(_local(override.recurrence_id, by_id[override.series_id]))
    bound = {override.id for override in overrides}
    out = []
    for event in events:
        if event.id not in bound:
            out += _event(event, event.uid, stamp, event_url, skip=replaced.get(event.id, set()))
    for override in overrides:
        series = by_id[override.series_id]
        out += _event(override, series.uid, stamp, event_url, recurrence_id=_local(override.recurrence_id, series))
    return out


def _event(event, uid, stamp, event_url, skip=(), recurrence_id=None):
    lines = ["BEGIN:VEVENT", f"UID:{_text(uid)}", f"DTSTAMP:{stamp}", f"SEQUENCE:{max(event.version - 1, 0)}",
             f"LAST-MODIFIED:{_utc(event.updated_at)}", f"CREATED:{_utc(event.created_at)}",
             f"SUMMARY:{_text(event.title)}", _moment("DTSTART", _local(event.starts_at, event)),
             _moment("DTEND", _local(event.ends_at, event))]
    if recurrence_id is not None:
        lines.append(_moment("RECURRENCE-ID", recurrence_id))
    if event.rrule:
        lines.append(f"RRULE:{_rule(event.rrule)}")
        exdates = [day for day in _exdates(event) if day not in skip]
        if exdates:
            lines.append(_moment("EXDATE", *exdates))
    if event.description:
        lines.append(f"DESCRIPTION:{_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{_text(event.location)}")
    if event_url is not None:
        lines.append(f"URL:{_uri(event_url(event))}")
    lines += [f"CATEGORIES:{_text(MODULE_CATEGORIES['coordination'])},{_text(event.kind.replace('_', ' '))}",
              "END:VEVENT"]
    return lines


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


def entry_component(entry, *, base_url="", stamp):
    """The lines of the VEVENT of one non-event calendar entry (work item, PPA date, booking)."""
    lines = ["BEGIN:VEVENT", f"UID:{_text(entry.id)}@obcms", f"DTSTAMP:{stamp}"]
    if entry.version:
        lines.append(f"SEQUENCE:{max(entry.version - 1, 0)}")
    start, end = entry.start, entry.end
    if not entry.all_day:
        start, end = start.astimezone(MANILA), end.astimezone(MANILA)
    lines += [f"SUMMARY:{_text(entry.title)}", _moment("DTSTART", start), _moment("DTEND", end)]
    details = [part for part in (entry.breadcrumb, _words(entry.category), _words(entry.status),
                                 f"{entry.progress}% done" if entry.progress is not None else None) if part]
    if details:
        lines.append(f"DESCRIPTION:{_text(' · '.join(details))}")
    if entry.location:
        lines.append(f"LOCATION:{_text(entry.location)}")
    if entry.url:
        lines.append(f"URL:{_uri(urljoin(base_url, entry.url))}")
    lines.append(f"CATEGORIES:{_text(MODULE_CATEGORIES.get(entry.module, entry.module))}")
    if entry.module == "resources" and entry.status in BOOKING_STATUS:
        lines.append(f"STATUS:{BOOKING_STATUS[entry.status]}")
    lines += [f"TRANSP:{'TRANSPARENT' if entry.all_day else 'OPAQUE'}", "END:VEVENT"]
    return lines


def _words(value):
    return value.replace("_", " ") if value else None


# ------------------------------------------------------------------------------------------------- values
_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": ""})


def _text(value):
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, any line break as \\n."""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").translate(_ESCAPES)


def _uri(value):
    """A URI value: ours, but a line break in one could still start a property, so none is kept."""
    return "".join(value.split())


def _utc(moment):
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _moment(name, *values):
    """NAME;VALUE=DATE:… for days, NAME;TZID=Asia/Manila:… for Manila times (one zone for every value)."""
    if not isinstance(values[0], datetime):
        return f"{name};VALUE=DATE:" + ",".join(value.strftime("%Y%m%d") for value in values)
    return f"{name};TZID={TZID}:" + ",".join(value.astimezone(MANILA).strftime("%Y%m%dT%H%M%S") for value in values)


@lru_cache(maxsize=4096)
def _rule(rrule):
    """A stored RRULE as `icalendar` reads and writes it back (so nothing but a rule is ever written)."""
    return vRecur.from_ical(rrule).to_ical().decode("ascii")


def _fold(line):
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not in the middle of a character
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, 74  # continuation lines begin with a space
    return "\r\n ".join(parts)
