"""The calendar's one read: every dated thing a user may see that overlaps a window (DOMAIN.md "Calendar").

    window = Window(date(2026, 12, 1), date(2027, 1, 1))            # Manila days, end exclusive
    entries = calendar_entries(window, user, Filters(modules={"planning"}, mine=True))

Four queries whatever the data size — work items, PPAs (with their milestones and the current approval
deadline), calendar events (recurring ones expanded inside the window only), bookings —, each restricted to
the window and scoped like every list. Nothing ever loads all events: a window is required and at most
MAX_DAYS long.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import url_for

from ..auth.permissions import READ_ALL, can, scope
from ..errors import ValidationFailed
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


@dataclass(frozen=True)
class Filters:
    modules: frozenset = frozenset(MODULES)
    mine: bool = False
    organization_id: int | None = None


@dataclass(frozen=True)
class Entry:
    """One thing on the calendar. `start`/`end` are dates for all-day entries (end exclusive), else aware
    datetimes in Manila."""

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

    def days(self, window):
        """The days of `window` it covers, in order."""
        day, last = max(self.first_day, window.start), min(self.last_day, window.end - timedelta(days=1))
        while day <= last:
            yield day
            day += timedelta(days=1)

    def to_json(self):
        def iso(value):
            return value.isoformat()

        return {"id": self.id, "title": self.title, "start": iso(self.start), "end": iso(self.end),
                "allDay": self.all_day, "color": self.color, "url": self.url, "module": self.module,
                "category": self.category, "status": self.status, "priority": self.priority,
                "progress": self.progress, "breadcrumb": self.breadcrumb}


def calendar_entries(window, user, filters=Filters()):
    """Every entry the user may see overlapping `window`, sorted by start (all-day first on a day), then title."""
    entries = []
    modules = filters.modules
    if modules & {"planning", "staff"}:
        entries += _work_items(window, user, filters)
    if "planning" in modules:
        entries += _ppas(window, user, filters)
    if "coordination" in modules:
        entries += _events(window, user, filters)
    if "resources" in modules:
        entries += _bookings(window, user, filters)
    return sorted(entries, key=_order)


def _order(entry):
    return (entry.first_day, not entry.all_day, entry.start if not entry.all_day else time(), entry.title.lower())


def _org_filter(stmt, column, filters):
    return stmt.where(column == filters.organization_id) if filters.organization_id is not None else stmt


# ------------------------------------------------------------------------------------------------- work items
def _work_items(window, user, filters):
    """Activities from start to due (planning); tasks and subtasks on their due date (staff). Projects and
    sub-projects are not entries: they span months and are the PPA's own dates. ONE query."""
    column = WorkItem.__table__.c
    first, last = window.start, window.end - timedelta(days=1)
    begins = sa.func.coalesce(column.start_date, column.due_date)
    ends = sa.func.coalesce(column.due_date, column.start_date)
    types = []
    if "planning" in filters.modules:
        types.append("activity")
    if "staff" in filters.modules:
        types += ["task", "subtask"]
    spans = sa.and_(column.work_type.in_([t for t in types if t == "activity"]), begins <= last, ends >= first)
    due = sa.and_(column.work_type.in_([t for t in types if t in ("task", "subtask")]),
                  column.due_date.between(first, last))
    ppa = Ppa.__table__.c
    stmt = (sa.select(column.id, column.title, column.work_type, column.status, column.priority, column.progress,
                      column.start_date, column.due_date, column.version, column.organization_id,
                      ppa.id.label("ppa_id"), ppa.code.label("ppa_code"))
            .select_from(WorkItem.__table__.outerjoin(Ppa.__table__, ppa.id == column.ppa_id))
            .where(column.calendar_visible, sa.or_(spans, due)))
    stmt = scope(stmt, WorkItem, user)
    stmt = _org_filter(stmt, column.organization_id, filters)
    if filters.mine:
        stmt = stmt.where(column.id.in_(sa.select(work_item_assignees.c.work_item_id)
                                        .where(work_item_assignees.c.user_id == user.id)))
    may_move = can(user, "workitem.edit")
    out = []
    for row in db.session.execute(stmt.order_by(column.id).limit(5000)):
        is_task = row.work_type in ("task", "subtask")
        start = row.due_date if is_task else (row.start_date or row.due_date)
        end = (row.due_date if is_task else (row.due_date or row.start_date)) + timedelta(days=1)
        out.append(Entry(
            f"workitem-{row.id}", row.title, start, end, True, "staff" if is_task else "planning",
            row.work_type, url_for("workitems.show", item_id=row.id), row.status, row.priority, row.progress,
            row.ppa_code or (f"PPA-{row.ppa_id}" if row.ppa_id else ""), version=row.version,
            movable=may_move and (user.role in READ_ALL or row.organization_id == user.organization_id),
            move_url=url_for("calendar.move_work_item", item_id=row.id)))
    return out


