"""api tokens: a scope (read | write) and an optional expiry

Revision ID: l3_api_tokens
Revises: l2_maintenance
Create Date: 2026-12-03 18:00:00

A token read-only unless made to write; existing tokens become read tokens (until now the API only read).
"""
import sqlalchemy as sa
from alembic import op

revision = 'l3_api_tokens'
down_revision = 'l2_maintenance'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), server_default='read', nullable=False))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_api_tokens_scope_known'), "scope IN ('read', 'write')")


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_tokens_scope_known'), type_='check')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
