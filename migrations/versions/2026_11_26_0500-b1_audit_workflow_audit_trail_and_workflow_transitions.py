"""audit trail and workflow transitions

Revision ID: b1_audit_workflow
Revises: 7a74032a0603
Create Date: 2026-11-26 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b1_audit_workflow'
down_revision = '7a74032a0603'
branch_labels = None
depends_on = None

# A copy of obcms/audit/models.py PG_TRIGGER_FUNCTION / PG_TRIGGERS / SQLITE_TRIGGER (revisions never import app
# code): the audit table refuses UPDATE, DELETE and TRUNCATE, except DELETE in a transaction that ran
# SET LOCAL obcms.audit_retention = 'on' (the retention job only).
PG_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('obcms.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
)
SQLITE_TRIGGER = ("CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
                  "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused'); END")


def upgrade():
    op.create_table('audit_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=120), nullable=False),
    sa.Column('action', sa.Enum('create', 'update', 'delete', name='audit_action', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('object_type', sa.String(length=80), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=True),
    sa.Column('object_version', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=80), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('cause', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_entries_actor_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_object', ['object_type', 'object_id', 'id'], unique=False)

    op.create_table('transition_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('object_type', sa.String(length=80), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=False),
    sa.Column('transition', sa.String(length=80), nullable=False),
    sa.Column('from_state', sa.String(length=40), nullable=False),
    sa.Column('to_state', sa.String(length=40), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=120), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_transition_logs_actor_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_logs'))
    )
    with op.batch_alter_table('transition_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transition_logs_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index('ix_transition_logs_object', ['object_type', 'object_id', 'at'], unique=False)
        batch_op.create_index('ix_transition_logs_to_state_at', ['object_type', 'to_state', 'at'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_TRIGGER_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    elif dialect == 'sqlite':
        op.execute(SQLITE_TRIGGER)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    elif dialect == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")

    with op.batch_alter_table('transition_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_transition_logs_to_state_at')
        batch_op.drop_index('ix_transition_logs_object')
        batch_op.drop_index(batch_op.f('ix_transition_logs_actor_user_id'))

    op.drop_table('transition_logs')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_object')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_user_id'))

    op.drop_table('audit_entries')