# ------------------------------------------------------------------------------------------------- PPAs
def _ppas(window, user, filters):
    """PPA start, milestones, target end and the current approval deadline (the review task's due date), for
    the PPAs whose life overlaps the window or whose review is due in it. ONE query."""
    if filters.mine:
        return []  # PPAs are nobody's own; "only mine" shows assigned work, own bookings and events
    ppa = Ppa.__table__.c
    first, last = window.start, window.end - timedelta(days=1)
    task, item = ApprovalTask.__table__.c, WorkItem.__table__.c
    review_due = (sa.select(item.due_date).select_from(ApprovalTask.__table__.join(WorkItem.__table__,
                                                                                   item.id == task.work_item_id))
                  .where(task.ppa_id == ppa.id, task.approval_status == ppa.approval_status)
                  .order_by(task.id.desc()).limit(1).scalar_subquery())
    stmt = (sa.select(ppa.id, ppa.code, ppa.title, ppa.status, ppa.approval_status, ppa.start_date,
                      ppa.target_end_date, ppa.milestones, ppa.progress, review_due.label("review_due"))
            .where(sa.or_(sa.and_(sa.func.coalesce(ppa.start_date, ppa.target_end_date) <= last,
                                  sa.func.coalesce(ppa.target_end_date, ppa.start_date) >= first),
                          ppa.approval_status.in_(("technical_review", "budget_review", "stakeholder_consultation",
                                                   "executive_approval")))))
    stmt = _org_filter(scope(stmt, Ppa, user), ppa.implementing_moa_id, filters)
    out = []
    for row in db.session.execute(stmt.order_by(ppa.id).limit(5000)):
        code, url = row.code or f"PPA-{row.id}", url_for("ppas.detail", ppa_id=row.id)
        dates = [("start", f"{code} starts: {row.title}", row.start_date, "ppa_start", row.status, url),
                 ("end", f"{code} target end: {row.title}", row.target_end_date, "ppa_target_end", row.status, url)]
        dates += [(f"milestone{index}", f"{code} milestone: {milestone.get('title', '')}", _date(milestone.get("date")),
                   "milestone", milestone.get("status"), url) for index, milestone in enumerate(row.milestones or [])]
        dates.append(("approval", f"{code} {row.approval_status.replace('_', ' ')} due", row.review_due,
                      "approval_deadline", row.approval_status, url_for("ppas.detail", ppa_id=row.id, tab="approval")))
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
    """Events and series that can reach the window, recurring ones expanded inside it. ONE query."""
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
    out = []
    for row in db.session.execute(stmt.order_by(column.starts_at, column.id).limit(20000)):
        may_move = row.organizer_id == user.id or can(user, "calendar.manage", _Scoped(row.organization_id))
        for start, end in _occurrences(row, window):
            part = f"-{_stamp(start)}" if row.rrule else ""
            occurrence = _stamp(start) if row.rrule else None
            out.append(Entry(f"event-{row.id}{part}", row.title, start, end, row.all_day, "coordination",
                             row.kind, url_for("calendar.event", event_id=row.id, occurrence=occurrence),
                             location=row.location, version=row.version, movable=may_move,
                             move_url=url_for("calendar.move_event", event_id=row.id, occurrence=occurrence),
                             extra={"event_id": row.id, "recurring": bool(row.rrule)}))
    return out


@dataclass(frozen=True)
class _Scoped:
    __scope_column__ = "organization_id"
    organization_id: int | None


def _occurrences(row, window):
    """[(start, end)] of an event row inside the window: dates for all-day events, Manila datetimes else."""
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
    """Pending and approved bookings overlapping the window. ONE query."""
    column, resource = Booking.__table__.c, Resource.__table__.c
    stmt = (sa.select(column.id, column.title, column.starts_at, column.ends_at, column.status, column.version,
                      resource.name.label("resource"), resource.id.label("resource_id"))
            .select_from(Booking.__table__.join(Resource.__table__, resource.id == column.resource_id))
            .where(column.status.in_(HOLDING), column.starts_at < window.ends_at, column.ends_at > window.starts_at))
    stmt = _org_filter(scope(stmt, Booking, user), column.organization_id, filters)
    if filters.mine:
        stmt = stmt.where(column.booked_by_id == user.id)
    return [Entry(f"booking-{row.id}", f"{row.resource}: {row.title}", row.starts_at.astimezone(MANILA),
                  row.ends_at.astimezone(MANILA), False, "resources", "booking",
                  url_for("calendar.resource", resource_id=row.resource_id), row.status, breadcrumb=row.resource,
                  version=row.version)
            for row in db.session.execute(stmt.order_by(column.starts_at).limit(5000))]
