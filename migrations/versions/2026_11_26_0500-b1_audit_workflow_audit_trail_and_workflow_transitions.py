"""audit trail and workflow transitions

Revision ID: b1_audit_workflow
Revises: 7a74032a0603
Create Date: 2026-11-26 05:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'b1_audit_workflow'
down_revision = '7a74032a0603'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
