"""The calendar's reads: every dated thing a user may see that overlaps a window (DOMAIN.md "Calendar").

    window = Window(date(2026, 12, 1), date(2027, 1, 1))            # Manila days, end exclusive
    entries = calendar_entries(window, user, Filters(modules={"planning"}, mine=True))   # all of them
    entries, next_day = window_entries(window, user, filters, limit=1000)    # the first days'
    window_json(window, entries, next_day)                          # … as the JSON feed gives them
    days = calendar_days(window, user, filters, per_day=4)          # [Day(day, first 4 entries, total)]
    page = agenda_page(window, user, filters, offset=50, size=50)   # entries 51–100 of the day list

Four queries whatever the data size — work items, PPAs (with their milestones and the current approval
deadline), calendar events (recurring ones expanded inside the window only), bookings —, each restricted to
the window and scoped like every list. Nothing ever loads all events: a window is required and at most
MAX_DAYS long. The grids and the agenda load no more than they show: work items, single events and bookings
are counted per day and ranked inside the database (_DayParts), which sends only the entries shown; recurring
series (expanded in Python, an occurrence's Entry made only when shown) and PPA dates (from their JSON
milestones) are merged in. Links are formatted from one url_for per kind (_Links).
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from heapq import merge
from itertools import islice
from operator import itemgetter

import sqlalchemy as sa
from flask import url_for

from ..audit.recording import storage_type
from ..auth.permissions import READ_ALL, can, scope
from ..db_types import UTCDateTime
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..ppas.approval import ApprovalTask
from ..ppas.models import Ppa
from ..workitems.models import WorkItem, work_item_assignees
from . import recurrence
from .models import HOLDING, Booking, CalendarEvent, Resource, event_participants

MANILA = recurrence.MANILA
MAX_DAYS = 400
MODULES = ("coordination", "planning", "staff", "resources")
MODULE_LABELS = {"coordination": "Coordination", "planning": "Planning", "staff": "Staff tasks",
                 "resources": "Resources"}
# Module colours (legend, entry accents); text on them is dark or white per contrast (static/css/app.css).
MODULE_COLORS = {"coordination": "#7C3AED", "planning": "#2563EB", "staff": "#059669", "resources": "#B45309"}


@dataclass(frozen=True)
class Window:
    """Manila days [start, end): what a view shows."""

    start: date
    end: date

    def __post_init__(self):
        if self.end <= self.start:
            raise ValidationFailed("The end of the window must be after its start.",
                                   errors={"end": ["Pick an end after the start."]})
        if (self.end - self.start).days > MAX_DAYS:
            raise ValidationFailed(f"A calendar window may span at most {MAX_DAYS} days.",
                                   errors={"end": [f"Pick at most {MAX_DAYS} days."]})

    @property
    def starts_at(self):
        return datetime.combine(self.start, time(), MANILA)

    @property
    def ends_at(self):
        return datetime.combine(self.end, time(), MANILA)

    def days(self):
        """Its days, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]


@dataclass(frozen=True)
class Filters:
    modules: frozenset = frozenset(MODULES)
    mine: bool = False
    organization_id: int | None = None


@dataclass
class Entry:
    """One thing on the calendar. `start`/`end` are dates for all-day entries (end exclusive), else aware
    datetimes in Manila. Never changed once made (not frozen only because a frozen dataclass sets each field
    through object.__setattr__, which made the thousand entries of a window three times as slow to make)."""

    id: str  # "<source>-<pk>[-<part>]"
    title: str
    start: object
    end: object
    all_day: bool
    module: str
    category: str
    url: str
    status: str | None = None
    priority: str | None = None
    progress: int | None = None
    breadcrumb: str = ""
    location: str = ""
    version: int | None = None  # what a reschedule sends back (events and work items)
    movable: bool = False
    move_url: str | None = None  # where a drag posts the new day (the "Move to…" form's address)
    extra: dict = field(default_factory=dict)

    @property
    def color(self):
        return MODULE_COLORS[self.module]

    @property
    def first_day(self):
        return self.start if self.all_day else self.start.date()

    @property
    def last_day(self):
        """The last Manila day it covers."""
        if self.all_day:
            return self.end - timedelta(days=1)
        return (self.end - timedelta(microseconds=1)).date()

    def to_json(self):
        return {"id": self.id, "title": self.title, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "allDay": self.all_day, "color": self.color, "url": self.url, "module": self.module,
                "category": self.category, "status": self.status, "priority": self.priority,
                "progress": self.progress, "breadcrumb": self.breadcrumb}


def calendar_entries(window, user, filters=Filters()):
    """Every entry the user may see overlapping `window`, sorted by start (all-day first on a day), then title."""
    return window_entries(window, user, filters)[0]


