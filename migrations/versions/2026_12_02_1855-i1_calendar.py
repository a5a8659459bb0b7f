"""calendar: events (one-off and recurring, with participants), resources and bookings, feeds

Revision ID: i1_calendar
Revises: h1_sign_ins
Create Date: 2026-12-02 18:55:58

Two pending-or-approved bookings of one resource never overlap: on PostgreSQL an exclusion constraint over
the time range says so (btree_gist gives the integer `=` in the GiST index; a trusted extension, so the
database owner may create it). SQLite has no such constraint: its one write lock serializes bookings and the
service checks inside it (obcms/calendar/models.py).
"""
from alembic import op
import sqlalchemy as sa

# As obcms/calendar/models.py NO_OVERLAP_DDL (a revision keeps its own copy: the model may change later).
NO_OVERLAP_DDL = ("ALTER TABLE calendar_bookings ADD CONSTRAINT calendar_bookings_no_overlap EXCLUDE USING gist "
                  "(resource_id WITH =, tstzrange(starts_at, ends_at) WITH &&) "
                  "WHERE (status IN ('pending', 'approved'))")


revision = 'i1_calendar'
down_revision = 'h1_sign_ins'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('room', 'vehicle', 'equipment', 'facilitator', name='calendar_resource_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), server_default='', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('available', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("name <> ''", name=op.f('ck_calendar_resources_name_not_empty')),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_calendar_resources_capacity_positive')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_calendar_resources_organization_id_organizations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_resources')),
    sa.UniqueConstraint('name', name=op.f('uq_calendar_resources_name'))
    )
    with op.batch_alter_table('calendar_resources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_resources_organization_id'), ['organization_id'], unique=False)

    op.create_table('calendar_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('location', sa.String(length=200), server_default='', nullable=False),
    sa.Column('kind', sa.Enum('meeting', 'workshop', 'conference', 'training', 'site_visit', 'deadline', 'other', name='calendar_event_kind', native_enum=False, create_constraint=True, length=40), server_default='meeting', nullable=False),
    sa.Column('all_day', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=True),
    sa.Column('exdates', sa.JSON(), nullable=False),
    sa.Column('last_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('recurrence_id', sa.DateTime(timezone=True), nullable=True),
    sa.Column('organizer_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('visibility', sa.Enum('public', 'organization', 'private', name='calendar_visibility', native_enum=False, create_constraint=True, length=40), server_default='organization', nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("title <> ''", name=op.f('ck_calendar_events_title_not_empty')),
    sa.CheckConstraint('(series_id IS NULL) = (recurrence_id IS NULL)', name=op.f('ck_calendar_events_override_names_its_occurrence')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_calendar_events_ends_after_start')),
    sa.CheckConstraint('rrule IS NULL OR series_id IS NULL', name=op.f('ck_calendar_events_override_does_not_recur')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_calendar_events_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organizer_id'], ['users.id'], name=op.f('fk_calendar_events_organizer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['calendar_events.id'], name=op.f('fk_calendar_events_series_id_calendar_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_events')),
    sa.UniqueConstraint('series_id', 'recurrence_id', name='one_override_per_occurrence'),
    sa.UniqueConstraint('uid', name=op.f('uq_calendar_events_uid'))
    )
    with op.batch_alter_table('calendar_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_events_last_ends_at'), ['last_ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_events_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_events_organizer_id'), ['organizer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_events_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_calendar_events_window', ['starts_at', 'last_ends_at'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("name <> ''", name=op.f('ck_calendar_feeds_name_not_empty')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_user_id'), ['user_id'], unique=False)

    op.create_table('calendar_resource_approvers',
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['calendar_resources.id'], name=op.f('fk_calendar_resource_approvers_resource_id_calendar_resources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_resource_approvers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', 'user_id', name=op.f('pk_calendar_resource_approvers'))
    )
    with op.batch_alter_table('calendar_resource_approvers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_resource_approvers_user_id'), ['user_id'], unique=False)

    op.create_table('calendar_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'cancelled', name='calendar_booking_status', native_enum=False, create_constraint=True, length=40), server_default='pending', nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), server_default='', nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("title <> ''", name=op.f('ck_calendar_bookings_title_not_empty')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_calendar_bookings_ends_after_start')),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_calendar_bookings_booked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_calendar_bookings_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['calendar_events.id'], name=op.f('fk_calendar_bookings_event_id_calendar_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_calendar_bookings_organization_id_organizations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['calendar_resources.id'], name=op.f('fk_calendar_bookings_resource_id_calendar_resources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_bookings'))
    )
    with op.batch_alter_table('calendar_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_bookings_booked_by_id'), ['booked_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_bookings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_bookings_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_calendar_bookings_resource_window', ['resource_id', 'starts_at', 'ends_at'], unique=False)

    op.create_table('calendar_event_participants',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['calendar_events.id'], name=op.f('fk_calendar_event_participants_event_id_calendar_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_event_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'user_id', name=op.f('pk_calendar_event_participants'))
    )
    with op.batch_alter_table('calendar_event_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_event_participants_user_id'), ['user_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        op.execute(NO_OVERLAP_DDL)


def downgrade():
    with op.batch_alter_table('calendar_event_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_event_participants_user_id'))

    op.drop_table('calendar_event_participants')
    with op.batch_alter_table('calendar_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_bookings_resource_window')
        batch_op.drop_index(batch_op.f('ix_calendar_bookings_organization_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_bookings_event_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_bookings_booked_by_id'))

    op.drop_table('calendar_bookings')
    with op.batch_alter_table('calendar_resource_approvers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_resource_approvers_user_id'))

    op.drop_table('calendar_resource_approvers')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_user_id'))

    op.drop_table('calendar_feeds')
    with op.batch_alter_table('calendar_events', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_events_window')
        batch_op.drop_index(batch_op.f('ix_calendar_events_series_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_events_organizer_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_events_organization_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_events_last_ends_at'))

    op.drop_table('calendar_events')
    with op.batch_alter_table('calendar_resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_resources_organization_id'))

    op.drop_table('calendar_resources')
