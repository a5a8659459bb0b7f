"""spending: a work item's actual_expenditure is its rolled-up disbursements

Revision ID: k4_spending
Revises: k3_search
Create Date: 2026-12-03 17:00:00

Expenditure was entered by hand on leaves and summed upward; it now comes from the ledger (actual_expenditure =
disbursed on every node, kept so by each entry's write and proved by `flask obcms money check`). Hand-entered
figures give way to what the ledger holds. Downgrading keeps the values: the older roll-up then sums the
leaves' figures again at its next run.
"""
from alembic import op


revision = 'k4_spending'
down_revision = 'k3_search'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE work_items SET actual_expenditure = disbursed WHERE actual_expenditure <> disbursed")


def downgrade():
    pass
