"""Task generation on (TestingConfig turns it off for the rest of the suite) and the shipped templates seeded in
the test's transaction; small factories for the triggers."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.ppas.models import Ppa
from obcms.tasking.models import TaskGeneration
from obcms.tasking.seed import seed_templates
from obcms.workitems.models import WorkItem


@pytest.fixture(autouse=True)
def task_generation(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "TASK_GENERATION", True)
    if db_session is not None:
        seed_templates()
        db.session.flush()


@pytest.fixture
def make_ppa(organizations, users):
    def make(title="Livelihood kits", category="moa_ppa", moa="MSSD", creator="moa_staff", **extra):
        values = dict(title=title, category=category, fiscal_year=2026, summary="",
                      implementing_moa_id=organizations[moa].id if moa else None,
                      budget_allocation=Decimal("1000000.00"), start_date=date(2026, 3, 2),
                      target_end_date=date(2026, 12, 31), created_by_id=users[creator].id)
        values.update(extra)
        ppa = Ppa(**values)
        db.session.add(ppa)
        db.session.flush()
        return ppa
    return make


def generations(kind=None, trigger_id=None):
    stmt = sa.select(TaskGeneration).order_by(TaskGeneration.id)
    if kind:
        stmt = stmt.where(TaskGeneration.trigger_kind == kind)
    if trigger_id:
        stmt = stmt.where(TaskGeneration.trigger_id == trigger_id)
    return db.session.scalars(stmt).all()


def tasks_of(activity_id):
    return db.session.scalars(sa.select(WorkItem).where(WorkItem.parent_id == activity_id)
                              .order_by(WorkItem.lft)).all()


def runs(name="generate_tasks"):
    return db.session.scalars(sa.select(JobRun).where(JobRun.name == name).order_by(JobRun.id)).all()


def utc(*args):
    return datetime(*args, tzinfo=UTC)
