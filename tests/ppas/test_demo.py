"""The demo portfolio loads through the services and only into an empty table."""
import sqlalchemy as sa

from obcms.budget.ledger import check_money
from obcms.budget.models import FinancialEntry
from obcms.demo import DEMO_PPAS, DEMO_TRACKED, LEDGER_KINDS, seed_demo
from obcms.extensions import db
from obcms.ppas.funding import funding_summary_stmt
from obcms.ppas.models import FundingTranche, Ppa
from obcms.workitems import tree


def test_demo_portfolio(app):
    seed_demo(app.config["DEMO_PASSWORD"])
    assert db.session.scalar(sa.select(sa.func.count(Ppa.id))) == len(DEMO_PPAS)
    # A tracked PPA's obligations and disbursements are posted on its tree (the ledger writes their tranches).
    by_hand = sum(1 for p in DEMO_PPAS for kind, *_ in p[-1] if p[0] not in DEMO_TRACKED or kind not in LEDGER_KINDS)
    assert db.session.scalar(sa.select(sa.func.count(FundingTranche.id))
                             .where(FundingTranche.financial_entry_id.is_(None))) == by_hand
    assert db.session.scalar(sa.select(sa.func.count(FinancialEntry.id))) > 0 and check_money() == []
    rates = db.session.execute(funding_summary_stmt()).all()
    assert any(r.under_obligated for r in rates) and any(r.utilization for r in rates)
    tracked = db.session.scalars(sa.select(Ppa).where(Ppa.execution_project_id.is_not(None))).all()
    assert {p.code for p in tracked} == set(DEMO_TRACKED) and tree.check_integrity() == []
    seed_demo(app.config["DEMO_PASSWORD"])  # a second run adds nothing
    assert db.session.scalar(sa.select(sa.func.count(Ppa.id))) == len(DEMO_PPAS)


def test_the_demo_tells_a_story(app):
    """PPAs spread over the approval states, walked there through the workflow; work done, overdue and due
    soon; a notification waiting for every demo user."""
    from datetime import date

    from obcms.auth.models import User
    from obcms.demo import DEMO_USERS
    from obcms.notifications.models import Notification
    from obcms.workflow.models import TransitionLog
    from obcms.workitems.models import WorkItem

    seed_demo(app.config["DEMO_PASSWORD"])
    states = dict(db.session.execute(sa.select(Ppa.code, Ppa.approval_status)).all())
    assert {"draft", "technical_review", "stakeholder_consultation", "executive_approval", "rejected",
            "enacted"} <= set(states.values())
    assert all(states[p[0]] == "enacted" for p in DEMO_PPAS if p[5] in ("ongoing", "on_hold", "completed"))
    assert db.session.scalar(sa.select(TransitionLog.comment).where(TransitionLog.transition == "reject"))
    today = date.today()
    open_items = sa.select(sa.func.count(WorkItem.id)).where(WorkItem.status.in_(("not_started", "in_progress")))
    assert db.session.scalar(open_items.where(WorkItem.due_date < today)) > 0  # overdue
    assert db.session.scalar(open_items.where(WorkItem.due_date.between(today, date.fromordinal(today.toordinal()
                                                                                                + 14)))) > 0
    assert db.session.scalar(sa.select(sa.func.count(WorkItem.id)).where(WorkItem.status == "completed")) > 0
    waiting = set(db.session.scalars(sa.select(User.username).join(Notification, Notification.user_id == User.id)
                                     .where(Notification.read_at.is_(None))))
    assert waiting >= set(DEMO_USERS)
