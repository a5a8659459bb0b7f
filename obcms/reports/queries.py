"""The reads of the reports: one set-based statement per sheet, scoped to the user, streamed (yield_per), so
that a report runs the same handful of queries whatever the size of the portfolio.

    filters = ReportFilters(kind="mfbm_budget_execution", fiscal_year=2026, moa_id=None, sector=None)
    count_ppas(filters, user)                          # how many PPAs the report will list (one query)
    for row in stream(mfbm_statement(filters, user)): …

PPA-level money comes from the funding tranches (obcms/ppas/funding.py: obligations, disbursements, net
allocations). Per-node money (the Activity Breakdown, the rolled-up WorkItem Expenditure) comes from
node_obligations() and node_disbursements() only: the ledger's roll-ups stored on every work item
(obcms/budget/ledger.py: a node's own entries plus its descendants'), so a report reads them without summing.
"""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..audit.models import AuditEntry
from ..audit.objects import object_type_of
from ..auth.models import Organization
from ..auth.permissions import scope
from ..db_types import Money
from ..extensions import db
from ..ppas.funding import funding_totals_subquery, with_funding_totals
from ..ppas.models import FundingTranche, Ppa
from ..workitems.models import WorkItem
from .models import ppa_policies

STREAM_BATCH = 500
# Excel holds 1,048,576 rows a sheet: the Audit Trail stops well before (and says so in its last row).
AUDIT_TRAIL_LIMIT = 1_000_000


@dataclass(frozen=True)
class ReportFilters:
    kind: str
    fiscal_year: int
    moa_id: int | None = None
    sector: str | None = None


def node_obligations(node=WorkItem):
    """What has been obligated on a work item, its subtree included (the ledger's roll-up)."""
    return node.obligated


def node_disbursements(node=WorkItem):
    """What has been disbursed on a work item, its subtree included (the ledger's roll-up): its expenditure."""
    return node.disbursed


def _ppa_filters(stmt, filters, user):
    """The PPAs of a report: the user's scope, the fiscal year, the MOA or sector, and the report's own rule
    (MFBM: MOA PPAs only; BPDA: PPAs with a sector)."""
    stmt = scope(stmt, Ppa, user).where(Ppa.fiscal_year == filters.fiscal_year)
    if filters.moa_id is not None:
        stmt = stmt.where(Ppa.implementing_moa_id == filters.moa_id)
    if filters.sector is not None:
        stmt = stmt.where(Ppa.sector == filters.sector)
    if filters.kind == "mfbm_budget_execution":
        stmt = stmt.where(Ppa.category == "moa_ppa")
    elif filters.kind == "bpda_development_alignment":
        stmt = stmt.where(Ppa.sector.is_not(None))
    return stmt


def _ppa_order():
    """PPA code order (PPAs without a code, shown as PPA-<id>, last), then id: the same on both backends."""
    return (Ppa.code.is_(None), Ppa.code, Ppa.id)


def count_ppas(filters, user):
    return db.session.scalar(_ppa_filters(sa.select(sa.func.count(Ppa.id)), filters, user))


def stream(stmt):
    """Rows of `stmt` fetched STREAM_BATCH at a time (a server-side cursor on PostgreSQL)."""
    return db.session.execute(stmt.execution_options(yield_per=STREAM_BATCH))


def _moa():
    return aliased(Organization, name="moa")


def mfbm_statement(filters, user):
    """MFBM Budget Execution: one row per MOA PPA with its tranche totals and its tree's rolled-up expenditure."""
    moa, root = _moa(), aliased(WorkItem, name="root")
    stmt = (sa.select(Ppa.id, Ppa.code, Ppa.title, moa.acronym.label("moa"), Ppa.appropriation_class,
                      Ppa.budget_allocation, Ppa.status, Ppa.approval_status,
                      sa.case((root.id.is_(None), None), else_=node_disbursements(root)).label("tree_expenditure"))
            .outerjoin(moa, moa.id == Ppa.implementing_moa_id)
            .outerjoin(root, root.id == Ppa.execution_project_id))
    return with_funding_totals(_ppa_filters(stmt, filters, user)).order_by(*_ppa_order())


