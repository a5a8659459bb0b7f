"""The reads behind My tasks and the home page's "due soon": one query for the rows, whatever their number.

    filters = Filters.from_args(request.args)
    page = assigned_tasks(user, filters, page=2)         # Page of TaskRow, soonest first (or by priority/title)
    groups = by_when(page.items, today)                  # [("Overdue", [...]), ("Today", [...]), …], none empty
    due_soon(user, today, limit=10)                      # the home page block: overdue or due within 7 days
"""
from dataclasses import dataclass, replace
from datetime import date, timedelta

import sqlalchemy as sa

from ..auth.permissions import scope
from ..db_types import utcnow
from ..extensions import db
from ..ids import parse_id
from ..pagination import paginate
from ..ppas.models import Ppa
from ..workitems.models import PRIORITIES, STATUSES, WorkItem, work_item_assignees
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

    def overdue(self, today):
        return self.due_date is not None and self.due_date < today and self.status in OPEN


def _statement(user, filters, board, done_since=None):
    item = WorkItem.__table__.c
    stmt = (sa.select(item.id, item.title, item.work_type, item.status, item.priority, item.due_date,
                      item.completed_at, item.version, item.parent_id, item.organization_id, item.ppa_id, Ppa.code,
                      Ppa.title)
            .join(work_item_assignees, work_item_assignees.c.work_item_id == item.id)
            .outerjoin(Ppa, Ppa.id == item.ppa_id)
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
    return scope(stmt, WorkItem, user).order_by(*order)


def assigned_tasks(user, filters=Filters(), board=False, page=1, per_page=PER_PAGE):
    """One page of the tasks and subtasks assigned to `user` that they may see: open ones (the board adds those
    completed in the last RECENTLY_DONE_DAYS; a status filter shows exactly that status), with their PPA, in
    the filters' order → a pagination.Page of TaskRow. Two queries (the count and the page)."""
    stmt = _statement(user, filters, board, done_since=utcnow() - timedelta(days=RECENTLY_DONE_DAYS))
    found = paginate(stmt, page, per_page)
    return replace(found, items=[TaskRow(*row) for row in found.items])


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


def ppa_options(user):
    """(id, "CODE — title") of the PPAs the user has open tasks in, for the filter. One query."""
    item = WorkItem.__table__.c
    stmt = (sa.select(Ppa.id, Ppa.code, Ppa.title).distinct()
            .join(WorkItem, WorkItem.ppa_id == Ppa.id)
            .join(work_item_assignees, work_item_assignees.c.work_item_id == item.id)
            .where(work_item_assignees.c.user_id == user.id, item.work_type.in_(TASK_TYPES), item.status.in_(OPEN))
            .order_by(Ppa.code))
    return [(row.id, f"{row.code} — {row.title}") for row in db.session.execute(scope(stmt, WorkItem, user))]
