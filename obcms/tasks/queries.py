"""The reads behind My tasks and the home page's "due soon": one query for the rows, whatever their number.

    filters = Filters.from_args(request.args)
    page = assigned_tasks(user, filters, page=2)         # Page of TaskRow, soonest first (or by priority/title)
    groups = by_when(page.items, today)                  # [("Overdue", [...]), ("Today", [...]), …], none empty
    due_soon(user, today, limit=10)                      # the home page block: overdue or due within 7 days
    assigned_tasks(person, filters, viewer=lead)          # a team member's tasks, as far as the lead may see them
    team(lead, organization_id, today)                    # [TeamRow]: open, overdue and load per person (one query)
"""
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..auth.models import ROLE_LABELS, Organization, User
from ..auth.permissions import PERMISSIONS, READ_ALL, not_found, scope
from ..db_types import utcnow
from ..extensions import db
from ..ids import parse_id
from ..pagination import paginate
from ..ppas.models import Ppa
from ..workitems.models import PRIORITIES, STATUSES, WorkItem, work_item_assignees
from ..workitems.reminders import TaskReminderSnooze
from ..workitems.states import OPEN

TASK_TYPES = ("task", "subtask")
DUE_SOON_DAYS = 7
RECENTLY_DONE_DAYS = 7  # the board's Completed column shows what was finished in the last week
BOARD_COLUMNS = ("not_started", "in_progress", "at_risk", "blocked", "completed")
SORTS = ("due", "priority", "title")
PER_PAGE = 50  # a page renders a bounded number of rows, however many tasks a person has
PRIORITY_RANK = {name: rank for rank, name in enumerate(reversed(PRIORITIES))}  # most urgent first


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the list to; unknown values are ignored (the list shows everything)."""

    ppa_id: int | None = None
    priority: str | None = None
    status: str | None = None
    sort: str = "due"

    @classmethod
    def from_args(cls, args):
        priority, status, sort = args.get("priority"), args.get("status"), args.get("sort")
        return cls(ppa_id=parse_id(args.get("ppa")), priority=priority if priority in PRIORITIES else None,
                   status=status if status in STATUSES else None, sort=sort if sort in SORTS else "due")

    def as_args(self):
        return {"ppa": self.ppa_id, "priority": self.priority, "status": self.status,
                "sort": None if self.sort == "due" else self.sort}


@dataclass(frozen=True)
class TaskRow:
    __scope_column__ = "organization_id"  # as WorkItem's (permissions.can)

    id: int
    title: str
    work_type: str
    status: str
    priority: str
    due_date: date | None
    completed_at: object
    version: int
    parent_id: int | None
    organization_id: int | None
    ppa_id: int | None
    ppa_code: str | None
    ppa_title: str | None
    snoozed_until: date | None = None  # the assignee's reminders of it are snoozed up to this day (inclusive)

    def overdue(self, today):
        return self.due_date is not None and self.due_date < today and self.status in OPEN


def _statement(user, filters, board, done_since=None, viewer=None, today=None):
    """The tasks assigned to `user` that `viewer` (default: the user) may see, with the user's snooze."""
    item = WorkItem.__table__.c
    snooze = TaskReminderSnooze.__table__.c
    today = today or date.today()
    stmt = (sa.select(item.id, item.title, item.work_type, item.status, item.priority, item.due_date,
                      item.completed_at, item.version, item.parent_id, item.organization_id, item.ppa_id, Ppa.code,
                      Ppa.title, snooze.until)
            .join(work_item_assignees, work_item_assignees.c.work_item_id == item.id)
            .outerjoin(Ppa, Ppa.id == item.ppa_id)
            .outerjoin(TaskReminderSnooze.__table__,
                       sa.and_(snooze.work_item_id == item.id, snooze.user_id == user.id,
                               snooze.until >= sa.bindparam("_today", today, type_=sa.Date)))
            .where(work_item_assignees.c.user_id == user.id, item.work_type.in_(TASK_TYPES)))
    if filters.status:
        stmt = stmt.where(item.status == filters.status)
    elif board:
        recent = sa.func.coalesce(item.completed_at >= sa.bindparam("_done_since", done_since,
                                                                    type_=item.completed_at.type), False)
        stmt = stmt.where(sa.or_(item.status.in_(OPEN), sa.and_(item.status == "completed", recent)))
    else:
        stmt = stmt.where(item.status.in_(OPEN))
    if filters.ppa_id:
        stmt = stmt.where(item.ppa_id == filters.ppa_id)
    if filters.priority:
        stmt = stmt.where(item.priority == filters.priority)
    rank = sa.case(PRIORITY_RANK, value=item.priority)
    order = {"due": (item.due_date.is_(None), item.due_date, rank, item.id),
             "priority": (rank, item.due_date.is_(None), item.due_date, item.id),
             "title": (item.title, item.id)}[filters.sort]
    return scope(stmt, WorkItem, viewer or user).order_by(*order)


