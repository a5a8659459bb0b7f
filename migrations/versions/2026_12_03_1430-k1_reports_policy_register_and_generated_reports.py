"""reports: the policy register, PPA ↔ policy links, and the workbooks generated in the background

Revision ID: k1_reports
Revises: k2_ledger
Create Date: 2026-12-03 13:27:37

A generated report's file lives under REPORTS_DIR (obcms/reports/services.py); the row says whose it is, how
far its job got and until when it is kept.
"""
from alembic import op
import sqlalchemy as sa


revision = 'k1_reports'
down_revision = 'k2_ledger'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Enum('draft', 'active', 'superseded', 'repealed', name='policy_status', native_enum=False, create_constraint=True, length=40), server_default='active', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reference <> ''", name=op.f('ck_policies_reference_not_empty')),
    sa.CheckConstraint("title <> ''", name=op.f('ck_policies_title_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_policies_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies')),
    sa.UniqueConstraint('reference', name=op.f('uq_policies_reference'))
    )
    op.create_table('generated_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('mfbm_budget_execution', 'bpda_development_alignment', 'coa_budget_variance', name='report_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('moa_id', sa.Integer(), nullable=True),
    sa.Column('sector', sa.String(length=40), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('job_run_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='report_status', native_enum=False, create_constraint=True, length=40), server_default='queued', nullable=False),
    sa.Column('rows_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rows_done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('fiscal_year >= 2000 AND fiscal_year <= 2100', name=op.f('ck_generated_reports_fiscal_year_range')),
    sa.CheckConstraint('rows_done >= 0 AND rows_total >= 0', name=op.f('ck_generated_reports_rows_non_negative')),
    sa.ForeignKeyConstraint(['job_run_id'], ['job_runs.id'], name=op.f('fk_generated_reports_job_run_id_job_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moa_id'], ['organizations.id'], name=op.f('fk_generated_reports_moa_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_generated_reports_requested_by_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generated_reports'))
    )
    with op.batch_alter_table('generated_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generated_reports_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_generated_reports_requested_by_id'), ['requested_by_id'], unique=False)

    op.create_table('ppa_policies',
    sa.Column('ppa_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_ppa_policies_policy_id_policies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ppa_id'], ['ppas.id'], name=op.f('fk_ppa_policies_ppa_id_ppas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ppa_id', 'policy_id', name=op.f('pk_ppa_policies'))
    )
    with op.batch_alter_table('ppa_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppa_policies_policy_id'), ['policy_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ppa_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ppa_policies_policy_id'))

    op.drop_table('ppa_policies')
    with op.batch_alter_table('generated_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generated_reports_requested_by_id'))
        batch_op.drop_index(batch_op.f('ix_generated_reports_expires_at'))

    op.drop_table('generated_reports')
    op.drop_table('policies')