def window_entries(window, user, filters=Filters(), limit=None):
    """(entries, next) of `window`, sorted as calendar_entries. With `limit`, only the first days of the window
    whose entries number at most `limit` in all (a first day with more is cut at `limit`) and `next`, the
    first day left out (None when nothing is): each source is read in order of start, at most limit + 1 rows,
    recurring series all, and an Entry is made only for a row that can be kept. FOUR queries."""
    links, entries, rows = _Links(), [], []  # rows: (first day, what makes its entries)
    modules, cap = filters.modules, (limit + 1 if limit else None)
    if modules & {"planning", "staff"}:
        may_move = _work_item_mover(user)
        rows += [(row.first_day, partial(_work_item_entries, row, links, may_move))
                 for row in db.session.execute(_first_work_items(window, user, filters, cap or 5000)).all()]
    if "planning" in modules:
        entries += _ppa_entries(window, user, filters, links)
    series = []
    if "coordination" in modules:
        events, column = _events(window, user, filters), CalendarEvent.__table__.c
        single = events.where(column.rrule.is_(None)).order_by(column.starts_at, column.id).limit(cap or 20000)
        for row in db.session.execute(sa.union_all(events.where(column.rrule.is_not(None)),
                                                   sa.select(single.subquery()))).all():
            if row.rrule:
                series.append(row)
            else:
                rows.append((row.starts_at.astimezone(MANILA).date(), partial(_event_entries, row, window, user, links)))
    if "resources" in modules:
        stmt = _bookings(window, user, filters).order_by(Booking.__table__.c.starts_at, Booking.__table__.c.id)
        rows += [(row.starts_at.astimezone(MANILA).date(), partial(_booking_entries, row, links))
                 for row in db.session.execute(stmt.limit(cap or 5000)).all()]
    firsts = sorted([entry.first_day for entry in entries] + [day for day, _ in rows])
    reach = max(firsts[limit], window.start) if limit and len(firsts) > limit else None  # nothing later is kept
    for day, make in rows:
        entries += make() if reach is None or day <= reach else []
    end = reach + timedelta(days=1) if reach else window.end
    for row in series:
        entries += _event_entries(row, Window(window.start, end), user, links)
    entries.sort(key=_order)
    if not limit or len(entries) <= limit:
        return entries, None
    cut = entries[limit].first_day
    kept = [entry for entry in entries[:limit] if entry.first_day < cut] if cut > window.start else entries[:limit]
    return kept, max(cut, window.start + timedelta(days=1))


def window_json(window, entries, following):
    """The JSON of window_entries' answer, as the calendar's feed and the API give it."""
    return {"start": window.start.isoformat(), "end": window.end.isoformat(), "truncated": following is not None,
            "next": following.isoformat() if following else None, "entries": [entry.to_json() for entry in entries]}


@dataclass(frozen=True)
class Day:
    """A day of a grid: its first entries, in order, and how many it has in all."""

    day: date
    entries: tuple
    total: int

    @property
    def more(self):
        return self.total - len(self.entries)


@dataclass(frozen=True)
class AgendaPage:
    """A page of the agenda: [(day, [entries])], the count of all entry-days in the window, where the next page
    starts (None on the last), and whether its first day began on the page before."""

    days: list
    total: int
    next_offset: int | None
    continued: bool = False

    @property
    def count(self):
        return sum(len(entries) for _, entries in self.days)


def calendar_days(window, user, filters, per_day):
    """Each day of `window` as a Day: its count and its first `per_day` entries (_order_in_day). Work items,
    single events and bookings are counted per day and ranked in SQL, and only the shown ones loaded (ONE
    query, _grid_rows); recurring series are expanded and PPA dates read in Python (a query each)."""
    links = _Links()
    others = _others_by_day(window, user, filters, links)
    parts = _DayParts(window, user, filters, {day: len(entries) for day, entries in others.items()})
    totals, shown = dict.fromkeys(window.days(), 0), {day: [] for day in window.days()}
    for row, entry in _loaded(parts.grid(per_day), window, user, links):
        totals[row.day] = row.day_total
        if entry is not None:
            shown[row.day].append(entry)
    return [Day(day, tuple(map(_made, islice(_merged(shown[day], others[day]), per_day))), totals[day])
            for day in window.days()]


def agenda_page(window, user, filters, offset, size):
    """Entries `offset` to `offset + size` of the window's day list (each entry on every day it covers; days in
    order, _order_in_day within a day), as an AgendaPage. Three queries, like calendar_days: SQL places each
    day by the counts before it and loads only the entries of the days the page touches."""
    links = _Links()
    others = _others_by_day(window, user, filters, links)
    parts = _DayParts(window, user, filters, {day: len(entries) for day, entries in others.items()})
    before, first, total, loaded = {}, {}, 0, {}
    for row, entry in _loaded(parts.agenda(offset, size), window, user, links):
        before[row.day], first[row.day], total = row.before, row.before + row.skipped, row.total
        loaded.setdefault(row.day, [])
        if entry is not None:
            loaded[row.day].append(entry)
    page, continued = {}, False
    for day in sorted(first):
        for position, entry in enumerate(_merged(loaded[day], others[day]), first[day]):
            if position >= offset + size:
                break
            if position >= offset:
                page.setdefault(day, []).append(_made(entry))
                continued = continued or (position == offset and position > before[day])
    return AgendaPage(list(page.items()), total, offset + size if offset + size < total else None, continued)