def assigned_tasks(user, filters=Filters(), board=False, page=1, per_page=PER_PAGE, *, viewer=None, today=None):
    """One page of the tasks and subtasks assigned to `user` that they (or `viewer`: a team lead looking at
    the user's tasks) may see: open ones (the board adds those completed in the last RECENTLY_DONE_DAYS; a
    status filter shows exactly that status), with their PPA and the user's snooze, in the filters' order
    → a pagination.Page of TaskRow. Two queries (the count and the page)."""
    stmt = _statement(user, filters, board, done_since=utcnow() - timedelta(days=RECENTLY_DONE_DAYS),
                      viewer=viewer, today=today)
    found = paginate(stmt, page, per_page)
    return replace(found, items=[TaskRow(*row) for row in found.items])


def assigned_task_ids(user, filters=Filters(), limit=None, *, viewer=None, today=None):
    """The ids of every task the list of `user` shows with these filters (all pages, in the list's order),
    at most `limit` of them: what "all N matching the filter" selects. One query."""
    stmt = _statement(user, filters, board=False, viewer=viewer, today=today).with_only_columns(
        WorkItem.__table__.c.id)
    return list(db.session.scalars(stmt.limit(limit) if limit else stmt))


def due_soon(user, today=None, limit=10):
    """Open tasks due within DUE_SOON_DAYS or overdue, soonest first (the home page's block). One query."""
    today = today or date.today()
    stmt = _statement(user, Filters(), board=False).where(
        WorkItem.__table__.c.due_date <= today + timedelta(days=DUE_SOON_DAYS)).limit(limit)
    return [TaskRow(*row) for row in db.session.execute(stmt)]


def by_when(rows, today):
    """Rows grouped Overdue / Today / This week (the next 7 days) / Later / No due date, in that order; empty
    groups left out. The rows keep their order inside each group."""
    week_end = today + timedelta(days=DUE_SOON_DAYS)
    groups = {name: [] for name in ("Overdue", "Today", "This week", "Later", "No due date")}
    for row in rows:
        due = row.due_date
        if due is None:
            key = "No due date"
        elif due < today and row.status in OPEN:
            key = "Overdue"
        elif due == today:
            key = "Today"
        elif due <= week_end:
            key = "This week"
        else:
            key = "Later"
        groups[key].append(row)
    return [(name, members) for name, members in groups.items() if members]


def by_status(rows):
    """The board: [(status, [rows])] for every BOARD_COLUMNS status, empty columns included."""
    columns = {status: [] for status in BOARD_COLUMNS}
    for row in rows:
        if row.status in columns:
            columns[row.status].append(row)
    return list(columns.items())


def ppa_options(user, viewer=None):
    """(id, "CODE — title") of the PPAs the user has open tasks in (as far as `viewer`, default the user, may
    see them), for the filter. One query."""
    item = WorkItem.__table__.c
    stmt = (sa.select(Ppa.id, Ppa.code, Ppa.title).distinct()
            .join(WorkItem, WorkItem.ppa_id == Ppa.id)
            .join(work_item_assignees, work_item_assignees.c.work_item_id == item.id)
            .where(work_item_assignees.c.user_id == user.id, item.work_type.in_(TASK_TYPES), item.status.in_(OPEN))
            .order_by(Ppa.code))
    return [(row.id, f"{row.code} — {row.title}") for row in db.session.execute(scope(stmt, WorkItem, viewer or user))]


