"""Home: the role-aware start page. Each block is a lazy fragment (hx-get on load), so the page itself runs
no query of its own and each block a small constant number."""
from datetime import date

import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user, login_required

from ..auth.permissions import require, scope
from ..extensions import db
from ..htmx import render_page
from ..notifications.services import recent
from ..ppas.models import STATUSES, Ppa
from ..ppas.queue import approval_queue
from ..tasks.queries import due_soon

bp = Blueprint("home", __name__)

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


@bp.get("/home/tasks")
def tasks():
    require(current_user, "dashboard.view")
    return render_page("home/_tasks.html", tasks=due_soon(current_user, limit=BLOCK_SIZE), today=date.today())


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