def _order(entry):
    return (entry.first_day, not entry.all_day, entry.start if not entry.all_day else time(), entry.title.lower())


def _order_in_day(entry):
    """The order of the entries of one day: all-day ones (spans) first, then by start; then by title."""
    return (not entry.all_day, entry.start if not entry.all_day else _NO_TIME, entry.title.lower())


_NO_TIME = datetime(2000, 1, 1, tzinfo=MANILA)


def _org_filter(stmt, column, filters):
    return stmt.where(column == filters.organization_id) if filters.organization_id is not None else stmt


# ------------------------------------------------------------------------------------------------- links
_PLACEHOLDER = "987654321"


def url_pattern(endpoint, name, **values):
    """url_for(endpoint) once, as a str.format pattern with "{}" where `name` goes: one url_for per entry cost
    more than all the rest of building it."""
    return url_for(endpoint, **{name: int(_PLACEHOLDER)}, **values).replace(_PLACEHOLDER, "{}", 1)


class _Links:
    """The link patterns of one request's entries."""

    def __init__(self):
        self.work_item = url_pattern("workitems.show", "item_id")
        self.move_work_item = url_pattern("calendar.move_work_item", "item_id")
        self.ppa = url_pattern("ppas.detail", "ppa_id")
        self.ppa_approval = url_pattern("ppas.detail", "ppa_id", tab="approval")
        self.event = url_pattern("calendar.event", "event_id")
        self.move_event = url_pattern("calendar.move_event", "event_id")
        self.resource = url_pattern("calendar.resource", "resource_id")
        self._manages = {}

    def may_manage(self, user, organization_id):
        """can(user, "calendar.manage") for events of the organization, asked once per organization."""
        if organization_id not in self._manages:
            self._manages[organization_id] = can(user, "calendar.manage", _Scoped(organization_id))
        return self._manages[organization_id]


# ------------------------------------------------------------------------------------------------- work items
def _work_items(window, user, filters, parts, columns):
    """Activities from start to due (planning); tasks and subtasks on their due date (staff). Projects and
    sub-projects are not entries: they span months and are the PPA's own dates. A SELECT of `columns` of
    work_items; `parts` picks some of its three: activities with a due date, those without, tasks and
    subtasks due."""
    column = WorkItem.__table__.c
    first, last = window.start, window.end - timedelta(days=1)
    types = []
    if "planning" in filters.modules:
        types.append("activity")
    if "staff" in filters.modules:
        types += ["task", "subtask"]
    def of_type(*names):
        # the names written into the SQL: a text parameter would cast the column and keep PostgreSQL from
        # reading the rows from the index alone
        return column.work_type.in_([sa.literal(t, literal_execute=True) for t in types if t in names])

    activities = of_type("activity")
    # each a range of ix_work_items_calendar (work_type, due_date, start_date …)
    conditions = {"spans": sa.and_(activities, column.due_date >= first,
                                   sa.func.coalesce(column.start_date, column.due_date) <= last),
                  "open": sa.and_(activities, column.due_date.is_(None), column.start_date.between(first, last)),
                  "due": sa.and_(of_type("task", "subtask"), column.due_date.between(first, last))}
    stmt = sa.select(*columns).where(column.calendar_visible, sa.or_(*(conditions[part] for part in parts)))
    stmt = scope(stmt, WorkItem, user)
    stmt = _org_filter(stmt, column.organization_id, filters)
    if filters.mine:
        stmt = stmt.where(column.id.in_(sa.select(work_item_assignees.c.work_item_id)
                                        .where(work_item_assignees.c.user_id == user.id)))
    return stmt


def _first_work_items(window, user, filters, limit):
    """The _work_item_columns() of the window's first `limit` work items in order of start (then id).
    ONE query: they are picked from ix_work_items_calendar alone (one SELECT per part, as _DayParts reads them;
    PostgreSQL sorts the few columns of every work item the window holds), and only those picked are read from
    the table."""
    column = WorkItem.__table__.c
    start = sa.func.coalesce(column.start_date, column.due_date).label("start")
    parts = sa.union_all(*(_work_items(window, user, filters, (part,), (column.id, start))
                           for part in ("spans", "open", "due"))).subquery("parts")
    picked = sa.select(parts).order_by(parts.c.start, parts.c.id).limit(limit).subquery("picked")
    return (sa.select(*_work_item_columns())
            .select_from(picked.join(WorkItem.__table__, column.id == picked.c.id)
                         .outerjoin(Ppa.__table__, Ppa.__table__.c.id == column.ppa_id))
            .order_by(picked.c.start, picked.c.id))


def _work_item_columns():
    """What a work item's entry is made of (work_items joined to ppas), in the order _work_item_entry reads it;
    the enums as stored (no per-value result processing)."""
    item = WorkItem.__table__.c
    work_type, status, priority = (sa.type_coerce(c, storage_type(c)).label(c.name)
                                   for c in (item.work_type, item.status, item.priority))
    return (_work_item_span(item)[0].label("first_day"), item.id, item.title, work_type, status, priority,
            item.progress, item.start_date, item.due_date, item.version, item.organization_id, item.ppa_id,
            Ppa.__table__.c.code.label("ppa_code"))


