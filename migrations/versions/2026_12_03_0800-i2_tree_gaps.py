"""tree_gaps: 64-bit nested-set bounds, so trees keep free numbers between them

Revision ID: i2_tree_gaps
Revises: i1_calendar
Create Date: 2026-12-03 08:00:00

Writes now fit a node or a moved subtree into free numbers between the bounds and shift nothing else
(obcms/workitems/tree/gaps.py); the free numbers need room beyond 32 bits. Bounds numbered without gaps
(every tree before this revision) stay valid: the first write at a place with no free number opens a gap
there. SQLite's INTEGER is 64-bit already, so only PostgreSQL changes. Downgrading renumbers every tree
tightly (1 … 2n) first, so the bounds fit 32 bits again.
"""
from alembic import op
import sqlalchemy as sa


revision = 'i2_tree_gaps'
down_revision = 'i1_calendar'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    with op.batch_alter_table('work_items') as batch_op:
        batch_op.alter_column('lft', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)
        batch_op.alter_column('rgt', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


# Tight renumbering in SQL (no application code in a migration): each bound's rank among its tree's bounds.
TIGHT = """
WITH bounds AS (
    SELECT id, tree_id, lft AS value, 'l' AS side FROM work_items
    UNION ALL SELECT id, tree_id, rgt, 'r' FROM work_items
), ranked AS (
    SELECT id, side, ROW_NUMBER() OVER (PARTITION BY tree_id ORDER BY value) AS position FROM bounds
)
UPDATE work_items SET lft = tight.lft, rgt = tight.rgt
FROM (SELECT id, max(position) FILTER (WHERE side = 'l') AS lft, max(position) FILTER (WHERE side = 'r') AS rgt
      FROM ranked GROUP BY id) AS tight
WHERE tight.id = work_items.id
"""


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(TIGHT)
    with op.batch_alter_table('work_items') as batch_op:
        batch_op.alter_column('lft', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
        batch_op.alter_column('rgt', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
