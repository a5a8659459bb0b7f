"""Home: the role-aware start page. Each block is a lazy fragment (hx-get on load), so the page itself runs
no query of its own and each block a small constant number."""
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user, login_required

from ..auth.permissions import require, scope
from ..extensions import db
from ..htmx import render_page
from ..notifications.services import recent
from ..ppas.models import STATUSES, Ppa
from ..ppas.queue import approval_queue
from ..workitems.models import WorkItem, work_item_assignees
from ..workitems.states import OPEN

bp = Blueprint("home", __name__)

DUE_SOON_DAYS = 7
TASK_TYPES = ("task", "subtask")
BLOCK_SIZE = 10


@bp.route("/")
@login_required
def index():
    require(current_user, "dashboard.view")
    return render_page("home/index.html")


@bp.get("/home/approvals")
def approvals():
    """PPAs waiting in the state where the user's role acts (the approval queue)."""
    require(current_user, "dashboard.view")
    return render_page("home/_approvals.html", queue=approval_queue(current_user), today=date.today())


def my_tasks(user, today=None, limit=BLOCK_SIZE):
    """Open tasks and subtasks assigned to the user, due within DUE_SOON_DAYS or overdue, soonest first."""
    today = today or date.today()
    stmt = (scope(sa.select(WorkItem), WorkItem, user)
            .join(work_item_assignees, work_item_assignees.c.work_item_id == WorkItem.id)
            .where(work_item_assignees.c.user_id == user.id, WorkItem.work_type.in_(TASK_TYPES),
                   WorkItem.status.in_(OPEN), WorkItem.due_date <= today + timedelta(days=DUE_SOON_DAYS))
            .order_by(WorkItem.due_date, WorkItem.id).limit(limit))
    return db.session.scalars(stmt).all()


@bp.get("/home/tasks")
def tasks():
    require(current_user, "dashboard.view")
    return render_page("home/_tasks.html", tasks=my_tasks(current_user), today=date.today())


@bp.get("/home/alerts")
def alerts():
    require(current_user, "dashboard.view")
    return render_page("home/_alerts.html", notifications=recent(current_user, unread_only=True, limit=5))


def portfolio_summary(user):
    """The PPAs the user may see, by status, with their budget: one grouped query."""
    rows = db.session.execute(scope(
        sa.select(Ppa.status, sa.func.count(Ppa.id), sa.func.sum(Ppa.budget_allocation)), Ppa, user)
        .group_by(Ppa.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    budget = 0
    for status, n, amount in rows:
        counts[status] = n
        budget += amount or 0
    return {"counts": counts, "total": sum(counts.values()), "budget": budget}


@bp.get("/home/portfolio")
def portfolio():
    require(current_user, "ppa.read")
    return render_page("home/_portfolio.html", summary=portfolio_summary(current_user))
