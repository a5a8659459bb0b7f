"""tasks: task templates with ordered items, the record of generated task sets, assessments, and the
estimated hours of work items

Revision ID: j1_tasks
Revises: j2_alerts
Create Date: 2026-12-03 07:47:39

task_generations' UNIQUE (trigger_kind, trigger_id, template_id) is what makes generation idempotent
(obcms/tasking/models.py). The shipped templates are data, loaded by `flask obcms tasks seed-templates`
(idempotent), not by this revision.
"""
from alembic import op
import sqlalchemy as sa


revision = 'j1_tasks'
down_revision = 'j2_alerts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('task_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('domain', sa.Enum('general', 'assessment', 'coordination', 'monitoring', 'policy', 'services', name='task_template_domain', native_enum=False, create_constraint=True, length=40), server_default='general', nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("name <> ''", name=op.f('ck_task_templates_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_task_templates_name'))
    )
    op.create_table('task_template_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', 'urgent', 'critical', name='task_template_priority', native_enum=False, create_constraint=True, length=40), server_default='medium', nullable=False),
    sa.Column('estimated_hours', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('role', sa.Enum('lead', 'contributor', 'reviewer', 'approver', 'monitor', name='task_template_role', native_enum=False, create_constraint=True, length=40), server_default='lead', nullable=False),
    sa.Column('due_offset_days', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("title <> ''", name=op.f('ck_task_template_items_title_not_empty')),
    sa.CheckConstraint('due_offset_days >= 0', name=op.f('ck_task_template_items_due_offset_non_negative')),
    sa.CheckConstraint('estimated_hours IS NULL OR estimated_hours >= 0', name=op.f('ck_task_template_items_estimated_hours_non_negative')),
    sa.CheckConstraint('position >= 1', name=op.f('ck_task_template_items_position_positive')),
    sa.ForeignKeyConstraint(['template_id'], ['task_templates.id'], name=op.f('fk_task_template_items_template_id_task_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_template_items')),
    sa.UniqueConstraint('template_id', 'position', name='one_item_per_position')
    )
    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('methodology', sa.Enum('desk_review', 'survey', 'participatory', 'mixed', name='assessment_methodology', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("title <> ''", name=op.f('ck_assessments_title_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_assessments_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=op.f('fk_assessments_lead_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_assessments_organization_id_organizations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_organization_id'), ['organization_id'], unique=False)

    op.create_table('task_generations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger_kind', sa.Enum('ppa', 'assessment', 'event', name='task_trigger_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('trigger_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['task_templates.id'], name=op.f('fk_task_generations_template_id_task_templates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_items.id'], name=op.f('fk_task_generations_work_item_id_work_items'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_generations')),
    sa.UniqueConstraint('trigger_kind', 'trigger_id', 'template_id', name='once_per_trigger')
    )
    with op.batch_alter_table('task_generations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_generations_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_generations_work_item_id'), ['work_item_id'], unique=False)

    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estimated_hours', sa.Numeric(precision=7, scale=2), nullable=True))
        batch_op.create_check_constraint(op.f('ck_work_items_estimated_hours_non_negative'),
                                         'estimated_hours IS NULL OR estimated_hours >= 0')



def downgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_items_estimated_hours_non_negative'), type_='check')
        batch_op.drop_column('estimated_hours')

    with op.batch_alter_table('task_generations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_generations_work_item_id'))
        batch_op.drop_index(batch_op.f('ix_task_generations_template_id'))

    op.drop_table('task_generations')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_organization_id'))
        batch_op.drop_index(batch_op.f('ix_assessments_lead_id'))

    op.drop_table('assessments')
    op.drop_table('task_template_items')
    op.drop_table('task_templates')