def _work_item_span(column):
    """(first day, last day) of a work item's entry: its due date for tasks, start to due for activities."""
    is_task = column.work_type.in_(("task", "subtask"))
    return (sa.case((is_task, column.due_date), else_=sa.func.coalesce(column.start_date, column.due_date)),
            sa.func.coalesce(column.due_date, column.start_date))


def _work_item_mover(user):
    """Whether the user may move a work item of organization x: a function of x."""
    if not can(user, "workitem.edit"):
        return lambda organization_id: False
    if user.role in READ_ALL:
        return lambda organization_id: True
    own = user.organization_id
    return lambda organization_id: organization_id == own


def _work_item_entries(values, links, may_move):
    return [_work_item_entry(values, links, may_move)]


def _work_item_entry(values, links, may_move):
    """The entry of a work item from the values of _work_item_columns(): unpacked by position, for a thousand
    rows' attributes read by name cost more than the rest of making their entries."""
    first, item_id, title, work_type, status, priority, progress, start, due, version, organization_id, ppa_id, \
        ppa_code = values
    is_task = work_type in ("task", "subtask")
    return Entry(f"workitem-{item_id}", title, first, (due if is_task else due or start) + timedelta(days=1), True,
                 "staff" if is_task else "planning", work_type, links.work_item.format(item_id), status, priority, progress,
                 ppa_code or (f"PPA-{ppa_id}" if ppa_id else ""), version=version,
                 movable=may_move(organization_id), move_url=links.move_work_item.format(item_id))


# ------------------------------------------------------------------------------------------------- PPAs
def _ppa_entries(window, user, filters, links):
    """PPA start, milestones, target end and the current approval deadline (the review task's due date), for
    the PPAs that have one of them in the window. ONE query."""
    if filters.mine:
        return []  # PPAs are nobody's own; "only mine" shows assigned work, own bookings and events
    ppa = Ppa.__table__.c
    first, last = window.start, window.end - timedelta(days=1)
    task, item = ApprovalTask.__table__.c, WorkItem.__table__.c
    review_due = (sa.select(item.due_date).select_from(ApprovalTask.__table__.join(WorkItem.__table__,
                                                                                   item.id == task.work_item_id))
                  .where(task.ppa_id == ppa.id, task.approval_status == ppa.approval_status)
                  .order_by(task.id.desc()).limit(1).scalar_subquery())
    has_milestones = sa.and_(sa.func.json_array_length(ppa.milestones) > 0,
                             sa.func.coalesce(ppa.start_date, ppa.target_end_date) <= last,
                             sa.func.coalesce(ppa.target_end_date, ppa.start_date) >= first)
    stmt = (sa.select(ppa.id, ppa.code, ppa.title, ppa.status, ppa.approval_status, ppa.start_date,
                      ppa.target_end_date, ppa.milestones, ppa.progress, review_due.label("review_due"))
            .where(sa.or_(ppa.start_date.between(first, last), ppa.target_end_date.between(first, last),
                          has_milestones,
                          ppa.approval_status.in_(("technical_review", "budget_review", "stakeholder_consultation",
                                                   "executive_approval")))))
    stmt = _org_filter(scope(stmt, Ppa, user), ppa.implementing_moa_id, filters)
    out = []
    for row in db.session.execute(stmt.order_by(ppa.id).limit(5000)).all():
        code, url = row.code or f"PPA-{row.id}", links.ppa.format(row.id)
        dates = [("start", f"{code} starts: {row.title}", row.start_date, "ppa_start", row.status, url),
                 ("end", f"{code} target end: {row.title}", row.target_end_date, "ppa_target_end", row.status, url)]
        dates += [(f"milestone{index}", f"{code} milestone: {milestone.get('title', '')}", _date(milestone.get("date")),
                   "milestone", milestone.get("status"), url) for index, milestone in enumerate(row.milestones or [])]
        dates.append(("approval", f"{code} {row.approval_status.replace('_', ' ')} due", row.review_due,
                      "approval_deadline", row.approval_status, links.ppa_approval.format(row.id)))
        out += [Entry(f"ppa-{row.id}-{part}", title, day, day + timedelta(days=1), True, "planning", category, link,
                      status, progress=row.progress, breadcrumb=code)
                for part, title, day, category, status, link in dates if day is not None and first <= day <= last]
    return out


def _date(value):
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------- events
def visible_events(stmt, user):
    """Restrict a SELECT of calendar events to those the user may see: public ones; those of their
    organization (every organization's for the global roles); private ones they organize or take part in."""
    column = CalendarEvent.__table__.c
    takes_part = column.id.in_(sa.select(event_participants.c.event_id).where(event_participants.c.user_id == user.id))
    own = sa.or_(column.organizer_id == user.id, takes_part)
    if user.role in READ_ALL:
        org_visible = column.visibility == "organization"
    else:
        org_visible = sa.and_(column.visibility == "organization", column.organization_id == user.organization_id)
    return stmt.where(sa.or_(column.visibility == "public", org_visible, own))


