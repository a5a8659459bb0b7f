"""job runs remember the request that enqueued them

Revision ID: k5_job_request
Revises: k4_spending
Create Date: 2026-12-03 17:10:00

A job's log line and its audit rows carry the id of the request (or job) that asked for it. Runs queued
before this revision have none.
"""
from alembic import op
import sqlalchemy as sa


revision = 'k5_job_request'
down_revision = 'k4_spending'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job_runs') as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('job_runs') as batch_op:
        batch_op.drop_column('request_id')
