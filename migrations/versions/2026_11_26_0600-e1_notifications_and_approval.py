"""notifications and approval reminders

Revision ID: e1_notifications_approval
Revises: d1_ppas
Create Date: 2026-11-26 06:00:00

In-app notifications (obcms/notifications), the daily approval reminder records (obcms/ppas/reminders.py) and
the link from a PPA to the reviewer tasks its approval workflow opened (obcms/ppas/approval.py ApprovalTask).
"""
from alembic import op
import sqlalchemy as sa


revision = 'e1_notifications_approval'
down_revision = 'd1_ppas'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind <> ''", name=op.f('ck_notifications_kind_not_empty')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_read_created', ['user_id', 'read_at', 'created_at'], unique=False)

    op.create_table('ppa_approval_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ppa_id', sa.Integer(), nullable=False),
    sa.Column('approval_status', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.Enum('high', 'critical', name='approval_reminder_severity', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('days_waiting', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('days_waiting >= 0', name=op.f('ck_ppa_approval_reminders_days_waiting_non_negative')),
    sa.ForeignKeyConstraint(['ppa_id'], ['ppas.id'], name=op.f('fk_ppa_approval_reminders_ppa_id_ppas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppa_approval_reminders')),
    sa.UniqueConstraint('ppa_id', 'sent_on', name=op.f('uq_ppa_approval_reminders_ppa_id'))
    )

    op.create_table('ppa_approval_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ppa_id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('approval_status', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ppa_id'], ['ppas.id'], name=op.f('fk_ppa_approval_tasks_ppa_id_ppas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_ppa_approval_tasks_work_item_id_work_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppa_approval_tasks')),
    sa.UniqueConstraint('work_item_id', name=op.f('uq_ppa_approval_tasks_work_item_id'))
    )
    with op.batch_alter_table('ppa_approval_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ppa_approval_tasks_ppa_id'), ['ppa_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ppa_approval_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ppa_approval_tasks_ppa_id'))

    op.drop_table('ppa_approval_tasks')
    op.drop_table('ppa_approval_reminders')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read_created')

    op.drop_table('notifications')
