"""tracking: the structure template a PPA's execution project is generated from

Revision ID: f1_tracking
Revises: e1_notifications_approval
Create Date: 2026-11-26 06:10:00

ppas.structure_template (program, activity, milestone, outcome, minimal; NULL until tracking is enabled), so
that ensure_execution_project() can generate the tree later (on entering technical_review) from the template
the editors chose (obcms/ppas/tracking.py).
"""
import sqlalchemy as sa
from alembic import op

revision = 'f1_tracking'
down_revision = 'e1_notifications_approval'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ppas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('structure_template', sa.Enum(
            'program', 'activity', 'milestone', 'outcome', 'minimal', name='ppa_structure_template',
            native_enum=False, create_constraint=True, length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('ppas', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ppas_ppa_structure_template'), type_='check')
        batch_op.drop_column('structure_template')