def _events(window, user, filters):
    """A SELECT of the events and series that can reach the window."""
    column = CalendarEvent.__table__.c
    stmt = (sa.select(column.id, column.title, column.kind, column.all_day, column.starts_at, column.ends_at,
                      column.rrule, column.exdates, column.location, column.version, column.organizer_id,
                      column.series_id, column.organization_id)
            .where(column.starts_at < window.ends_at,
                   sa.or_(column.last_ends_at.is_(None), column.last_ends_at > window.starts_at)))
    stmt = _org_filter(visible_events(stmt, user), column.organization_id, filters)
    if filters.mine:
        stmt = stmt.where(sa.or_(column.organizer_id == user.id, column.id.in_(
            sa.select(event_participants.c.event_id).where(event_participants.c.user_id == user.id))))
    return stmt


def _event_entries(row, window, user, links):
    """The entries of an event row inside the window: one, or a series' occurrences."""
    return [_event_entry(row, start, end, user, links) for start, end in _occurrences(row, window)]


def _event_entry(row, start, end, user, links):
    may_move = row.organizer_id == user.id or links.may_manage(user, row.organization_id)
    link, move = links.event.format(row.id), links.move_event.format(row.id)
    query = f"?occurrence={_stamp(start)}" if row.rrule else ""
    return Entry(f"event-{row.id}-{_stamp(start)}" if row.rrule else f"event-{row.id}", row.title, start, end,
                 row.all_day, "coordination", row.kind, link + query, location=row.location, version=row.version,
                 movable=may_move, move_url=move + query, extra={"event_id": row.id, "recurring": bool(row.rrule)})


@dataclass(frozen=True)
class _Scoped:
    __scope_column__ = "organization_id"
    organization_id: int | None


def _occurrences(row, window):
    """[(start, end)] of an event row inside the window: dates for all-day events, Manila datetimes else."""
    if not row.rrule:
        start, end = (row.starts_at.astimezone(MANILA).replace(microsecond=0),
                      row.ends_at.astimezone(MANILA).replace(microsecond=0))
        if row.all_day:
            start, end = start.date(), end.date()
            return [(start, end)] if start < window.end and end > window.start else []
        return [(start, end)] if start < window.ends_at and end > window.starts_at else []
    if row.all_day:
        start, end = row.starts_at.astimezone(MANILA).date(), row.ends_at.astimezone(MANILA).date()
        return recurrence.occurrences(start, end, row.rrule, [_date(d[:10]) for d in row.exdates or ()],
                                      window.start, window.end)
    start, end = row.starts_at.astimezone(MANILA), row.ends_at.astimezone(MANILA)
    return recurrence.occurrences(start, end, row.rrule, [datetime.fromisoformat(d) for d in row.exdates or ()],
                                  window.starts_at, window.ends_at)


def _stamp(start):
    """An occurrence's key in URLs and ids: 20261203 (all-day) or 20261203T0900 (Manila)."""
    return start.strftime("%Y%m%d") if not isinstance(start, datetime) else start.strftime("%Y%m%dT%H%M")


# ------------------------------------------------------------------------------------------------- bookings
def visible_resources(stmt, user):
    """Restrict a SELECT of resources to those the user may book: shared ones (no organization) and their
    organization's (every one for the global roles)."""
    if user.role in READ_ALL:
        return stmt
    column = Resource.__table__.c
    return stmt.where(sa.or_(column.organization_id.is_(None), column.organization_id == user.organization_id))


def _bookings(window, user, filters):
    """A SELECT of the pending and approved bookings overlapping the window."""
    column, resource = Booking.__table__.c, Resource.__table__.c
    stmt = (sa.select(column.id, column.title, column.starts_at, column.ends_at, column.status, column.version,
                      resource.name.label("resource"), resource.id.label("resource_id"))
            .select_from(Booking.__table__.join(Resource.__table__, resource.id == column.resource_id))
            .where(column.status.in_(HOLDING), column.starts_at < window.ends_at, column.ends_at > window.starts_at))
    stmt = _org_filter(scope(stmt, Booking, user), column.organization_id, filters)
    if filters.mine:
        stmt = stmt.where(column.booked_by_id == user.id)
    return stmt


def _booking_entries(row, links):
    return [_booking_entry(row, links)]


def _booking_entry(row, links):
    return Entry(f"booking-{row.id}", f"{row.resource}: {row.title}", row.starts_at.astimezone(MANILA),
                 row.ends_at.astimezone(MANILA), False, "resources", "booking", links.resource.format(row.resource_id),
                 row.status, breadcrumb=row.resource, version=row.version)


# ------------------------------------------------------------------------------------------------- days
CANDIDATES = 400  # work items the grid ranks by title before it looks at every one of a day they leave short


