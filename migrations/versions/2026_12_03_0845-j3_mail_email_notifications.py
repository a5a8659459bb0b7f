"""e-mail notifications: each user's channel, the outbound e-mails and the notifications they carried

Revision ID: j3_mail
Revises: i2_tree_gaps
Create Date: 2026-12-03 07:45:00

A user with no notification_preferences row has the default channel (the daily digest; obcms/notifications/
models.py DEFAULT_CHANNEL), so no backfill is needed. outbound_mails keeps every e-mail sent or tried, failed
ones with their error; dedupe_key makes each e-mail once (one per notification, one digest per user per
day).
"""
from alembic import op
import sqlalchemy as sa


revision = 'j3_mail'
down_revision = 'i2_tree_gaps'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('in_app', 'immediate', 'daily_digest', name='notification_channel', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_preferences'))
    )
    op.create_table('outbound_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.Enum('notification', 'digest', name='mail_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sending', 'sent', 'failed', name='mail_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('dedupe_key', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_outbound_mails_sent_at_when_sent')),
    sa.CheckConstraint("address <> ''", name=op.f('ck_outbound_mails_address_not_empty')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbound_mails_attempts_non_negative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbound_mails_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_mails')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbound_mails_dedupe_key'))
    )
    with op.batch_alter_table('outbound_mails', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_mails_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_mails_user_id'), ['user_id'], unique=False)

    op.create_table('mail_notifications',
    sa.Column('mail_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['mail_id'], ['outbound_mails.id'], name=op.f('fk_mail_notifications_mail_id_outbound_mails'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_mail_notifications_notification_id_notifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mail_id', 'notification_id', name=op.f('pk_mail_notifications'))
    )
    with op.batch_alter_table('mail_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_notifications_notification_id'), ['notification_id'], unique=False)



def downgrade():
    with op.batch_alter_table('mail_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_notifications_notification_id'))

    op.drop_table('mail_notifications')
    with op.batch_alter_table('outbound_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_mails_user_id'))
        batch_op.drop_index('ix_outbound_mails_status_created')

    op.drop_table('outbound_mails')
    op.drop_table('notification_preferences')
