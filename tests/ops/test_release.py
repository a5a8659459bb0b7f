"""`flask obcms release backup|plan|restore`: the backup drill on PostgreSQL (demo data and a 50-PPA portfolio
backed up, the database dropped, restored, and the same PPA pages served, trees and money intact), the plan of
a database behind the code, and the SQLite file's backup and restore."""
import re
import sqlite3

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from bench.common import signed_in_client
from bench.ppas import build_portfolio
from config import TestingConfig
from obcms import create_app
from obcms.auth.models import User
from obcms.extensions import db
from obcms.ppas.models import FundingTranche, Ppa
from tests.databases import create_database, drop_database

pytestmark = pytest.mark.committed  # apps and databases of their own

TOKENS = re.compile(r'"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}"')  # CSRF tokens (itsdangerous: data.time.signature)


def head(app):
    with app.app_context():
        migrate = app.extensions["migrate"]
        return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).get_current_head()


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["obcms", *args])


@pytest.fixture
def migrated_app():
    """An app on a database of its own, migrated to the head."""
    url = create_database("obcms_release")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(url)


def pages(client, ppa_ids):
    """The PPA list and detail pages as served, CSRF tokens blanked (they are signed with the time)."""
    served = {}
    for url in ["/ppas", "/ppas?page=2", *(f"/ppas/{ppa_id}" for ppa_id in ppa_ids)]:
        response = client.get(url)
        assert response.status_code == 200, url
        served[url] = TOKENS.sub('"…"', response.get_data(as_text=True))
    return served


def recreate_empty(url):
    """Drop the database and create an empty one of the same name (a lost server, a fresh one)."""
    drop_database(url)
    name = make_url(url).database
    server = sa.create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    server.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_backup_drill_drop_the_database_restore_and_serve_the_same_pages(migrated_app, tmp_path):
    app = migrated_app
    assert cli(app, "seed-demo").exit_code == 0
    with app.app_context():
        build_portfolio(db, 50, seed=7, reset=False, alongside=True)
        # The benchmark writes obligations and disbursements as hand-entered tranches, which `money check`
        # reports on a tracked PPA (money its tree does not know about): the drill keeps their allocations.
        db.session.execute(sa.delete(FundingTranche).where(
            FundingTranche.kind != "allocation",
            FundingTranche.ppa_id.in_(sa.select(Ppa.id).where(Ppa.code.like("BENCH-%")))))
        db.session.commit()
        assert cli(app, "money", "check").exit_code == 0
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        ppa_ids = db.session.scalars(sa.select(Ppa.id).order_by(Ppa.id)).all()
        assert len(ppa_ids) == 11 + 51  # the demo's, the portfolio's and its distribution PPA
        client = signed_in_client(app, admin)
        db.session.remove()
    shown = [*ppa_ids[:11], *ppa_ids[-3:]]  # the demo's PPAs (each workflow state) and portfolio PPAs
    before = pages(client, shown)
    assert "Benchmark PPA 50" in before[f"/ppas/{ppa_ids[-2]}"]

    with app.app_context():
        backup = cli(app, "release", "backup", "--dir", str(tmp_path))
        assert backup.exit_code == 0, backup.output
        (dump,) = tmp_path.glob("obcms-*.dump")
        assert backup.stdout.splitlines()[0] == f"Backup written and checked: {dump}"
        assert re.fullmatch(rf"  \d+\.\d (KiB|MiB), \d+ tables, revision {head(app)}", backup.stdout.splitlines()[1])
        db.session.remove()
        db.engine.dispose()
        recreate_empty(app.config["SQLALCHEMY_DATABASE_URI"])

        refused = cli(app, "release", "restore", str(dump))
        assert refused.exit_code == 2 and "--yes" in refused.output
        restored = cli(app, "release", "restore", str(dump), "--yes")
        assert restored.exit_code == 0, restored.output

        assert cli(app, "tree", "check").output.strip() == "All trees intact."
        money = cli(app, "money", "check")
        assert (money.exit_code, money.output.strip()) == (0, "All money agrees: trees, ledger and tranches.")
        plan = cli(app, "release", "plan")
        assert "Nothing to apply: the database is at the head." in plan.output

    after = pages(client, shown)
    assert after.keys() == before.keys()
    for url in before:
        assert after[url] == before[url], url


def test_the_plan_lists_the_revisions_to_apply_and_how_to_roll_back(migrated_app):
    with migrated_app.app_context():
        assert cli(migrated_app, "release", "plan").stdout.splitlines()[-1] == \
            "Nothing to apply: the database is at the head."
        downgrade(revision="k5_job_request")
        result = cli(migrated_app, "release", "plan")
        upgrade()
    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert lines[:2] == ["Database at: k5_job_request", f"Code head:   {head(migrated_app)}"]
    steps = lines[3:lines.index("Rollback to the revision before: flask --app wsgi db downgrade k5_job_request")]
    assert lines[2] == f"{len(steps)} revision(s) to apply, oldest first:"
    assert steps[0].split()[0] == "l2_maintenance" and steps[1].split()[0] == "l3_api_tokens"
    assert "api tokens: a scope (read | write) and an optional expiry" in steps[1]
    preview = lines[4 + len(steps):]
    if make_url(migrated_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql":
        assert preview[0] == "-- SQL preview (flask --app wsgi db upgrade --sql):"
        sql = "\n".join(preview[1:])
        assert "CREATE TABLE maintenance_state" in sql
        assert "ALTER TABLE api_tokens ADD COLUMN scope VARCHAR(10) DEFAULT 'read' NOT NULL" in sql
        assert sql.rstrip().endswith("COMMIT;")
    else:
        assert preview[0].startswith("No SQL preview: SQLite's batch migrations read the live tables")


def test_sqlite_backup_and_restore(tmp_path):
    url = f"sqlite:///{tmp_path / 'obcms.sqlite3'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        assert cli(app, "seed-demo").exit_code == 0
        result = cli(app, "release", "backup", "--dir", str(tmp_path / "backups"))
        assert result.exit_code == 0, result.output
        (copy,) = (tmp_path / "backups").glob(f"obcms-obcms-*-{head(app)}.sqlite3")
        assert sqlite3.connect(copy).execute("SELECT count(*) FROM users").fetchone() == (7,)

        db.session.execute(sa.text("DELETE FROM calendar_event_participants"))
        db.session.commit()
        restored = cli(app, "release", "restore", str(copy), "--yes")
        assert restored.exit_code == 0, restored.output
        assert restored.stdout.strip() == f"Restored {copy}; the database is at revision {head(app)}."
        assert db.session.scalar(sa.text("SELECT count(*) FROM calendar_event_participants")) > 0

        unwritable = cli(app, "release", "backup", "--dir", "/proc/obcms-backups")
        assert unwritable.exit_code == 1 and "cannot write backups to /proc/obcms-backups" in unwritable.output

        not_a_backup = tmp_path / "notes.txt"
        not_a_backup.write_text("not a database")
        refused = cli(app, "release", "restore", str(not_a_backup), "--yes")
        assert refused.exit_code == 1 and "is not an SQLite database" in refused.output
        db.session.remove()
        db.engine.dispose()
