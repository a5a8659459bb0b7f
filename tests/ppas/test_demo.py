"""The demo portfolio loads through the services and only into an empty table."""
import sqlalchemy as sa

from obcms.demo import DEMO_PPAS, DEMO_TRACKED, seed_demo
from obcms.extensions import db
from obcms.ppas.funding import funding_summary_stmt
from obcms.ppas.models import FundingTranche, Ppa
from obcms.workitems import tree


def test_demo_portfolio(app):
    seed_demo(app.config["DEMO_PASSWORD"])
    assert db.session.scalar(sa.select(sa.func.count(Ppa.id))) == len(DEMO_PPAS)
    assert db.session.scalar(sa.select(sa.func.count(FundingTranche.id))) == sum(len(p[-1]) for p in DEMO_PPAS)
    rates = db.session.execute(funding_summary_stmt()).all()
    assert any(r.under_obligated for r in rates) and any(r.utilization for r in rates)
    tracked = db.session.scalars(sa.select(Ppa).where(Ppa.execution_project_id.is_not(None))).all()
    assert {p.code for p in tracked} == set(DEMO_TRACKED) and tree.check_integrity() == []
    seed_demo(app.config["DEMO_PASSWORD"])  # a second run adds nothing
    assert db.session.scalar(sa.select(sa.func.count(Ppa.id))) == len(DEMO_PPAS)
