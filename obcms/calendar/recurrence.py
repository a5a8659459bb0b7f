"""Recurring events: RFC 5545 rules as a form edits them, their occurrences inside a window, their sentences.

Rules are read in Manila wall time: a timed start in any zone is first converted to Asia/Manila, the rule is
expanded over naive Manila wall times, and the zone is attached to each occurrence afterwards. Timed events are
aware datetimes (to the second); all-day events are dates, their end exclusive. Pure: no database, no Flask.
"""

import re
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

from dateutil import rrule as dateutil_rrule

MANILA = ZoneInfo("Asia/Manila")
FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

MAX_INTERVAL = 366
MAX_COUNT = 1000

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_END_OF_DAY = time(23, 59, 59)
_ALL_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_DATEUTIL_FREQUENCY = {name: getattr(dateutil_rrule, name) for name in _ALL_FREQUENCIES}
_DATEUTIL_WEEKDAYS = (
    dateutil_rrule.MO, dateutil_rrule.TU, dateutil_rrule.WE, dateutil_rrule.TH,
    dateutil_rrule.FR, dateutil_rrule.SA, dateutil_rrule.SU,
)  # fmt: skip
_SECONDS_PER_PERIOD = {"HOURLY": 3600, "MINUTELY": 60, "SECONDLY": 1}
# Integer list parts: (smallest magnitude, largest magnitude, whether negative values are allowed).
_NUMBER_LIST_PARTS = {
    "BYSECOND": (0, 59, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_BYDAY_PATTERN = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_PATTERN = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$")


@dataclass(frozen=True)
class Rule:
    """A recurrence as a form edits it."""

    freq: str  # one of FREQUENCIES
    interval: int = 1  # 1..366
    weekdays: tuple = ()  # weekly: subset of WEEKDAYS (empty → the start's weekday)
    monthly_by: str = "day"  # monthly and yearly: "day" (the start's day of month) or "weekday" (its nth weekday)
    nth: int | None = None  # monthly_by="weekday": 1..5 or -1 (last); None → computed from the start
    count: int | None = None  # 1..1000, or None
    until: date | None = None  # inclusive last day (Manila), or None; never together with count


class RuleError(ValueError):
    """A rule that cannot be used: .field names the form field to correct, str() is a sentence for the user."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class _Recur:
    """A parsed RRULE value: every part RFC 5545 defines, as written (UNTIL kept in its written form)."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: date | datetime | None = None  # a date (DATE form), an aware UTC datetime (Z form) or a naive one (floating)
    wkst: int = 0
    byday: tuple = ()  # ((ordinal or None, weekday index with Monday 0), ...)
    bymonthday: tuple = ()
    bymonth: tuple = ()
    byyearday: tuple = ()
    byweekno: tuple = ()
    bysetpos: tuple = ()
    byhour: tuple = ()
    byminute: tuple = ()
    bysecond: tuple = ()


# ---------------------------------------------------------------------------------------------------------------
# Public interface
# ---------------------------------------------------------------------------------------------------------------


def to_rrule(rule: Rule, start: datetime | date) -> str:
    """The RFC 5545 RRULE value (no "RRULE:" prefix) for rule on a series starting at start; RuleError if invalid.

    UNTIL is the end of the until day in Manila written in UTC for timed series, a plain date for all-day series.
    """
    all_day = _is_all_day(start)
    first_day = _local_start(start).date()
    weekdays = _check_rule(rule, first_day)
    parts = [f"FREQ={rule.freq.upper()}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.freq == "weekly" and weekdays:
        parts.append("BYDAY=" + ",".join(weekdays))
    if rule.freq in ("monthly", "yearly"):
        if rule.freq == "yearly":
            parts.append(f"BYMONTH={first_day.month}")
        if rule.monthly_by == "day":
            parts.append(f"BYMONTHDAY={first_day.day}")
        else:
            nth = rule.nth if rule.nth is not None else _nth_of(first_day)
            parts.append(f"BYDAY={nth}{WEEKDAYS[first_day.weekday()]}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append("UNTIL=" + _format_until(rule.until, all_day))
    return ";".join(parts)


def from_rrule(text: str, start: datetime | date) -> Rule:
    """The Rule an RRULE value (with or without "RRULE:") stands for on a series starting at start.

    RuleError(field="rrule") for a value that cannot be read or that a Rule cannot represent.
    """
    recur = _parse(text)
    first = _local_start(start)
    rule = _rule_from_recur(recur, first)
    try:
        to_rrule(rule, start)
    except RuleError as error:
        raise RuleError("rrule", str(error)) from None
    return rule


def occurrences(
    start, end, rrule: str | None, exdates=(), window_start=None, window_end=None, limit=5000
) -> list[tuple]:
    """The occurrences [(start, end)] of a series overlapping [window_start, window_end), sorted, at most limit.

    start/end is the first occurrence: aware datetimes (results in Manila) or dates (all-day, end exclusive).
    rrule None means the single occurrence. exdates are skipped occurrence starts: aware datetimes compared by
    instant, dates by the Manila day. Window bounds are aware datetimes or dates (a date is Manila midnight);
    None leaves that side open. Only the window is expanded, so an old open-ended rule stays cheap.
    """
    all_day = _is_all_day(start)
    if _is_all_day(end) != all_day:
        raise TypeError("start and end must both be dates (all-day) or both be aware datetimes")
    first = _local_start(start)
    duration = _local_start(end) - first
    if duration < timedelta(0):
        raise ValueError("the end of an occurrence is before its start")
    lower = _local_bound(window_start)
    upper = _local_bound(window_end)
    skipped_times, skipped_days = _split_exdates(exdates, all_day)
    if limit <= 0 or (lower is not None and upper is not None and lower >= upper):
        return []

    candidates = _candidates(rrule, first, None if lower is None else lower - duration)
    found = []
    for occurrence in candidates:
        if upper is not None and occurrence >= upper:
            break
        if lower is not None and occurrence < lower and occurrence + duration <= lower:
            continue
        if occurrence in skipped_times or occurrence.date() in skipped_days:
            continue
        found.append(_as_result(occurrence, duration, all_day))
        if len(found) >= limit:
            break
    return found


def describe(rrule: str | None, start) -> str:
    """A sentence for the rule: "Once", "Every 2 weeks on Monday and Wednesday", "Every month on day 31, 10 times".

    A valid rule a Rule cannot represent reads "Repeats on a custom rule"; an unreadable one raises RuleError.
    """
    if rrule is None:
        return "Once"
    try:
        rule = from_rrule(rrule, start)
    except RuleError:
        _parse(rrule)
        return "Repeats on a custom rule"
    first_day = _local_start(start).date()
    unit = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}[rule.freq]
    sentence = f"Every {unit}" if rule.interval == 1 else f"Every {rule.interval} {unit}s"
    if rule.freq == "weekly":
        days = rule.weekdays or (WEEKDAYS[first_day.weekday()],)
        sentence += " on " + _join([_WEEKDAY_NAMES[WEEKDAYS.index(day)] for day in days])
    elif rule.freq in ("monthly", "yearly"):
        month_name = _MONTH_NAMES[first_day.month - 1]
        if rule.monthly_by == "day":
            sentence += f" on day {first_day.day}" if rule.freq == "monthly" else f" on {first_day.day} {month_name}"
        else:
            sentence += f" on the {_ORDINALS[rule.nth]} {_WEEKDAY_NAMES[first_day.weekday()]}"
            sentence += f" of {month_name}" if rule.freq == "yearly" else ""
    if rule.count is not None:
        sentence += ", once" if rule.count == 1 else f", {rule.count} times"
    if rule.until is not None:
        sentence += f", until {rule.until.day} {_MONTH_NAMES[rule.until.month - 1][:3]} {rule.until.year}"
    return sentence


def split_before(rrule: str, start, occurrence_start) -> tuple[str | None, str]:
    """Split a series for "this and following" at one of its occurrences.

    Returns (the rule of the series up to, not including, occurrence_start — None when occurrence_start is the
    first occurrence; the rule of a new series starting at occurrence_start with what is left: COUNT reduced by
    the occurrences before it, UNTIL kept). The first part ends with UNTIL on the day before occurrence_start.
    ValueError if occurrence_start is not an occurrence of the series.
    """
    if _is_all_day(occurrence_start) != _is_all_day(start):
        raise TypeError("start and occurrence_start must both be dates or both be aware datetimes")
    rule = from_rrule(rrule, start)
    first = _local_start(start)
    target = _local_start(occurrence_start)
    before = 0
    found = False
    for occurrence in _dateutil_rule(_parse(rrule), first):
        if occurrence >= target:
            found = occurrence == target
            break
        before += 1
    if not found:
        raise ValueError(f"{occurrence_start!r} is not an occurrence of the series {rrule!r} starting {start!r}")
    remaining = replace(rule, count=None if rule.count is None else rule.count - before)
    following = to_rrule(remaining, occurrence_start)
    if before == 0:
        return None, following
    earlier = to_rrule(replace(rule, count=None, until=target.date() - timedelta(days=1)), start)
    return earlier, following


def nth_weekday_options(start) -> list[tuple[int, str]]:
    """The monthly-by-weekday choices for a start: [(2, "the second Tuesday")], plus (-1, "the last Tuesday")
    when the start is in the last 7 days of its month."""
    first_day = _local_start(start).date()
    weekday_name = _WEEKDAY_NAMES[first_day.weekday()]
    options = [(_nth_of(first_day), f"the {_ORDINALS[_nth_of(first_day)]} {weekday_name}")]
    if _is_in_last_week(first_day):
        options.append((-1, f"the last {weekday_name}"))
    return options


# ---------------------------------------------------------------------------------------------------------------
# Rule ↔ RRULE
# ---------------------------------------------------------------------------------------------------------------


def _check_rule(rule: Rule, first_day: date) -> tuple:
    """Validate rule for a series whose first occurrence is on first_day; the weekdays in canonical order."""
    if rule.freq not in FREQUENCIES:
        raise RuleError("freq", "Choose how often it repeats: daily, weekly, monthly or yearly.")
    if not _is_whole_number(rule.interval) or not 1 <= rule.interval <= MAX_INTERVAL:
        raise RuleError("interval", f"The interval must be a whole number from 1 to {MAX_INTERVAL}.")
    weekdays = _check_weekdays(rule, first_day)
    _check_monthly_by(rule, first_day)
    if rule.count is not None and (not _is_whole_number(rule.count) or not 1 <= rule.count <= MAX_COUNT):
        raise RuleError("count", f"The number of times must be a whole number from 1 to {MAX_COUNT}.")
    if rule.until is not None:
        if isinstance(rule.until, datetime) or not isinstance(rule.until, date):
            raise RuleError("until", "The end date must be a date.")
        if rule.count is not None:
            raise RuleError("until", "Choose either a number of times or an end date, not both.")
        if rule.until < first_day:
            raise RuleError(
                "until", f"The end date {_short_date(rule.until)} is before the first day, {_short_date(first_day)}."
            )
    return weekdays


def _check_weekdays(rule: Rule, first_day: date) -> tuple:
    if isinstance(rule.weekdays, str) or not isinstance(rule.weekdays, tuple | list | set | frozenset):
        raise RuleError("weekdays", "Choose the days of the week from Monday to Sunday.")
    if not rule.weekdays:
        return ()
    if rule.freq != "weekly":
        raise RuleError("weekdays", "Days of the week can only be chosen for a weekly repeat.")
    unknown = [day for day in rule.weekdays if day not in WEEKDAYS]
    if unknown:
        raise RuleError("weekdays", f"Unknown day of the week {unknown[0]!r}: use MO, TU, WE, TH, FR, SA or SU.")
    start_day = WEEKDAYS[first_day.weekday()]
    if start_day not in rule.weekdays:
        raise RuleError(
            "weekdays",
            f"The days must include {_WEEKDAY_NAMES[first_day.weekday()]}, the day of the first occurrence.",
        )
    return tuple(day for day in WEEKDAYS if day in rule.weekdays)


def _check_monthly_by(rule: Rule, first_day: date) -> None:
    if rule.monthly_by not in ("day", "weekday"):
        raise RuleError("monthly_by", "Choose whether it repeats on the same day or the same weekday of the month.")
    if rule.monthly_by == "day":
        if rule.nth is not None:
            raise RuleError("monthly_by", "A week of the month can only be chosen when it repeats by weekday.")
        return
    if rule.freq not in ("monthly", "yearly"):
        raise RuleError("monthly_by", "Repeating by weekday of the month needs a monthly or yearly repeat.")
    if rule.nth is None:
        return
    allowed = [nth for nth, _label in nth_weekday_options(first_day)]
    if rule.nth not in allowed:
        weekday_name = _WEEKDAY_NAMES[first_day.weekday()]
        choices = " or ".join(f"the {_ORDINALS[nth]} {weekday_name}" for nth in allowed)
        raise RuleError(
            "monthly_by",
            f"The first occurrence is on the {_ORDINALS[_nth_of(first_day)]} {weekday_name} of its month, "
            f"so it can repeat on {choices}.",
        )


def _rule_from_recur(recur: _Recur, first: datetime) -> Rule:
    """The Rule for a parsed value, or RuleError(field="rrule") naming what a Rule cannot represent."""
    freq = recur.freq.lower()
    if freq not in FREQUENCIES:
        raise _cannot_edit(f"it repeats {freq}")
    for name in ("bysetpos", "byhour", "byminute", "bysecond", "byyearday", "byweekno"):
        if getattr(recur, name):
            raise _cannot_edit(f"it uses {name.upper()}")
    if any(day < 0 for day in recur.bymonthday):
        raise _cannot_edit("it counts days from the end of the month")
    if freq in ("daily", "weekly") and (recur.bymonthday or recur.bymonth):
        raise _cannot_edit(f"a {freq} repeat limited to some days of the month or months")
    if freq == "daily" and recur.byday:
        raise _cannot_edit("a daily repeat limited to some days of the week")
    until = None if recur.until is None else _last_day(_local_until(recur.until), first.time())
    common = {"interval": recur.interval, "count": recur.count, "until": until}
    if freq == "daily":
        return Rule(freq, **common)
    if freq == "weekly":
        if any(ordinal is not None for ordinal, _weekday in recur.byday):
            raise _cannot_edit("a weekly repeat with numbered weekdays")
        weekday_indexes = {weekday for _ordinal, weekday in recur.byday}
        # Another week start groups the days differently only when some fall before it and some from it on.
        if recur.interval > 1 and len({weekday >= recur.wkst for weekday in weekday_indexes}) > 1:
            raise _cannot_edit("its weeks start on a day other than Monday")
        return Rule(freq, weekdays=tuple(WEEKDAYS[index] for index in sorted(weekday_indexes)), **common)
    if freq == "yearly":
        if len(recur.bymonth) > 1 or (recur.bymonth and recur.bymonth[0] != first.month):
            raise _cannot_edit("it repeats in months other than the month of the first occurrence")
        if recur.byday and not recur.bymonth:
            raise _cannot_edit("it counts weekdays through the whole year")
    elif recur.bymonth:
        raise _cannot_edit("a monthly repeat limited to some months")
    if recur.byday and recur.bymonthday:
        raise _cannot_edit("it combines days of the month and weekdays")
    if recur.bymonthday:
        if recur.bymonthday != (first.day,):
            raise _cannot_edit("it repeats on days of the month other than the day of the first occurrence")
        return Rule(freq, monthly_by="day", **common)
    if recur.byday:
        if len(recur.byday) > 1:
            raise _cannot_edit("it repeats on more than one weekday of the month")
        ordinal, weekday = recur.byday[0]
        if ordinal is None:
            raise _cannot_edit(f"it repeats on every {_WEEKDAY_NAMES[weekday]} of the month")
        if weekday != first.weekday():
            raise _cannot_edit("it repeats on a weekday other than the weekday of the first occurrence")
        if ordinal not in _ORDINALS:
            raise _cannot_edit(f"it repeats on weekday number {ordinal} of the month")
        return Rule(freq, monthly_by="weekday", nth=ordinal, **common)
    return Rule(freq, monthly_by="day", **common)


def _cannot_edit(reason: str) -> RuleError:
    return RuleError("rrule", f"This repeat rule cannot be edited here: {reason}.")


@lru_cache(maxsize=4096)
def _parse(text: str) -> _Recur:
    """Read an RRULE value (RFC 5545 section 3.3.10), with or without the "RRULE:" prefix; RuleError if unreadable."""
    if not isinstance(text, str):
        raise RuleError("rrule", "The repeat rule must be text.")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    values = {}
    for segment in body.split(";"):
        if not segment.strip():
            continue
        name, equals, value = segment.partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not equals or not name or not value:
            raise RuleError("rrule", f"The repeat rule part {segment.strip()!r} could not be read.")
        if name in values:
            raise RuleError("rrule", f"The repeat rule has {name} twice.")
        values[name] = value
    freq = values.pop("FREQ", None)
    if freq is None:
        raise RuleError("rrule", "The repeat rule does not say how often it repeats (FREQ).")
    if freq not in _ALL_FREQUENCIES:
        raise RuleError("rrule", f"Unknown repeat frequency {freq!r}.")
    fields = {"freq": freq}
    if "INTERVAL" in values:
        fields["interval"] = _positive_number(values.pop("INTERVAL"), "INTERVAL")
    if "COUNT" in values:
        fields["count"] = _positive_number(values.pop("COUNT"), "COUNT")
    if "UNTIL" in values:
        if "count" in fields:
            raise RuleError("rrule", "The repeat rule has both COUNT and UNTIL.")
        fields["until"] = _parse_until(values.pop("UNTIL"))
    if "WKST" in values:
        wkst = values.pop("WKST")
        if wkst not in WEEKDAYS:
            raise RuleError("rrule", f"Unknown week start {wkst!r}.")
        fields["wkst"] = WEEKDAYS.index(wkst)
    if "BYDAY" in values:
        fields["byday"] = tuple(_parse_byday(item) for item in values.pop("BYDAY").split(","))
    for name, (smallest, largest, signed) in _NUMBER_LIST_PARTS.items():
        if name in values:
            fields[name.lower()] = tuple(
                _parse_list_number(item, name, smallest, largest, signed) for item in values.pop(name).split(",")
            )
    if values:
        raise RuleError("rrule", f"Unknown repeat rule part {sorted(values)[0]}.")
    return _Recur(**fields)


def _positive_number(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise RuleError("rrule", f"{name} must be a positive whole number.")
    return int(value)


def _parse_list_number(value: str, name: str, smallest: int, largest: int, signed: bool) -> int:
    if not re.fullmatch(r"[+-]?\d{1,3}", value) or (value[0] in "+-" and not signed):
        raise RuleError("rrule", f"{name} value {value!r} could not be read.")
    number = int(value)
    if not smallest <= abs(number) <= largest or (number < 0 and not signed) or (signed and number == 0):
        raise RuleError("rrule", f"{name} value {value!r} is out of range.")
    return number


def _parse_byday(value: str) -> tuple:
    match = _BYDAY_PATTERN.match(value.strip())
    if not match:
        raise RuleError("rrule", f"BYDAY value {value!r} could not be read.")
    ordinal = None if match.group(1) is None else int(match.group(1))
    if ordinal is not None and not 1 <= abs(ordinal) <= 53:
        raise RuleError("rrule", f"BYDAY value {value!r} is out of range.")
    return ordinal, WEEKDAYS.index(match.group(2))


def _parse_until(value: str) -> date | datetime:
    match = _UNTIL_PATTERN.match(value)
    if not match:
        raise RuleError("rrule", f"UNTIL value {value!r} could not be read.")
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), min(int(second), 59))
    except ValueError:
        raise RuleError("rrule", f"UNTIL value {value!r} is not a real date.") from None
    return moment.replace(tzinfo=UTC) if utc else moment


def _format_until(until: date, all_day: bool) -> str:
    if all_day:
        return until.strftime("%Y%m%d")
    end_of_day = datetime.combine(until, _END_OF_DAY, tzinfo=MANILA).astimezone(UTC)
    return end_of_day.strftime("%Y%m%dT%H%M%SZ")


# ---------------------------------------------------------------------------------------------------------------
# Expansion (naive Manila wall times)
# ---------------------------------------------------------------------------------------------------------------


def _candidates(rrule: str | None, first: datetime, after: datetime | None):
    """Occurrence starts (naive Manila) in order, from the first that is at or after `after` (or from the first)."""
    if rrule is None:
        return iter([first])
    recur = _parse(rrule)
    if _is_periodic(recur, first):
        return _periodic(recur, first, after)
    if _names_no_real_day(recur):  # such as February 30: dateutil would search up to the year 9999
        return iter([first])
    try:
        first_generated = _dateutil_rule(recur, first).after(first, inc=True)
    except ValueError as error:  # a combination dateutil finds empty, such as FREQ=HOURLY;INTERVAL=2;BYHOUR=3
        raise RuleError("rrule", f"This repeat rule never repeats: {error}") from None
    if first_generated == first:
        expander = _dateutil_rule(recur, first, fast_forward_to=after)
        return expander.xafter(after, inc=True) if after is not None else iter(expander)
    # RFC 5545: the start always counts as the first occurrence, even when the rule does not produce it.
    if recur.count == 1:
        return iter([first])
    rest = replace(recur, count=None if recur.count is None else recur.count - 1)
    expander = _dateutil_rule(rest, first, fast_forward_to=after)
    return chain([first], expander.xafter(after, inc=True) if after is not None else expander)


def _is_periodic(recur: _Recur, first: datetime) -> bool:
    """True for a rule that only repeats its first occurrence every INTERVAL days, weeks or months (on a day every
    month has): what the form writes most often, expanded by arithmetic instead of dateutil."""
    if recur.byday not in ((), ((None, first.weekday()),)) or (recur.byday and recur.freq != "WEEKLY"):
        return False
    if any((recur.bymonthday, recur.bymonth, recur.byyearday, recur.byweekno, recur.bysetpos, recur.byhour,
            recur.byminute, recur.bysecond)):
        return False
    return recur.freq in ("DAILY", "WEEKLY") or (recur.freq == "MONTHLY" and first.day <= 28)


def _periodic(recur: _Recur, first: datetime, after: datetime | None):
    """The starts of a periodic rule (_is_periodic) in order, from about `after`: the n-th is the first moved by n
    periods, while n < COUNT and the start is at or before UNTIL."""
    until = None if recur.until is None else _local_until(recur.until)
    if recur.freq == "MONTHLY":
        def nth(n):
            month = first.month - 1 + n * recur.interval
            return first.replace(year=first.year + month // 12, month=month % 12 + 1)
        skip = 0 if after is None else max(0, ((after.year - first.year) * 12 + after.month - first.month)
                                           // recur.interval - 1)
    else:
        step = timedelta(days=recur.interval * (7 if recur.freq == "WEEKLY" else 1))

        def nth(n):
            return first + n * step
        skip = 0 if after is None else max(0, (after - first) // step - 1)
    n = skip
    while recur.count is None or n < recur.count:
        start = nth(n)
        if until is not None and start > until:
            return
        yield start
        n += 1


def _dateutil_rule(recur: _Recur, first: datetime, fast_forward_to: datetime | None = None):
    """A dateutil rrule over naive Manila wall times for a series whose first occurrence is `first`.

    With fast_forward_to (and no COUNT), expansion starts at the latest period of the rule that begins at or before
    it, so that what lies between the first occurrence and the window is never generated. The parts dateutil would
    take from DTSTART are filled in from `first` so that moving DTSTART changes nothing else.
    """
    byday = list(recur.byday)
    bymonthday, bymonth = recur.bymonthday, recur.bymonth
    if not (recur.byweekno or recur.byyearday or recur.bymonthday or recur.byday):
        if recur.freq == "YEARLY":
            bymonth = bymonth or (first.month,)
            bymonthday = (first.day,)
        elif recur.freq == "MONTHLY":
            bymonthday = (first.day,)
        elif recur.freq == "WEEKLY":
            byday = [(None, first.weekday())]
    frequency = _DATEUTIL_FREQUENCY[recur.freq]
    byhour = recur.byhour or ((first.hour,) if frequency < dateutil_rrule.HOURLY else ())
    byminute = recur.byminute or ((first.minute,) if frequency < dateutil_rrule.MINUTELY else ())
    bysecond = recur.bysecond or ((first.second,) if frequency < dateutil_rrule.SECONDLY else ())
    dtstart = first
    if fast_forward_to is not None and recur.count is None:
        dtstart = _period_start(recur, first, fast_forward_to) or first
    return dateutil_rrule.rrule(
        frequency,
        dtstart=dtstart,
        interval=recur.interval,
        wkst=recur.wkst,
        count=recur.count,
        until=None if recur.until is None else _local_until(recur.until),
        bysetpos=recur.bysetpos or None,
        bymonth=bymonth or None,
        bymonthday=bymonthday or None,
        byyearday=recur.byyearday or None,
        byweekno=recur.byweekno or None,
        byweekday=[_weekday_for_dateutil(ordinal, weekday) for ordinal, weekday in byday] or None,
        byhour=byhour or None,
        byminute=byminute or None,
        bysecond=bysecond or None,
    )


def _names_no_real_day(recur: _Recur) -> bool:
    """True when BYMONTHDAY names only days that none of the rule's months has (February 30, April 31)."""
    if not recur.bymonthday:
        return False
    longest = max(_LONGEST_MONTH[month - 1] for month in (recur.bymonth or range(1, 13)))
    return all(abs(day) > longest for day in recur.bymonthday)


def _period_start(recur: _Recur, first: datetime, target: datetime) -> datetime | None:
    """The start of the latest period of the rule (a whole number of intervals after the first's period) that
    begins at or before target; None when that is the first occurrence's own period."""
    interval = recur.interval
    if recur.freq == "DAILY":
        step = (target.date() - first.date()).days // interval * interval
        return datetime.combine(first.date() + timedelta(days=step), time.min) if step > 0 else None
    if recur.freq == "WEEKLY":
        first_week = first.date() - timedelta(days=(first.weekday() - recur.wkst) % 7)
        target_week = target.date() - timedelta(days=(target.weekday() - recur.wkst) % 7)
        step = (target_week - first_week).days // 7 // interval * interval
        return datetime.combine(first_week + timedelta(weeks=step), time.min) if step > 0 else None
    if recur.freq == "MONTHLY":
        step = ((target.year - first.year) * 12 + target.month - first.month) // interval * interval
        month_index = first.year * 12 + first.month - 1 + step
        return datetime(month_index // 12, month_index % 12 + 1, 1) if step > 0 else None
    if recur.freq == "YEARLY":
        if recur.byweekno:  # ISO weeks of a year can start in the December before it
            return None
        step = (target.year - first.year) // interval * interval
        return datetime(first.year + step, 1, 1) if step > 0 else None
    seconds = _SECONDS_PER_PERIOD[recur.freq]
    first_period = first.replace(microsecond=0)
    if recur.freq != "SECONDLY":
        first_period = first_period.replace(second=0)
    if recur.freq == "HOURLY":
        first_period = first_period.replace(minute=0)
    step = int((target - first_period).total_seconds()) // seconds // interval * interval
    return first_period + timedelta(seconds=step * seconds) if step > 0 else None


def _weekday_for_dateutil(ordinal: int | None, weekday: int):
    return _DATEUTIL_WEEKDAYS[weekday] if ordinal is None else _DATEUTIL_WEEKDAYS[weekday](ordinal)


def _as_result(occurrence: datetime, duration: timedelta, all_day: bool) -> tuple:
    if all_day:
        return occurrence.date(), (occurrence + duration).date()
    return occurrence.replace(tzinfo=MANILA), (occurrence + duration).replace(tzinfo=MANILA)


# ---------------------------------------------------------------------------------------------------------------
# Times and days
# ---------------------------------------------------------------------------------------------------------------


def _is_all_day(value) -> bool:
    """True for a date, False for an aware datetime; TypeError/ValueError otherwise."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} is a naive datetime: give it a time zone")
        return False
    if isinstance(value, date):
        return True
    raise TypeError(f"expected a date or an aware datetime, not {type(value).__name__}")


def _local_start(value) -> datetime:
    """An occurrence start as a naive Manila wall time to the second (a date is its midnight)."""
    if _is_all_day(value):
        return datetime.combine(value, time.min)
    return value.astimezone(MANILA).replace(tzinfo=None, microsecond=0)


def _local_bound(value) -> datetime | None:
    """A window bound as a naive Manila wall time (a date is its midnight); None stays open."""
    if value is None:
        return None
    if _is_all_day(value):
        return datetime.combine(value, time.min)
    return value.astimezone(MANILA).replace(tzinfo=None)


def _local_until(until: date | datetime) -> datetime:
    """A parsed UNTIL as a naive Manila wall time: UTC converted, floating as written, a DATE to the end of its day."""
    if isinstance(until, datetime):
        return until.astimezone(MANILA).replace(tzinfo=None) if until.tzinfo is not None else until
    return datetime.combine(until, _END_OF_DAY)


def _last_day(until: datetime, time_of_day: time) -> date:
    """The last Manila day whose occurrence (at time_of_day) is at or before the UNTIL moment."""
    return until.date() if until.time() >= time_of_day else until.date() - timedelta(days=1)


def _split_exdates(exdates, all_day: bool) -> tuple:
    """Exception dates as (naive Manila instants, Manila days); for an all-day series every one is a day."""
    instants, days = set(), set()
    for value in exdates:
        if _is_all_day(value):
            days.add(value)
        elif all_day:
            days.add(_local_start(value).date())
        else:
            instants.add(_local_start(value))
    return instants, days


def _nth_of(day: date) -> int:
    """Which weekday of its month the day is: 1..5."""
    return (day.day - 1) // 7 + 1


def _is_in_last_week(day: date) -> bool:
    return day.day + 7 > monthrange(day.year, day.month)[1]


def _is_whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short_date(day: date) -> str:
    return f"{day.day} {_MONTH_NAMES[day.month - 1][:3]} {day.year}"


def _join(words: list) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
