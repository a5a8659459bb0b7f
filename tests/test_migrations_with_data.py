"""Every revision goes down and up again with rows in the tables, on SQLite and (in the PostgreSQL pass) on
PostgreSQL: a database migrated to the head gets at least one valid row in every table (through the services:
the test world, the demo, and a row each for what those leave empty); then, from the head down to the base,
each revision is downgraded, upgraded again and downgraded again, and every table the step does not drop
keeps its rows (values of the columns both sides have, compared by primary key), except what a revision
documents it changes (EXPECTED_CHANGES)."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from obcms import create_app
from obcms.auth.models import Organization, User
from obcms.calendar.models import Resource, resource_approvers
from obcms.demo import seed_demo
from obcms.extensions import db
from obcms.legacy.models import LegacyRecord
from obcms.notifications.models import Notification, NotificationPreference, OutboundMail, mail_notifications
from obcms.ops.maintenance import switch_maintenance
from obcms.ppas.models import Ppa
from obcms.ppas.reminders import ApprovalReminder
from obcms.tasking.models import TaskGeneration, TaskTemplate
from obcms.workitems.models import WorkItem
from obcms.workitems.reminders import TaskReminder, TaskReminderSnooze
from tests.conftest import _load_base_data
from tests.databases import create_database, drop_database
from tests.world import build_world

# (revision, "up" | "down") → {table: columns whose values the step may change, or ROWS: rows it may delete}
ROWS = "rows"
EXPECTED_CHANGES = {
    ("d1_ppas", "down"): {"work_items": {"ppa_id"}},  # the PPAs are dropped: no work item names one any more
    ("i2_tree_gaps", "down"): {"work_items": {"lft", "rgt"}},  # renumbered tightly to fit 32 bits
    ("k2_ledger", "down"): {"ppa_funding_tranches": ROWS},  # the tranches mirroring ledger entries go with them
    ("k4_spending", "up"): {"work_items": {"actual_expenditure"}},  # becomes the rolled-up disbursements
}


def fill_the_rest():
    """A valid row for each table the world and the demo leave empty."""
    user = db.session.scalar(sa.select(User).where(User.username == "moa_staff"))
    notification = db.session.scalar(sa.select(Notification).where(Notification.user_id == user.id).limit(1))
    task = db.session.scalar(sa.select(WorkItem).where(WorkItem.work_type == "task").order_by(WorkItem.id).limit(1))
    ppa = db.session.scalar(sa.select(Ppa).order_by(Ppa.id).limit(1))
    resource = db.session.scalar(sa.select(Resource).order_by(Resource.id).limit(1))
    template = db.session.scalar(sa.select(TaskTemplate).order_by(TaskTemplate.id).limit(1))
    today = date(2026, 12, 4)
    db.session.add(NotificationPreference(user_id=user.id, channel="immediate"))
    mail = OutboundMail(user_id=user.id, address=user.email, kind="notification", subject="A PPA needs review",
                        text_body="Please review.", html_body="<p>Please review.</p>", dedupe_key="migrations-1")
    db.session.add(mail)
    db.session.add_all([
        ApprovalReminder(ppa_id=ppa.id, approval_status="submitted", severity="high", days_waiting=8, sent_on=today),
        TaskReminder(work_item_id=task.id, sent_on=today, severity="medium", due_date=today + timedelta(days=5)),
        TaskReminderSnooze(work_item_id=task.id, user_id=user.id, until=today + timedelta(days=3)),
        TaskGeneration(trigger_kind="ppa", trigger_id=ppa.id, template_id=template.id, work_item_id=task.id),
        LegacyRecord(legacy_kind="staff_task", legacy_id="1015", object_type="work_item", object_id=task.id,
                     checksum="0" * 64, source_file="legacy_export.json"),
    ])
    db.session.flush()
    db.session.execute(mail_notifications.insert().values(mail_id=mail.id, notification_id=notification.id))
    db.session.execute(resource_approvers.insert().values(resource_id=resource.id, user_id=user.id))
    switch_maintenance(True, "Migrations with data", 60, by="tests")
    switch_maintenance(False, by="tests")


def fill_every_table():
    _load_base_data()
    db.session.commit()
    seed_demo("demo-password-for-migrations")
    db.session.commit()
    users = {user.username: user for user in db.session.scalars(sa.select(User))}
    organizations = {org.acronym: org for org in db.session.scalars(sa.select(Organization))}
    build_world(users, organizations)
    fill_the_rest()
    db.session.commit()
    db.session.remove()


def app_tables(connection):
    """The application's tables now in the database (not alembic_version, not SQLite's FTS5 tables)."""
    return sorted(name for name in sa.inspect(connection).get_table_names() if name in db.metadata.tables)


def snapshot():
    """{table: {primary key: {column: value}}} of every application table."""
    with db.engine.connect() as connection:
        inspector = sa.inspect(connection)
        found = {}
        for name in app_tables(connection):
            columns = [column["name"] for column in inspector.get_columns(name)]
            key = inspector.get_pk_constraint(name)["constrained_columns"]
            table = sa.table(name, *(sa.column(column) for column in columns))
            found[name] = {tuple(row[k] for k in key): dict(row)
                           for row in connection.execute(sa.select(table)).mappings()}
    return found


def differences(before, after, revision, direction):
    """What the step lost or changed in the tables on both sides, beyond EXPECTED_CHANGES."""
    allowed = EXPECTED_CHANGES.get((revision, direction), {})
    found = []
    for name in before.keys() & after.keys():
        if allowed.get(name) == ROWS:
            continue
        lost = before[name].keys() - after[name].keys()
        if lost or len(before[name]) != len(after[name]):
            found.append(f"{name}: {len(before[name])} rows before, {len(after[name])} after")
            continue
        for key, row in before[name].items():
            changed = {column for column in row.keys() & after[name][key].keys()
                       if row[column] != after[name][key][column]} - set(allowed.get(name, ()))
            if changed:
                found.append(f"{name} {key}: {sorted(changed)} changed")
                break
    return found


def revisions_oldest_first():
    migrate = current_app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    return [(rev.revision, rev.down_revision or "base") for rev in reversed(list(script.walk_revisions()))]


@pytest.mark.committed
@pytest.mark.slow
@pytest.mark.parametrize("backend_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_each_revision_goes_down_and_up_with_rows_in_every_table(backend_name, monkeypatch):
    monkeypatch.setenv("OBCMS_TEST_BACKEND", backend_name)
    url = create_database("obcms_migrations_data")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            fill_every_table()
            at_head = snapshot()
            empty = sorted(name for name in db.metadata.tables if not at_head.get(name))
            assert empty == [], f"give these tables a row in fill_the_rest(): {empty}"

            problems = []
            for revision, below in reversed(revisions_oldest_first()):
                above = snapshot()
                downgrade(revision=below)
                down = snapshot()
                problems += [f"{revision} down: {p}" for p in differences(above, down, revision, "down")]
                upgrade(revision=revision)
                problems += [f"{revision} up: {p}" for p in differences(down, snapshot(), revision, "up")]
                downgrade(revision=below)
                problems += [f"{revision} down again: {p}"
                             for p in differences(down, snapshot(), revision, "down")]
            assert problems == []
            with db.engine.connect() as connection:
                assert app_tables(connection) == []
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
