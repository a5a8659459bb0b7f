"""Two people reassign the same task at the same moment, each in their own connection and transaction, on
PostgreSQL with committed data: the tree lock orders them, the second finds a newer version and gets a Conflict
(409) naming "assigned_to"; the first one's choice stays, audited once."""
from datetime import date

import pytest
import sqlalchemy as sa

from tests.concurrency import at_once

WORKERS = 2


@pytest.mark.postgres
@pytest.mark.committed
def test_two_reassigns_at_once_one_wins_and_the_other_conflicts():
    from config import TestingConfig
    from obcms import create_app
    from obcms.audit.context import acting_as
    from obcms.audit.models import AuditEntry
    from obcms.auth import services as auth_services
    from obcms.auth.models import User
    from obcms.errors import Conflict
    from obcms.extensions import db
    from obcms.workitems import services
    from obcms.workitems.models import WorkItem
    from tests.databases import create_database, drop_database

    url = create_database("obcms_reassign_race")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context(), acting_as("test:setup"):
            db.create_all()
            oobc = auth_services.create_organization("Office", "OOBC", "oobc")
            org = auth_services.create_organization("Race Ministry", "RACE", "moa")
            holder = auth_services.create_user("holder", "holder@example.gov.ph", "a-long-password-123", "moa_staff", org)
            leads = [auth_services.create_user(f"lead{i}", f"lead{i}@example.gov.ph", "a-long-password-123",
                                               "oobc_staff", oobc) for i in range(WORKERS)]
            task = services.create_work_item(None, leads[0], assignees=[holder], title="Raced task", work_type="task",
                                             due_date=date(2026, 12, 10), organization_id=org.id)
            db.session.commit()
            task_id, version, holder_id = task.id, task.version, holder.id
            lead_ids = [lead.id for lead in leads]

        def work(i, ready):
            with app.app_context(), acting_as(f"test:lead{i}"):
                lead = db.session.get(User, lead_ids[i])
                item = db.session.get(WorkItem, task_id)
                ready()
                try:
                    services.reassign_work_item(item, lead, version, holder_id, lead_ids[i])
                    db.session.commit()
                    return "reassigned"
                except Conflict as conflict:
                    db.session.rollback()
                    return sorted(conflict.changed_fields)

        outcomes, errors = at_once(work, WORKERS)
        assert errors == []
        assert sorted(outcomes, key=str) == [["assigned_to"], "reassigned"]
        winner = outcomes.index("reassigned")
        with app.app_context():
            item = db.session.get(WorkItem, task_id)
            assert [u.id for u in item.assignees] == [lead_ids[winner]] and item.version == version + 1
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
                AuditEntry.object_id == task_id, AuditEntry.field == "assigned_to")) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
