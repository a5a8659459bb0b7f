"""The migrations build exactly the models' schema, and go down to nothing and up again, on SQLite and (in the
PostgreSQL pass) on PostgreSQL."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from obcms import create_app
from obcms.extensions import db
from tests.databases import create_database, drop_database


def schema_differences():
    """What `flask db migrate` would write now: models compared with the migrated database."""
    migrate_options = current_app.extensions["migrate"].configure_args
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": migrate_options["compare_type"],
                                                               "include_name": migrate_options["include_name"]})
        return compare_metadata(context, db.metadata)


def describe(differences):
    return "models and migrations differ (write the revision):\n" + "\n".join(
        repr(item)[:200] for item in differences[:30])


def table_names():
    return set(sa.inspect(db.engine).get_table_names())


@pytest.mark.committed
@pytest.mark.slow
@pytest.mark.parametrize("backend_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_match_the_models_and_go_down_and_up(backend_name, monkeypatch):
    monkeypatch.setenv("OBCMS_TEST_BACKEND", backend_name)
    url = create_database("obcms_migrations")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            differences = schema_differences()
            assert differences == [], describe(differences)
            assert set(db.metadata.tables) <= table_names()

            downgrade(revision="base")
            assert table_names() == {"alembic_version"}

            upgrade()
            assert set(db.metadata.tables) <= table_names()
            assert schema_differences() == []
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
