"""work items tree

Revision ID: c1_work_items
Revises: b1_audit_workflow
Create Date: 2026-11-26 05:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'c1_work_items'
down_revision = 'b1_audit_workflow'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