# ------------------------------------------------------------------------------------------------- the team
LOAD_DAYS = 14  # the load: estimated hours of open tasks due within the next two weeks (overdue ones included)
CAPACITY_HOURS = Decimal("80.00")  # what a person can do in LOAD_DAYS (10 working days of 8 hours): a full bar
HOLDER_ROLES = tuple(sorted(PERMISSIONS["workitem.edit"]))  # people who may hold (start, complete) tasks


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    role: str  # its label ("OOBC staff")
    open_count: int
    overdue_count: int
    load_hours: Decimal

    @property
    def load_percent(self):
        """The load as a share of CAPACITY_HOURS, for the bar (may exceed 100)."""
        return int(self.load_hours * 100 / CAPACITY_HOURS)


def team(viewer, organization_id, today=None):
    """One TeamRow per active person of the organization who may hold tasks (or holds open ones anyway),
    counting the open tasks and subtasks assigned to them that `viewer` may see: open, overdue, and the load
    (estimated hours of those due by today + LOAD_DAYS, overdue included). Heaviest load first. One query."""
    today = today or date.today()
    item = WorkItem.__table__.c
    a = work_item_assignees.c
    hours = sa.func.coalesce(item.estimated_hours, 0)
    members = sa.select(User.id).where(User.organization_id == organization_id)
    counts = scope(sa.select(a.user_id.label("user_id"), sa.func.count().label("open_count"),
                             sa.func.sum(sa.case((item.due_date < today, 1), else_=0)).label("overdue_count"),
                             sa.func.sum(sa.case((item.due_date <= today + timedelta(days=LOAD_DAYS), hours),
                                                 else_=0)).label("load_hours"))
                   .join(WorkItem.__table__, item.id == a.work_item_id)
                   .where(a.user_id.in_(members), item.work_type.in_(TASK_TYPES), item.status.in_(OPEN))
                   .group_by(a.user_id), WorkItem, viewer).subquery("counts")
    load = sa.cast(sa.func.coalesce(counts.c.load_hours, 0), sa.Numeric(12, 2))
    stmt = (sa.select(User.id, User.full_name, User.username, User.role, sa.func.coalesce(counts.c.open_count, 0),
                      sa.func.coalesce(counts.c.overdue_count, 0), load)
            .outerjoin(counts, counts.c.user_id == User.id)
            .where(User.organization_id == organization_id, User.is_active.is_(True),
                   sa.or_(User.role.in_(HOLDER_ROLES), counts.c.open_count.is_not(None)))
            .order_by(load.desc(), User.full_name, User.username))
    return [TeamRow(row[0], row[1] or row[2], ROLE_LABELS.get(row[3], row[3]), int(row[4]), int(row[5]),
                    Decimal(row[6]).quantize(Decimal("0.01")))
            for row in db.session.execute(stmt)]


def team_organizations(viewer):
    """(id, acronym) of the organizations whose people `viewer` may look at: every active one for those who
    see all, else their own. One query."""
    stmt = sa.select(Organization.id, Organization.acronym).where(Organization.is_active.is_(True))
    if viewer.role not in READ_ALL:
        stmt = stmt.where(Organization.id == viewer.organization_id)
    return [(row.id, row.acronym) for row in db.session.execute(stmt.order_by(Organization.acronym))]


def team_member(viewer, person_id):
    """The active user `person_id` when `viewer` may see them (of their organization, or anyone for those who
    see all), else NotFound (out of scope looks like missing). One query."""
    stmt = sa.select(User).where(User.id == person_id, User.is_active.is_(True))
    if viewer.role not in READ_ALL:
        stmt = stmt.where(User.organization_id == viewer.organization_id, User.organization_id.is_not(None))
    person = db.session.scalar(stmt)
    if person is None:
        raise not_found(User, person_id, viewer, label="person")
    return person
