"""calendar: an index for the windows of work items (activities due from the window's start, tasks due in it)

Revision ID: j1_calendar_window_index
Revises: j3_mail
Create Date: 2026-12-03 08:00:00

obcms/calendar/queries.py asks for activities with work_type = 'activity' AND due_date >= the window's first
day, and for tasks and subtasks due inside the window: both are ranges of (work_type, due_date). On PostgreSQL
the index also carries what the month grid reads of each (visible, organization, id, title), so that those
ranges are read from the index alone. It replaces ix_work_items_dates (start_date, due_date), which no query
leads with any more, so a write to work_items still maintains as many indexes as before.
"""
from alembic import op

revision = 'j1_calendar_window_index'
down_revision = 'j3_mail'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_work_items_dates', table_name='work_items')
    op.create_index('ix_work_items_calendar', 'work_items', ['work_type', 'due_date', 'start_date'], unique=False,
                    postgresql_include=['calendar_visible', 'organization_id', 'id', 'title'])


def downgrade():
    op.drop_index('ix_work_items_calendar', table_name='work_items')
    op.create_index('ix_work_items_dates', 'work_items', ['start_date', 'due_date'], unique=False)
