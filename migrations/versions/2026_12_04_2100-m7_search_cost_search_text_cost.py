"""search: tell PostgreSQL's planner what obcms_search_text() costs

Revision ID: m7_search_cost
Revises: m6_legacy_import
Create Date: 2026-12-04 21:00:00

At the default cost (100) the planner read a 1,000-row PPA table sequentially, normalizing every row's text,
instead of asking the trigram index: 16 ms instead of 4 for one search. At 1000 it uses the index. SQLite has
no such function (its search uses FTS5 tables): nothing to do there.
"""
from alembic import op

revision = 'm7_search_cost'
down_revision = 'm6_legacy_import'
branch_labels = None
depends_on = None

FUNCTION = "obcms_search_text(VARIADIC text[])"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} COST 1000")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} COST 100")
