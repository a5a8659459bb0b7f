"""PPAs (Programs, Projects and Activities) and their funding tranches (DOMAIN.md "PPA").

Scoping rule: MOA-scoped roles (moa_staff, viewer) reach a PPA through its *implementing MOA* only
(`__scope_column__ = "implementing_moa_id"`). Being the lead organization of a PPA gives no access by itself:
an `oobc_ppa` that an MOA co-implements is shared with that MOA by setting it as the implementing MOA; an
`oobc_ppa` with no implementing MOA is seen by the global roles only. One column keeps `scope()` (lists) and
`can()` (single objects) in agreement without a join.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import Money, UTCDateTime, enum_column_type, utcnow
from ..extensions import db
from ..workitems.models import WorkItem

CATEGORIES = ("moa_ppa", "oobc_ppa", "obc_request")
# The states of the approval machine (obcms/ppas/approval.py, which registers it on Ppa).
APPROVAL_STATES = ("draft", "technical_review", "budget_review", "stakeholder_consultation",
                   "executive_approval", "approved", "enacted", "rejected")
STATUSES = ("planning", "ongoing", "completed", "on_hold", "cancelled")
PRIORITIES = ("low", "medium", "high", "urgent")
SECTORS = ("economic", "social", "infrastructure", "environment", "governance", "peace_security")
APPROPRIATION_CLASSES = ("ps", "mooe", "co")
FUNDING_SOURCES = ("gaab", "supplemental_budget", "sdf", "tdif", "allocation_for_mp", "national_program",
                   "local_program", "oda", "other_sources")
DISTRIBUTION_POLICIES = ("equal", "weighted", "manual")
STRUCTURE_TEMPLATES = ("program", "activity", "milestone", "outcome", "minimal")  # obcms/ppas/tracking.py
MILESTONE_STATUSES = ("pending", "in_progress", "completed", "missed")
TRANCHE_KINDS = ("allocation", "obligation", "disbursement", "adjustment")

LABELS = {
    "moa_ppa": "MOA PPA", "oobc_ppa": "OOBC PPA", "obc_request": "OBC request",
    "peace_security": "Peace and security", "ps": "Personnel Services (PS)",
    "mooe": "Maintenance and Other Operating Expenses (MOOE)", "co": "Capital Outlay (CO)",
    "gaab": "GAAB", "supplemental_budget": "Supplemental budget", "sdf": "Special Development Fund (SDF)",
    "tdif": "Tribal Development and Indigenous Fund (TDIF)", "allocation_for_mp": "Allocation for MPs",
    "national_program": "National program", "local_program": "Local program",
    "oda": "Official Development Assistance (ODA)", "other_sources": "Other sources",
}


def label(value):
    """The display label of an enum value ("peace_security" → "Peace and security")."""
    if value is None:
        return "—"
    return LABELS.get(value, value.replace("_", " ").capitalize())


def choices(values):
    return [(v, label(v)) for v in values]


class Ppa(Audited, db.Model):
    __tablename__ = "ppas"
    __scope_column__ = "implementing_moa_id"
    __read_permission__ = "ppa.read"  # who may read its audit History fragment (obcms/audit/views.py)
    # approval_status changes only through fire(): its machine is registered on Ppa by obcms/ppas/approval.py.

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    code: Mapped[str | None] = mapped_column(sa.String(50), unique=True)
    category: Mapped[str] = mapped_column(enum_column_type(CATEGORIES, "ppa_category"), nullable=False, index=True)
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    status: Mapped[str] = mapped_column(enum_column_type(STATUSES, "ppa_status"), nullable=False, default="planning",
                                        server_default="planning", index=True)
    priority: Mapped[str] = mapped_column(enum_column_type(PRIORITIES, "ppa_priority"), nullable=False,
                                          default="medium", server_default="medium")
    progress: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    fiscal_year: Mapped[int] = mapped_column(sa.Integer, nullable=False, index=True)
    sector: Mapped[str | None] = mapped_column(enum_column_type(SECTORS, "ppa_sector"), index=True)
    appropriation_class: Mapped[str | None] = mapped_column(
        enum_column_type(APPROPRIATION_CLASSES, "ppa_appropriation_class"))
    funding_source: Mapped[str | None] = mapped_column(enum_column_type(FUNDING_SOURCES, "ppa_funding_source"))
    funding_source_other: Mapped[str | None] = mapped_column(sa.String(200))
    implementing_moa_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    lead_organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    budget_ceiling: Mapped[object | None] = mapped_column(Money())
    budget_allocation: Mapped[object | None] = mapped_column(Money())
    budget_obc_allocation: Mapped[object | None] = mapped_column(Money())
    cost_per_beneficiary: Mapped[object | None] = mapped_column(Money())
    total_slots: Mapped[int | None] = mapped_column(sa.Integer)
    obc_slots: Mapped[int | None] = mapped_column(sa.Integer)
    start_date: Mapped[object | None] = mapped_column(sa.Date)
    target_end_date: Mapped[object | None] = mapped_column(sa.Date)
    actual_end_date: Mapped[object | None] = mapped_column(sa.Date)
    # [{"date": "2026-03-31", "title": "…", "status": "pending"}] in date order
    milestones: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    # [{"title": "<outcome>", "outputs": ["<output>", …]}]
    outcome_framework: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    supports_sdg: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    moral_governance_pillar: Mapped[str | None] = mapped_column(sa.String(200))
    benefits_indigenous_peoples: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                              server_default=sa.false())
    supports_peace_agenda: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                        server_default=sa.false())
    # Changed only by the approval state machine (obcms/ppas/approval.py, fired through obcms.workflow).
    approval_status: Mapped[str] = mapped_column(enum_column_type(APPROVAL_STATES, "ppa_approval_status"),
                                                 nullable=False, default="draft", server_default="draft", index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The one root work item of the PPA's tree (work_items is created earlier in the migration chain).
    execution_project_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("work_items.id", ondelete="SET NULL", use_alter=True), unique=True)
    workitem_tracking_enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                            server_default=sa.false())
    budget_distribution_policy: Mapped[str] = mapped_column(
        enum_column_type(DISTRIBUTION_POLICIES, "ppa_distribution_policy"), nullable=False, default="equal",
        server_default="equal")
    # The structure template the execution project is (or will be) generated from (set by tracking.py).
    structure_template: Mapped[str | None] = mapped_column(
        enum_column_type(STRUCTURE_TEMPLATES, "ppa_structure_template"))
    auto_sync_progress: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True,
                                                     server_default=sa.true())
    auto_sync_status: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True,
                                                   server_default=sa.true())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    implementing_moa = relationship("Organization", foreign_keys=[implementing_moa_id])
    lead_organization = relationship("Organization", foreign_keys=[lead_organization_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    tranches = relationship("FundingTranche", back_populates="ppa", passive_deletes=True,
                            order_by="[FundingTranche.tranche_date, FundingTranche.id]")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("fiscal_year >= 2000 AND fiscal_year <= 2100", name="fiscal_year_range"),
        sa.CheckConstraint("target_end_date IS NULL OR start_date IS NULL OR target_end_date >= start_date",
                           name="target_end_after_start"),
        sa.CheckConstraint("budget_ceiling IS NULL OR budget_allocation IS NULL OR budget_allocation <= budget_ceiling",
                           name="allocation_within_ceiling"),
        sa.CheckConstraint("budget_obc_allocation IS NULL OR "
                           "(budget_allocation IS NOT NULL AND budget_obc_allocation <= budget_allocation)",
                           name="obc_allocation_within_allocation"),
        sa.CheckConstraint("obc_slots IS NULL OR (total_slots IS NOT NULL AND obc_slots <= total_slots)",
                           name="obc_slots_within_total"),
        sa.CheckConstraint("(budget_ceiling IS NULL OR budget_ceiling >= 0) AND "
                           "(budget_allocation IS NULL OR budget_allocation >= 0) AND "
                           "(budget_obc_allocation IS NULL OR budget_obc_allocation >= 0) AND "
                           "(cost_per_beneficiary IS NULL OR cost_per_beneficiary >= 0)",
                           name="amounts_non_negative"),
        sa.CheckConstraint("(total_slots IS NULL OR total_slots >= 0) AND (obc_slots IS NULL OR obc_slots >= 0)",
                           name="slots_non_negative"),
        sa.CheckConstraint("funding_source IS NULL OR funding_source <> 'other_sources' OR "
                           "(funding_source_other IS NOT NULL AND funding_source_other <> '')",
                           name="funding_source_other_given"),
        sa.CheckConstraint("category <> 'moa_ppa' OR implementing_moa_id IS NOT NULL",
                           name="moa_ppa_has_implementing_moa"),
        # The PPA list's default order (obcms/ppas/portfolio.py SORTS["code"]): a page is read off the index
        # instead of sorting every PPA by its code.
        sa.Index("ix_ppas_code_order", sa.text("coalesce(code, '')"), "id"),
    )

    @property
    def display_code(self):
        return self.code or f"PPA-{self.id}"

    def __str__(self):
        return f"{self.display_code} {self.title}"


class FundingTranche(Audited, db.Model):
    """A money movement on a PPA. Amounts are ≥ 0, except adjustments: an adjustment corrects the
    allocation (a realignment or a reduction) and may be negative; net allocations = allocations +
    adjustments."""

    __tablename__ = "ppa_funding_tranches"

    id: Mapped[int] = mapped_column(primary_key=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(enum_column_type(TRANCHE_KINDS, "tranche_kind"), nullable=False)
    amount: Mapped[object] = mapped_column(Money(), nullable=False)
    tranche_date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    remarks: Mapped[str] = mapped_column(sa.Text, nullable=False, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The work-item ledger entry this tranche mirrors (obcms/budget/ledger.py writes both in one transaction);
    # None for a movement recorded on the PPA itself. A mirrored reversal carries a negative amount.
    financial_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("financial_entries.id", ondelete="RESTRICT"), unique=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    ppa = relationship("Ppa", back_populates="tranches")
    created_by = relationship("User")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("amount >= 0 OR kind = 'adjustment' OR financial_entry_id IS NOT NULL",
                           name="amount_non_negative"),
    )


def _link_work_items_to_ppas():
    """work_items.ppa_id → ppas.id, ON DELETE CASCADE.

    The work-items table comes earlier in the migration chain (c1) with a plain integer; the foreign key
    arrives with the PPA table (d1) and is declared here so metadata and migrations agree. CASCADE rather
    than SET NULL: a work item with ppa_id NULL is a legitimate stand-alone item (a staff task, a
    coordination event), so SET NULL would turn a deleted PPA's tree into items indistinguishable from
    those — the very orphans the older system's `cleanup_orphans` job had to hunt because it had no FK.
    The tree belongs to its PPA and goes with it. (Deleting a PPA through the service should still delete the
    tree through the tree service first, so the audit trail records each node; the cascade is the backstop.)
    """
    column = WorkItem.__table__.c.ppa_id
    if not column.foreign_keys:
        WorkItem.__table__.append_constraint(
            sa.ForeignKeyConstraint([column], ["ppas.id"], ondelete="CASCADE"))


_link_work_items_to_ppas()
