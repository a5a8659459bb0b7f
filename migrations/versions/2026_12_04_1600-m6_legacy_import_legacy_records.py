"""legacy import: the older system's record ids and what they became

Revision ID: m6_legacy_import
Revises: l3_api_tokens
Create Date: 2026-12-04 16:00:00

One row per imported record of the older system's export (obcms/legacy/): its kind and id, the obcms object it
became, and the checksum of the source row.
"""
import sqlalchemy as sa
from alembic import op

revision = 'm6_legacy_import'
down_revision = 'l3_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('legacy_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('legacy_kind', sa.String(length=40), nullable=False),
    sa.Column('legacy_id', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('source_file', sa.String(length=255), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("legacy_kind IN ('event', 'staff_task', 'project_workflow')",
                       name=op.f('ck_legacy_records_legacy_kind_known')),
    sa.CheckConstraint("object_type IN ('calendar_event', 'work_item')", name=op.f('ck_legacy_records_object_type_known')),
    sa.CheckConstraint("legacy_id <> ''", name=op.f('ck_legacy_records_legacy_id_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legacy_records')),
    sa.UniqueConstraint('legacy_kind', 'legacy_id', name=op.f('uq_legacy_records_legacy_kind'))
    )
    op.create_index('ix_legacy_records_object', 'legacy_records', ['object_type', 'object_id'], unique=False)


def downgrade():
    op.drop_index('ix_legacy_records_object', table_name='legacy_records')
    op.drop_table('legacy_records')