class _DayParts:
    """The SQL of the per-day reads of a window, as CTEs: its days (with `extra`: the entries Python adds per
    day), the work items as spans of days clipped to it, the single events and bookings as (day, entry) pairs,
    and each day's count. Work items are counted by their first and last days (a sweep), never per day."""

    def __init__(self, window, user, filters, extra):
        first, last = window.start, window.end - timedelta(days=1)
        self.days, self.window_days, self.extra = _window_days(window, extra), window.days(), extra
        days = self.days
        self.spans = self.timed = None
        if filters.modules & {"planning", "staff"}:
            column = WorkItem.__table__.c
            begins, ends = _work_item_span(column)
            narrow = (column.id, sa.case((begins < first, sa.literal(first, sa.Date)), else_=begins).label("b"),
                      sa.case((ends > last, sa.literal(last, sa.Date)), else_=ends).label("e"),
                      sa.func.lower(column.title).label("sort_title"))
            # one SELECT per part: each can be read from the index alone (PostgreSQL)
            self.spans = sa.union_all(*(_work_items(window, user, filters, (part,), narrow)
                                        for part in ("spans", "open", "due"))).cte("spans").prefix_with("MATERIALIZED")
        timed = []
        if "coordination" in filters.modules:
            events = _events(window, user, filters).where(CalendarEvent.__table__.c.rrule.is_(None)).subquery()
            timed.append(_pairs(days, "event", events, _overlaps(events, days), sa.case((events.c.all_day, 0), else_=1),
                                sa.case((events.c.all_day, sa.null()), else_=events.c.starts_at), events.c.title))
        if "resources" in filters.modules:
            bookings = _bookings(window, user, filters).subquery()
            timed.append(_pairs(days, "booking", bookings, _overlaps(bookings, days), sa.literal(1),
                                bookings.c.starts_at, bookings.c.resource + ": " + bookings.c.title))
        if timed:
            self.timed = (sa.union_all(*timed) if len(timed) > 1 else timed[0]).cte("timed_pairs")
        totals, count = days, days.c.extra
        if self.spans is not None:
            starts, ends = _per_day(self.spans.c.b, "span_starts"), _per_day(self.spans.c.e, "span_ends")
            started, ended = sa.func.coalesce(starts.c.n, 0), sa.func.coalesce(ends.c.n, 0)
            # on a day: the spans begun by then, less those ended before it
            self.span_counts = (sa.select(days.c.day, sa.cast(sa.func.sum(started).over(order_by=days.c.day)
                                                              - sa.func.sum(ended).over(order_by=days.c.day) + ended,
                                                              sa.Integer).label("n"))
                                .select_from(days.outerjoin(starts, starts.c.day == days.c.day)
                                             .outerjoin(ends, ends.c.day == days.c.day)).cte("span_counts"))
            totals = totals.outerjoin(self.span_counts, self.span_counts.c.day == days.c.day)
            count = count + sa.func.coalesce(self.span_counts.c.n, 0)
        if self.timed is not None:
            timed_counts = _per_day(self.timed.c.day, "timed_counts")
            totals = totals.outerjoin(timed_counts, timed_counts.c.day == days.c.day)
            count = count + sa.func.coalesce(timed_counts.c.n, 0)
        self.totals = sa.select(days.c.day, days.c.extra, count.label("total")).select_from(totals).cte("totals")

    def grid(self, per_day):
        """(day, day_total, source, id) of each day's first `per_day` SQL entries, and one row (source NULL) for a
        day that has none. The spans ranked are the first CANDIDATES by title, and all of a day they leave with
        fewer than `per_day` of its spans."""
        pairs = [self.timed] if self.timed is not None else []
        if self.spans is not None:
            spans, counts, days = self.spans, self.span_counts, self.days
            top = sa.select(spans).order_by(spans.c.sort_title, spans.c.id).limit(CANDIDATES).cte("span_top")
            top_pairs = _pairs(days, "workitem", top, _covers(top, days.c.day), sa.literal(0),
                               sa.cast(sa.null(), UTCDateTime()), top.c.sort_title, lower=False).cte("span_top_pairs")
            listed = _per_day(top_pairs.c.day, "span_top_counts")
            ranked = sa.func.coalesce(listed.c.n, 0)
            short = (sa.select(counts.c.day).select_from(counts.outerjoin(listed, listed.c.day == counts.c.day))
                     .where(ranked < counts.c.n, ranked < per_day).cte("short_days"))
            pairs.append(sa.select(top_pairs).where(top_pairs.c.day.not_in(sa.select(short.c.day))).subquery())
            pairs.append(_pairs(short, "workitem", spans, _covers(spans, short.c.day), sa.literal(0),
                                sa.cast(sa.null(), UTCDateTime()), spans.c.sort_title, lower=False).subquery())
        ranked = self._ranked(pairs)
        if ranked is None:
            return sa.select(self.totals.c.day, self.totals.c.total.label("day_total"), *_NO_ENTRY)
        return (sa.select(self.totals.c.day, self.totals.c.total.label("day_total"), ranked.c.source, ranked.c.id,
                          ranked.c.rank)
                .select_from(self.totals.outerjoin(ranked, sa.and_(ranked.c.day == self.totals.c.day,
                                                                   ranked.c.rank <= per_day)))
                .order_by(self.totals.c.day, ranked.c.rank)
                .limit(len(self.window_days) * (per_day + 1)))  # what it is at most, for the planner

    def agenda(self, offset, size):
        """(day, before, skipped, total, source, id) of the SQL entries that can fall at positions [offset,
        offset + size) of the window's list: only the days that page touches (placed by the counts of the days
        before, Python's included), of each at most what the page can take, and past the `skipped` first ones
        where the day has no Python entries to interleave."""
        totals = self.totals
        placed = sa.select(totals.c.day, totals.c.total, totals.c.extra,
                           sa.cast(sa.func.sum(totals.c.total).over(order_by=totals.c.day) - totals.c.total,
                                   sa.Integer).label("before"),
                           sa.cast(sa.func.sum(totals.c.total).over(), sa.Integer).label("window_total")).cte("placed")
        needed = sa.select(placed).where(placed.c.before < offset + size,
                                         placed.c.before + placed.c.total > offset).cte("needed")
        skipped = sa.case((sa.and_(needed.c.extra == 0, needed.c.before < offset), offset - needed.c.before), else_=0)
        pairs = []
        if self.timed is not None:
            pairs.append(sa.select(self.timed).where(self.timed.c.day.in_(sa.select(needed.c.day))).subquery())
        if self.spans is not None:
            pairs.append(_pairs(needed, "workitem", self.spans, _covers(self.spans, needed.c.day), sa.literal(0),
                                sa.cast(sa.null(), UTCDateTime()), self.spans.c.sort_title, lower=False).subquery())
        ranked = self._ranked(pairs)
        columns = (needed.c.day, needed.c.before, skipped.label("skipped"), needed.c.window_total.label("total"))
        if ranked is None:
            return sa.select(*columns, *_NO_ENTRY).order_by(needed.c.day)
        at_most = size * len(self.window_days) + offset * sum(1 for n in self.extra.values() if n)
        return (sa.select(*columns, ranked.c.source, ranked.c.id, ranked.c.rank)
                .select_from(needed.outerjoin(ranked, sa.and_(ranked.c.day == needed.c.day, ranked.c.rank > skipped,
                                                              ranked.c.rank <= offset + size - needed.c.before)))
                .order_by(needed.c.day, ranked.c.rank).limit(at_most + len(self.window_days)))

    def _ranked(self, pairs):
        """The pairs numbered within their day like _order_in_day (None when there are none)."""
        if not pairs:
            return None
        rows = sa.union_all(*[sa.select(p) for p in pairs]).subquery("day_entries") if len(pairs) > 1 else \
            sa.select(pairs[0]).subquery("day_entries")
        title = rows.c.sort_title
        if db.session.get_bind().dialect.name == "postgresql":
            title = title.collate("C")  # code point order, as Python sorts the entries it merges in
        order = (rows.c.timed, rows.c.sort_at, title, rows.c.source, rows.c.id)
        return sa.select(rows.c.day, rows.c.source, rows.c.id,
                         sa.func.row_number().over(partition_by=rows.c.day, order_by=order).label("rank")
                         ).subquery("ranked")


