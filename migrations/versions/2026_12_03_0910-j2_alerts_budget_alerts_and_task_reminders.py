"""budget alerts and task reminders: variance alerts, task reminder records and snoozes

Revision ID: j2_alerts
Revises: j1_calendar_window_index
Create Date: 2026-12-03 07:44:43

One open (not resolved) budget alert per PPA and kind: a partial UNIQUE index, on SQLite and PostgreSQL
alike. One reminder per task per day: UNIQUE (work_item_id, sent_on).
"""
from alembic import op
import sqlalchemy as sa


revision = 'j2_alerts'
down_revision = 'j1_calendar_window_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ppa_budget_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ppa_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('over', 'under', name='budget_alert_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('severity', sa.Enum('medium', 'high', 'critical', name='budget_alert_severity', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('status', sa.Enum('active', 'acknowledged', 'resolved', name='budget_alert_status', native_enum=False, create_constraint=True, length=40), server_default='active', nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('disbursed', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('utilization', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('elapsed', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('first_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("(kind = 'over' AND severity IN ('high', 'critical')) OR (kind = 'under' AND severity = 'medium')", name=op.f('ck_ppa_budget_alerts_severity_fits_kind')),
    sa.CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name=op.f('ck_ppa_budget_alerts_resolved_iff_resolved_at')),
    sa.CheckConstraint("status = 'active' OR status = 'resolved' OR acknowledged_at IS NOT NULL", name=op.f('ck_ppa_budget_alerts_acknowledged_has_time')),
    sa.CheckConstraint('budget > 0 AND disbursed >= 0', name=op.f('ck_ppa_budget_alerts_figures_valid')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_ppa_budget_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ppa_budget_alerts_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ppa_id'], ['ppas.id'], name=op.f('fk_ppa_budget_alerts_ppa_id_ppas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_ppa_budget_alerts_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppa_budget_alerts'))
    )
    with op.batch_alter_table('ppa_budget_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppa_budget_alerts_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ppa_budget_alerts_ppa_id'), ['ppa_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ppa_budget_alerts_status'), ['status'], unique=False)
        batch_op.create_index('uq_ppa_budget_alerts_open', ['ppa_id', 'kind'], unique=True, sqlite_where=sa.text("status <> 'resolved'"), postgresql_where=sa.text("status <> 'resolved'"))

    op.create_table('work_item_reminder_snoozes',
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_work_item_reminder_snoozes_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_work_item_reminder_snoozes_work_item_id_work_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_item_id', 'user_id', name=op.f('pk_work_item_reminder_snoozes'))
    )
    with op.batch_alter_table('work_item_reminder_snoozes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_item_reminder_snoozes_user_id'), ['user_id'], unique=False)

    op.create_table('work_item_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('severity', sa.Enum('medium', 'high', 'critical', name='task_reminder_severity', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_work_item_reminders_work_item_id_work_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_item_reminders')),
    sa.UniqueConstraint('work_item_id', 'sent_on', name=op.f('uq_work_item_reminders_work_item_id'))
    )


def downgrade():
    op.drop_table('work_item_reminders')
    with op.batch_alter_table('work_item_reminder_snoozes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_item_reminder_snoozes_user_id'))

    op.drop_table('work_item_reminder_snoozes')
    with op.batch_alter_table('ppa_budget_alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_ppa_budget_alerts_open', sqlite_where=sa.text("status <> 'resolved'"), postgresql_where=sa.text("status <> 'resolved'"))
        batch_op.drop_index(batch_op.f('ix_ppa_budget_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_ppa_budget_alerts_ppa_id'))
        batch_op.drop_index(batch_op.f('ix_ppa_budget_alerts_organization_id'))

    op.drop_table('ppa_budget_alerts')
