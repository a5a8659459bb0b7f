"""Two workers generate the tasks of one new PPA at the same moment, each in its own connection and transaction,
on PostgreSQL with committed data: exactly one set is made. The second claim of (trigger, template) waits for
the first transaction and then finds the key taken — the UNIQUE constraint decides, not luck."""
from datetime import date

import pytest
import sqlalchemy as sa

from tests.concurrency import at_once

WORKERS = 2


@pytest.mark.postgres
@pytest.mark.committed
def test_two_workers_at_once_make_one_set():
    from config import TestingConfig
    from obcms import create_app
    from obcms.audit.context import acting_as
    from obcms.auth import services as auth_services
    from obcms.extensions import db
    from obcms.ppas.models import Ppa
    from obcms.tasking.generation import generate_tasks
    from obcms.tasking.models import TaskGeneration
    from obcms.tasking.seed import seed_templates
    from obcms.workitems.models import WorkItem
    from tests.databases import create_database, drop_database

    url = create_database("obcms_task_race")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)  # TASK_GENERATION off: the workers do it
    try:
        with app.app_context(), acting_as("test:setup"):
            db.create_all()
            org = auth_services.create_organization("Race Ministry", "RACE", "moa")
            staff = auth_services.create_user("racer", "racer@example.gov.ph", "a-long-password-123", "moa_staff",
                                              org)
            seed_templates()
            ppa = Ppa(title="Raced PPA", category="moa_ppa", fiscal_year=2026, implementing_moa_id=org.id,
                      start_date=date(2026, 3, 2), created_by_id=staff.id)
            db.session.add(ppa)
            db.session.commit()
            ppa_id = ppa.id

        def work(i, ready):
            with app.app_context(), acting_as(f"test:worker{i}"):
                ready()
                counts = generate_tasks([("ppa", ppa_id)]).counts
                db.session.commit()
                return counts

        outcomes, errors = at_once(work, WORKERS)
        assert errors == []
        assert sorted(o["generated"] for o in outcomes) == [0, 1]
        assert sorted(o["already"] for o in outcomes) == [0, 1]
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(TaskGeneration.id))) == 1
            assert db.session.scalar(sa.select(sa.func.count(WorkItem.id)).where(WorkItem.ppa_id == ppa_id)) == 11
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