_NO_ENTRY = (sa.cast(sa.null(), sa.String).label("source"), sa.cast(sa.null(), sa.Integer).label("id"),
             sa.cast(sa.null(), sa.Integer).label("rank"))


def _window_days(window, extra):
    """The window's days as rows (day, starts, ends: its Manila midnights, extra): literals every backend reads."""
    rows = [sa.select(sa.literal(day, sa.Date).label("day"),
                      sa.literal(datetime.combine(day, time(), MANILA), UTCDateTime()).label("starts"),
                      sa.literal(datetime.combine(day + timedelta(days=1), time(), MANILA), UTCDateTime()).label("ends"),
                      sa.literal(extra.get(day, 0), sa.Integer).label("extra"))
            for day in window.days()]
    return (sa.union_all(*rows) if len(rows) > 1 else rows[0]).cte("days")


def _per_day(day, name):
    """A CTE (day, n) counting the rows of `day`'s table per day."""
    return sa.select(day.label("day"), sa.func.count().label("n")).group_by(day).cte(name)


def _overlaps(rows, days):
    return sa.and_(rows.c.starts_at < days.c.ends, rows.c.ends_at > days.c.starts)


def _covers(spans, day):
    return sa.and_(spans.c.b <= day, spans.c.e >= day)


def _pairs(days, source, rows, covers, timed, sort_at, title, lower=True):
    """(day, source, id, timed, sort_at, sort_title) of `rows` on each of `days` they cover."""
    return (sa.select(days.c.day, sa.literal(source).label("source"), rows.c.id, timed.label("timed"),
                      sort_at.label("sort_at"), (sa.func.lower(title) if lower else title).label("sort_title"))
            .select_from(rows).join(days, covers))


def _loaded(stmt, window, user, links):
    """(row, its Entry or None) of a grid or agenda statement, each entry joined to its columns in the same
    query."""
    may_move, work_item = _work_item_mover(user), [f"w_{column.key}" for column in _work_item_columns()]
    for row in db.session.execute(_with_columns(stmt)):
        if row.source == "workitem":
            yield row, _work_item_entry([row._mapping[key] for key in work_item], links, may_move)
        elif row.source == "event":
            yield row, _event_entries(_Prefixed(row, "e_"), window, user, links)[0]
        elif row.source == "booking":
            yield row, _booking_entry(_Prefixed(row, "b_"), links)
        else:
            yield row, None


