"""ledger: financial entries (obligations, disbursements, adjustments) per work item, the work items'
rolled-up obligated/disbursed, and the tranche that mirrors each entry

Revision ID: k2_ledger
Revises: j1_tasks
Create Date: 2026-12-03 14:00:00

Existing work items start at obligated = disbursed = 0 (there were no entries). A tranche mirroring a reversal
carries a negative amount, hence the relaxed amount_non_negative on ppa_funding_tranches.
"""
from alembic import op
import sqlalchemy as sa


revision = 'k2_ledger'
down_revision = 'j1_tasks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('financial_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('ppa_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('obligation', 'disbursement', 'adjustment', name='financial_entry_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=60), server_default='', nullable=False),
    sa.Column('payee', sa.String(length=200), server_default='', nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('over_allocation', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount <> 0", name=op.f('ck_financial_entries_amount_not_zero')),
    sa.CheckConstraint("reason IS NOT NULL AND reason <> '' OR (kind <> 'adjustment' AND reverses_id IS NULL AND NOT over_allocation)", name=op.f('ck_financial_entries_reason_required')),
    sa.CheckConstraint("amount > 0 OR kind = 'adjustment' OR reverses_id IS NOT NULL", name=op.f('ck_financial_entries_amount_positive_unless_adjustment_or_reversal')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_financial_entries_organization_id_organizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ppa_id'], ['ppas.id'], name=op.f('fk_financial_entries_ppa_id_ppas'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_financial_entries_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_id'], ['financial_entries.id'], name=op.f('fk_financial_entries_reverses_id_financial_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_financial_entries_work_item_id_work_items'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_financial_entries')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_financial_entries_reverses_id'))
    )
    with op.batch_alter_table('financial_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_financial_entries_ppa_id'), ['ppa_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_financial_entries_work_item_id'), ['work_item_id'], unique=False)
        batch_op.create_index('ix_financial_entries_node_newest', ['work_item_id', 'recorded_at', 'id'], unique=False)

    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('obligated', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disbursed', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_work_items_disbursed_within_obligated'),
                                         'disbursed >= 0 AND disbursed <= obligated')

    with op.batch_alter_table('ppa_funding_tranches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('financial_entry_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ppa_funding_tranches_financial_entry_id'), ['financial_entry_id'])
        batch_op.create_foreign_key(batch_op.f('fk_ppa_funding_tranches_financial_entry_id_financial_entries'), 'financial_entries', ['financial_entry_id'], ['id'], ondelete='RESTRICT')
        batch_op.drop_constraint(op.f('ck_ppa_funding_tranches_amount_non_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ppa_funding_tranches_amount_non_negative'),
                                         "amount >= 0 OR kind = 'adjustment' OR financial_entry_id IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM ppa_funding_tranches WHERE financial_entry_id IS NOT NULL")
    with op.batch_alter_table('ppa_funding_tranches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ppa_funding_tranches_amount_non_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ppa_funding_tranches_amount_non_negative'),
                                         "amount >= 0 OR kind = 'adjustment'")
        batch_op.drop_constraint(batch_op.f('fk_ppa_funding_tranches_financial_entry_id_financial_entries'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_ppa_funding_tranches_financial_entry_id'), type_='unique')
        batch_op.drop_column('financial_entry_id')

    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_items_disbursed_within_obligated'), type_='check')
        batch_op.drop_column('disbursed')
        batch_op.drop_column('obligated')

    with op.batch_alter_table('financial_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_financial_entries_node_newest')
        batch_op.drop_index(batch_op.f('ix_financial_entries_work_item_id'))
        batch_op.drop_index(batch_op.f('ix_financial_entries_ppa_id'))

    op.drop_table('financial_entries')
