"""Funding totals and rates per PPA, computed in SQL for a whole list at once (DOMAIN.md "Funding tranches").

    stmt = with_funding_totals(scope(sa.select(Ppa), Ppa, user))
    for row in db.session.execute(stmt):
        row.Ppa, row.obligations, row.obligation_rate, row.under_obligated      # Decimal / bool

Definitions (rates are percentages rounded to 2 decimals, NULL when the divisor is zero or missing):
- net allocations   = allocations + adjustments (an adjustment corrects the allocation; it may be negative)
- obligation rate   = obligations ÷ net allocations × 100
- disbursement rate = disbursements ÷ obligations × 100
- utilization       = disbursements ÷ the PPA's budget allocation × 100
- under-obligated   = obligation rate below 75 % (false when there is no rate)
"""
import functools

import sqlalchemy as sa

from ..db_types import Money
from ..extensions import db
from .models import FundingTranche, Ppa

UNDER_OBLIGATED_BELOW = 75
FUNDING_COLUMNS = ("allocations", "obligations", "disbursements", "adjustments", "net_allocations",
                   "obligation_rate", "disbursement_rate", "utilization", "under_obligated")
RATE = sa.Numeric(12, 2, asdecimal=True)
LISTED = "funding_ppa_ids"  # the bound parameter of funding_totals_subquery(listed_only=True)


def _sum_of(kind):
    amount = sa.case((FundingTranche.kind == kind, FundingTranche.amount))
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(amount), 0), Money()).label(kind + "s")


@functools.cache
def funding_totals_subquery(listed_only=False):
    """One row per PPA that has tranches: ppa_id, allocations, obligations, disbursements, adjustments.
    With listed_only, only the PPAs given as the LISTED parameter (a list of ids) are aggregated.

    Built once: the expressions are the same for every request, and a statement reused keeps its cache key
    (constructing and keying them cost more than the query on a detail page)."""
    stmt = (sa.select(FundingTranche.ppa_id, *(_sum_of(k) for k in
                                               ("allocation", "obligation", "disbursement", "adjustment")))
            .group_by(FundingTranche.ppa_id))
    if listed_only:
        stmt = stmt.where(FundingTranche.ppa_id.in_(sa.bindparam(LISTED, expanding=True)))
    return stmt.subquery("funding_totals")


def percent_of(part, whole):
    """round(part × 100 ÷ whole, 2) in SQL; NULL when `whole` is NULL or zero. 100.0 keeps SQLite from
    integer division when both sums happen to be whole numbers."""
    return sa.type_coerce(sa.func.round(part * sa.literal_column("100.0") / sa.func.nullif(whole, 0), 2), RATE)


@functools.cache
def funding_columns(totals):
    """The labelled totals and rates over a funding_totals_subquery() joined to Ppa (built once per subquery)."""
    zero = sa.literal_column("0")
    allocations = sa.func.coalesce(totals.c.allocations, zero)
    obligations = sa.func.coalesce(totals.c.obligations, zero)
    disbursements = sa.func.coalesce(totals.c.disbursements, zero)
    adjustments = sa.func.coalesce(totals.c.adjustments, zero)
    net = allocations + adjustments
    obligation_rate = percent_of(obligations, net)
    return (
        sa.type_coerce(allocations, Money()).label("allocations"),
        sa.type_coerce(obligations, Money()).label("obligations"),
        sa.type_coerce(disbursements, Money()).label("disbursements"),
        sa.type_coerce(adjustments, Money()).label("adjustments"),
        sa.type_coerce(net, Money()).label("net_allocations"),
        obligation_rate.label("obligation_rate"),
        percent_of(disbursements, obligations).label("disbursement_rate"),
        percent_of(disbursements, Ppa.budget_allocation).label("utilization"),
        sa.case((obligation_rate < UNDER_OBLIGATED_BELOW, sa.true()), else_=sa.false()).label("under_obligated"),
    )


def with_funding_totals(stmt, totals=None):
    """Add the funding totals and rates (FUNDING_COLUMNS) to a SELECT over Ppa: one outer-joined aggregate."""
    totals = totals if totals is not None else funding_totals_subquery()
    return stmt.outerjoin(totals, totals.c.ppa_id == Ppa.id).add_columns(*funding_columns(totals))


def funding_summary_stmt():
    """SELECT ppa id and every funding column for all PPAs (scope it, filter it, order it as needed)."""
    return with_funding_totals(sa.select(Ppa.id))


@functools.cache
def _listed_funding_stmt():
    totals = funding_totals_subquery(listed_only=True)
    return with_funding_totals(sa.select(Ppa.id), totals).where(Ppa.id.in_(sa.bindparam(LISTED, expanding=True)))


def funding_of(ppa_ids):
    """{ppa id: Row of FUNDING_COLUMNS} for these PPAs, aggregating only their own tranches (one query)."""
    if not ppa_ids:
        return {}
    return {row.id: row for row in db.session.execute(_listed_funding_stmt(), {LISTED: list(ppa_ids)})}


def funding_summary(ppa_id):
    """The funding totals and rates of one PPA (a Row with FUNDING_COLUMNS), in one query."""
    return db.session.execute(funding_summary_stmt().where(Ppa.id == ppa_id)).one()
