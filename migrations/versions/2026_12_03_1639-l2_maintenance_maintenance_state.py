"""ops: the maintenance switch (one row) every web process and worker reads

Revision ID: l2_maintenance
Revises: k5_job_request
Create Date: 2026-12-03 16:39:43

No row means maintenance is off; `flask obcms maintenance on` writes row 1 (obcms/ops/maintenance.py).
"""
from alembic import op
import sqlalchemy as sa


revision = 'l2_maintenance'
down_revision = 'k5_job_request'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('maintenance_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('retry_after', sa.Integer(), nullable=False),
    sa.Column('changed_by', sa.String(length=120), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_maintenance_state_single_row')),
    sa.CheckConstraint('retry_after >= 0 AND retry_after <= 86400', name=op.f('ck_maintenance_state_retry_after_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_state'))
    )


def downgrade():
    op.drop_table('maintenance_state')
