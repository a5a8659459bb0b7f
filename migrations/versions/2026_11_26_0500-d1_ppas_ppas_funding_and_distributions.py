"""ppas funding and distributions

Revision ID: d1_ppas
Revises: c1_work_items
Create Date: 2026-11-26 05:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'd1_ppas'
down_revision = 'c1_work_items'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
