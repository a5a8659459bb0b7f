"""Lock order on PostgreSQL: a PPA-first writer (enacting starts the execution project; a status edit fires the
project's transition) and a tree-first writer (a work-item change whose roll-up syncs the PPA) run side by side
on the same PPAs for a few seconds; neither ever meets a deadlock, because both take the execution project's
tree lock before the PPA row."""
import random
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

SECONDS = 2.5
PPAS = 12


def _app(url):
    from config import TestingConfig
    from obcms import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def _setup(app):
    """PPAs waiting for enactment, each with its execution project (activity template: 3 activities, 6 tasks)."""
    from obcms.audit.context import acting_as
    from obcms.auth import services as auth_services
    from obcms.extensions import db
    from obcms.ppas import tracking
    from obcms.ppas.models import Ppa

    with app.app_context(), acting_as("test:setup"):
        db.create_all()
        oobc = auth_services.create_organization("Office", "OOBC", "oobc")
        moa = auth_services.create_organization("Ministry", "MSSD", "moa")
        staff = auth_services.create_user("staff", "staff@example.gov.ph", "a-long-password-123", "oobc_staff", oobc)
        executive = auth_services.create_user("exec", "exec@example.gov.ph", "a-long-password-123",
                                              "oobc_executive", oobc)
        ppa_ids = []
        for i in range(PPAS):
            ppa = Ppa(title=f"PPA {i}", category="moa_ppa", fiscal_year=2026, sector="social", status="planning",
                      implementing_moa_id=moa.id, lead_organization_id=oobc.id, summary="s",
                      budget_allocation=Decimal("600000.00"), appropriation_class="mooe", funding_source="gaab",
                      start_date=date(2026, 1, 1), target_end_date=date(2026, 12, 31), approval_status="approved",
                      outcome_framework=[{"title": "o", "outputs": []}], created_by_id=staff.id)
            db.session.add(ppa)
            db.session.flush()
            tracking.enable_tracking(ppa, staff, "activity", "equal")
            ppa_ids.append(ppa.id)
        db.session.commit()
        return ppa_ids, staff.id, executive.id


class Outcome:
    def __init__(self):
        self.done = 0
        self.deadlocks = []
        self.errors = []


def _run(app, name, step, outcome, start):
    """Call step(rng) in its own transaction until the time is up; deadlocks and other errors are recorded."""
    from obcms.audit.context import acting_as
    from obcms.errors import DomainError
    from obcms.extensions import db

    rng = random.Random(name)
    with app.app_context(), acting_as(f"test:{name}"):
        start.wait()
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            try:
                step(rng)
                db.session.commit()
                outcome.done += 1
            except DomainError:  # a stale version between the two writers: a 409 for a user, fine here
                db.session.rollback()
            except sa.exc.OperationalError as error:
                db.session.rollback()
                (outcome.deadlocks if "deadlock" in str(error) else outcome.errors).append(str(error)[:300])
            except Exception as error:
                db.session.rollback()
                outcome.errors.append(repr(error)[:300])
            finally:
                db.session.remove()


@pytest.mark.postgres
@pytest.mark.committed
@pytest.mark.slow
def test_ppa_first_and_tree_first_writers_never_deadlock():
    from obcms.auth.models import User
    from obcms.extensions import db
    from obcms.ppas import services as ppa_services
    from obcms.ppas.models import Ppa
    from obcms.workflow import fire
    from obcms.workitems import services as workitem_services
    from obcms.workitems.models import WorkItem
    from tests.databases import create_database, drop_database

    url = create_database("obcms_lock_order")
    app = _app(url)
    try:
        ppa_ids, staff_id, executive_id = _setup(app)
        current = {"index": 0}  # the PPA the PPA-first writer works on; the tree-first writer follows it

        def ppa_first(rng):
            ppa = db.session.get(Ppa, ppa_ids[current["index"]])
            if ppa.approval_status == "approved":
                fire(ppa, "enact", db.session.get(User, executive_id))
            else:  # enacted, ongoing: edit the status back and forth (the project is blocked / resumed)
                ppa_services.update_ppa(ppa, ppa.version, actor=db.session.get(User, staff_id),
                                        status="on_hold" if ppa.status == "ongoing" else "ongoing")
                current["index"] = (current["index"] + 1) % len(ppa_ids)

        def tree_first(rng):
            ppa = db.session.get(Ppa, ppa_ids[current["index"]])
            leaves = db.session.scalars(sa.select(WorkItem).where(
                WorkItem.tree_id == ppa.execution_project_id, WorkItem.work_type == "task")).all()
            leaf = rng.choice(leaves)
            workitem_services.update_work_item(leaf, leaf.version, db.session.get(User, staff_id),
                                               progress=rng.randrange(0, 100))

        start = threading.Barrier(2)
        outcomes = {"ppa_first": Outcome(), "tree_first": Outcome()}
        threads = [threading.Thread(target=_run, args=(app, name, step, outcomes[name], start))
                   for name, step in (("ppa_first", ppa_first), ("tree_first", tree_first))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        summary = {name: (o.done, o.deadlocks[:1], o.errors[:3]) for name, o in outcomes.items()}
        assert all(not o.deadlocks and not o.errors for o in outcomes.values()), summary
        assert all(o.done >= 3 for o in outcomes.values()), summary  # both really ran side by side, even on a loaded machine
        with app.app_context():
            enacted = db.session.scalar(sa.select(sa.func.count()).where(Ppa.approval_status == "enacted"))
            assert enacted >= 1, summary
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
