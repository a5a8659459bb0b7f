"""work items tree

Revision ID: c1_work_items
Revises: b1_audit_workflow
Create Date: 2026-11-26 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c1_work_items'
down_revision = 'b1_audit_workflow'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('work_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('lft', sa.Integer(), nullable=False),
    sa.Column('rgt', sa.Integer(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('work_type', sa.Enum('project', 'sub_project', 'activity', 'sub_activity', 'task', 'subtask', name='work_type', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('status', sa.Enum('not_started', 'in_progress', 'at_risk', 'blocked', 'completed', 'cancelled', name='work_item_status', native_enum=False, create_constraint=True, length=40), server_default='not_started', nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', 'urgent', 'critical', name='work_item_priority', native_enum=False, create_constraint=True, length=40), server_default='medium', nullable=False),
    sa.Column('activity_category', sa.Enum('coordination', 'ppa', 'office', name='activity_category', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('start_time', sa.Time(), nullable=True),
    sa.Column('end_time', sa.Time(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress', sa.Integer(), server_default='0', nullable=False),
    sa.Column('auto_calculate_progress', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('allocated_budget', sa.Numeric(14, 2), server_default='0', nullable=False),
    sa.Column('actual_expenditure', sa.Numeric(14, 2), server_default='0', nullable=False),
    sa.Column('budget_notes', sa.Text(), nullable=True),
    sa.Column('calendar_visible', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('calendar_color', sa.String(length=20), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('ppa_id', sa.Integer(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_work_items_progress_range')),
    sa.CheckConstraint('allocated_budget >= 0', name=op.f('ck_work_items_allocated_budget_non_negative')),
    sa.CheckConstraint('actual_expenditure >= 0', name=op.f('ck_work_items_actual_expenditure_non_negative')),
    sa.CheckConstraint('due_date IS NULL OR start_date IS NULL OR due_date >= start_date', name=op.f('ck_work_items_due_not_before_start')),
    sa.CheckConstraint("activity_category IS NULL OR work_type = 'activity'", name=op.f('ck_work_items_activity_category_only_for_activities')),
    sa.CheckConstraint('lft >= 1', name=op.f('ck_work_items_lft_positive')),
    sa.CheckConstraint('lft < rgt', name=op.f('ck_work_items_lft_before_rgt')),
    sa.CheckConstraint('depth >= 0', name=op.f('ck_work_items_depth_non_negative')),
    sa.CheckConstraint('(parent_id IS NULL AND depth = 0) OR (parent_id IS NOT NULL AND depth > 0)', name=op.f('ck_work_items_root_iff_depth_zero')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_work_items_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_work_items_organization_id_organizations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['parent_id'], ['work_items.id'], name=op.f('fk_work_items_parent_id_work_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_items'))
    )
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.create_index('ix_work_items_dates', ['start_date', 'due_date'], unique=False)
        batch_op.create_index('ix_work_items_tree_lft', ['tree_id', 'lft'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_items_ppa_id'), ['ppa_id'], unique=False)

    op.create_table('work_item_assignees',
    sa.Column('work_item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_work_item_assignees_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_work_item_assignees_work_item_id_work_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_item_id', 'user_id', name=op.f('pk_work_item_assignees'))
    )
    with op.batch_alter_table('work_item_assignees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_item_assignees_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('work_item_assignees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_item_assignees_user_id'))

    op.drop_table('work_item_assignees')
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_items_ppa_id'))
        batch_op.drop_index(batch_op.f('ix_work_items_parent_id'))
        batch_op.drop_index(batch_op.f('ix_work_items_organization_id'))
        batch_op.drop_index('ix_work_items_tree_lft')
        batch_op.drop_index('ix_work_items_dates')

    op.drop_table('work_items')