def _with_columns(stmt):
    """`stmt`'s rows (day, source, id, rank, …) with the columns of the work item, event or booking each names,
    in order of day and rank."""
    ranked = stmt.subquery("page")
    item, ppa, event = WorkItem.__table__.c, Ppa.__table__.c, CalendarEvent.__table__.c
    booking, resource = Booking.__table__.c, Resource.__table__.c
    columns = [*(c.label(f"w_{c.key}") for c in _work_item_columns()),
               *(c.label(f"e_{c.name}") for c in (event.id, event.title, event.kind, event.all_day, event.starts_at,
                                                  event.ends_at, event.rrule, event.exdates, event.location,
                                                  event.version, event.organizer_id, event.organization_id)),
               *(c.label(f"b_{c.name}") for c in (booking.id, booking.title, booking.starts_at, booking.ends_at,
                                                  booking.status, booking.version)),
               resource.name.label("b_resource"), resource.id.label("b_resource_id")]
    joined = (ranked.outerjoin(WorkItem.__table__, sa.and_(ranked.c.source == "workitem", item.id == ranked.c.id))
              .outerjoin(Ppa.__table__, ppa.id == item.ppa_id)
              .outerjoin(CalendarEvent.__table__, sa.and_(ranked.c.source == "event", event.id == ranked.c.id))
              .outerjoin(Booking.__table__, sa.and_(ranked.c.source == "booking", booking.id == ranked.c.id))
              .outerjoin(Resource.__table__, resource.id == booking.resource_id))
    return sa.select(ranked, *columns).select_from(joined).order_by(ranked.c.day, ranked.c.rank)


class _Prefixed:
    """The columns of one source in a joined row, read without their prefix (row.w_title as .title)."""

    __slots__ = ("row", "prefix")

    def __init__(self, row, prefix):
        self.row, self.prefix = row, prefix

    def __getattr__(self, name):
        return self.row._mapping[self.prefix + name]


def _others_by_day(window, user, filters, links):
    """{day: [(its _order_in_day key, the Entry or what makes it)]} of what SQL cannot rank: recurring series'
    occurrences and PPA dates, in order. An occurrence's Entry is only made if it is shown (_made)."""
    by_day = {day: [] for day in window.days()}
    items = [(_order_in_day(entry), entry.first_day, entry.last_day, entry)
             for entry in (_ppa_entries(window, user, filters, links) if "planning" in filters.modules else ())]
    if "coordination" in filters.modules:
        series = _events(window, user, filters).where(CalendarEvent.__table__.c.rrule.is_not(None))
        for row in db.session.execute(series).all():
            title = row.title.lower()
            for start, end in _occurrences(row, window):
                if row.all_day:
                    key, first, last = (False, _NO_TIME, title), start, end - timedelta(days=1)
                else:
                    key, first, last = (True, start, title), start.date(), (end - timedelta(microseconds=1)).date()
                items.append((key, first, last, partial(_event_entry, row, start, end, user, links)))
    items.sort(key=itemgetter(0))
    for key, first, last, entry in items:
        day = max(first, window.start)
        while day <= last and day < window.end:
            by_day[day].append((key, entry))
            day += timedelta(days=1)
    return by_day


def _merged(loaded, others):
    """A day's SQL entries (in order) and its _others_by_day items, merged in _order_in_day: each an Entry or
    what makes it (_made)."""
    return (entry for _, entry in merge(((_order_in_day(entry), entry) for entry in loaded), others,
                                        key=itemgetter(0)))


def _made(entry):
    return entry if isinstance(entry, Entry) else entry()


# ------------------------------------------------------------------------------------------------- one event
def visible_event(event_id, user):
    """The calendar event `event_id` if `user` may see it, else NotFound (a page about it is a 404)."""
    event = db.session.scalar(visible_events(sa.select(CalendarEvent).where(CalendarEvent.id == event_id), user))
    if event is None:
        raise NotFound(f"There is no calendar event #{event_id} here.")
    return event


def occurrence_start(item, stamp):
    """The Manila start of the occurrence named by `stamp` (20261203 or 20261203T0900); 404 when the series
    has no such occurrence."""
    try:
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M" if "T" in stamp else "%Y%m%d")
    except ValueError:
        raise NotFound("There is no such occurrence of this event.") from None
    moment = moment.replace(tzinfo=recurrence.MANILA)
    first = item.starts_at.astimezone(recurrence.MANILA)
    found = recurrence.occurrences(first, item.ends_at.astimezone(recurrence.MANILA), item.rrule,
                                   [datetime.fromisoformat(d) for d in item.exdates or ()],
                                   moment, moment + timedelta(minutes=1))
    for start, _ in found:
        if start.replace(tzinfo=recurrence.MANILA) == moment or start == moment:
            return start
    raise NotFound("There is no such occurrence of this event (it may have been moved or cancelled).")