def bpda_statement(filters, user):
    """BPDA Development Alignment: one row per PPA with a sector, and whether it is linked to a policy."""
    linked = sa.exists().where(ppa_policies.c.ppa_id == Ppa.id)
    stmt = sa.select(Ppa.id, Ppa.code, Ppa.title, Ppa.sector, Ppa.outcome_framework, Ppa.obc_slots, Ppa.total_slots,
                     Ppa.status, Ppa.progress, Ppa.supports_sdg, Ppa.moral_governance_pillar,
                     Ppa.benefits_indigenous_peoples, Ppa.supports_peace_agenda, linked.label("has_policy"))
    return _ppa_filters(stmt, filters, user).order_by(*_ppa_order())


def coa_variance_statement(filters, user):
    """COA Budget Variance: one row per PPA with its tranche totals and rates."""
    moa = _moa()
    stmt = (sa.select(Ppa.id, Ppa.code, Ppa.title, moa.acronym.label("moa"), Ppa.budget_allocation,
                      Ppa.approval_status)
            .outerjoin(moa, moa.id == Ppa.implementing_moa_id))
    return with_funding_totals(_ppa_filters(stmt, filters, user)).order_by(*_ppa_order())


def coa_breakdown_statement(filters, user):
    """Activity Breakdown: every node of each PPA's execution tree in tree order (depth for the indent), its own
    allocation, obligations and disbursements; a PPA without a tree is one row with no node (node_id NULL) and
    its PPA-level figures (budget allocation, tranche disbursements)."""
    totals = funding_totals_subquery()
    stmt = (sa.select(Ppa.id, Ppa.code, Ppa.title, Ppa.budget_allocation,
                      sa.type_coerce(sa.func.coalesce(totals.c.obligations, 0), Money()).label("ppa_obligations"),
                      sa.type_coerce(sa.func.coalesce(totals.c.disbursements, 0), Money()).label("ppa_disbursements"),
                      WorkItem.id.label("node_id"), WorkItem.title.label("node_title"), WorkItem.work_type,
                      WorkItem.depth, WorkItem.allocated_budget, node_obligations().label("obligations"),
                      node_disbursements().label("disbursements"), WorkItem.status)
            .outerjoin(totals, totals.c.ppa_id == Ppa.id)
            .outerjoin(WorkItem, sa.and_(WorkItem.tree_id == Ppa.execution_project_id, WorkItem.ppa_id == Ppa.id)))
    return _ppa_filters(stmt, filters, user).order_by(*_ppa_order(), WorkItem.lft)


def coa_audit_statement(filters, user):
    """Audit Trail: the audit entries of the report's PPAs, of their work items and of their tranches, newest
    first (one UNION ALL). Entries of work items or tranches deleted since are found through their PPA no more
    (the audit log itself keeps them)."""
    columns = (AuditEntry.id, AuditEntry.at, AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id,
               AuditEntry.field, AuditEntry.old_value, AuditEntry.new_value, AuditEntry.actor_label, AuditEntry.ip)
    ppa_columns = (Ppa.id.label("ppa_id"), Ppa.code.label("ppa_code"))
    of_ppas = (sa.select(*columns, *ppa_columns)
               .join(Ppa, sa.and_(AuditEntry.object_type == object_type_of(Ppa), AuditEntry.object_id == Ppa.id)))
    of_items = (sa.select(*columns, *ppa_columns)
                .join(WorkItem, sa.and_(AuditEntry.object_type == object_type_of(WorkItem),
                                        AuditEntry.object_id == WorkItem.id))
                .join(Ppa, Ppa.id == WorkItem.ppa_id))
    of_tranches = (sa.select(*columns, *ppa_columns)
                   .join(FundingTranche, sa.and_(AuditEntry.object_type == object_type_of(FundingTranche),
                                                 AuditEntry.object_id == FundingTranche.id))
                   .join(Ppa, Ppa.id == FundingTranche.ppa_id))
    union = sa.union_all(*(_ppa_filters(part, filters, user) for part in (of_ppas, of_items, of_tranches))).subquery()
    return (sa.select(union).order_by(union.c.at.desc(), union.c.id.desc()).limit(AUDIT_TRAIL_LIMIT))


def organization_label(organization_id):
    """"MSSD — Ministry of …" for the title block (one query), or None."""
    if organization_id is None:
        return None
    row = db.session.execute(sa.select(Organization.acronym, Organization.name)
                             .where(Organization.id == organization_id)).first()
    return f"{row.acronym} — {row.name}" if row else f"organization #{organization_id}"
