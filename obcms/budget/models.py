"""Distribution records: each applied budget distribution, so it can be seen and restored (DOMAIN.md).

A record is written once and never changed (no version column): restoring a previous distribution writes a
new record whose `restored_from_id` points at the one restored.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import Money, UTCDateTime, enum_column_type, utcnow
from ..extensions import db
from .distribution import METHODS


class Distribution(Audited, db.Model):
    __tablename__ = "budget_distributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="CASCADE"), nullable=False, index=True)
    # The node whose children received the shares.
    node_id: Mapped[int] = mapped_column(sa.ForeignKey("work_items.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    method: Mapped[str] = mapped_column(enum_column_type(METHODS, "distribution_method"), nullable=False)
    amount: Mapped[object] = mapped_column(Money(), nullable=False)
    # What the user entered: {"weights": {child id: "12.50"}} or {"amounts": {child id: "1000.00"}}; {} for equal.
    inputs: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    # {child id: "amount"} after, and the children's allocations before (for restore and history).
    result: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    before: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    restored_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("budget_distributions.id", ondelete="SET NULL"))

    created_by = relationship("User")
    restored_from = relationship("Distribution", remote_side=[id])

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_non_negative"),)


ENTRY_KINDS = ("obligation", "disbursement", "adjustment")


class FinancialEntry(Audited, db.Model):
    """A posted money movement on one work item of a tracked PPA (obcms/budget/ledger.py): an obligation
    (ORS), a disbursement (DV), or an adjustment of the obligated amount (a de-obligation when negative).

    Posted entries are never edited or deleted (no version column: nothing about them changes); a mistake is
    undone by a reversal — a new entry of the same kind with the opposite amount whose `reverses_id` points at
    the entry it reverses (UNIQUE: an entry is reversed at most once). The work item and the PPA are RESTRICT:
    posted money keeps its node and its PPA."""

    __tablename__ = "financial_entries"
    __scope_column__ = "organization_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(sa.ForeignKey("work_items.id", ondelete="RESTRICT"), nullable=False,
                                              index=True)
    ppa_id: Mapped[int] = mapped_column(sa.ForeignKey("ppas.id", ondelete="RESTRICT"), nullable=False, index=True)
    # Copied from the work item (as work items copy it from their root) so scoping needs no join.
    organization_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(enum_column_type(ENTRY_KINDS, "financial_entry_kind"), nullable=False)
    amount: Mapped[object] = mapped_column(Money(), nullable=False)
    entry_date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    reference: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="", server_default="")
    payee: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="", server_default="")
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("financial_entries.id", ondelete="RESTRICT"),
                                                    unique=True)
    over_allocation: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                  server_default=sa.false())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    recorded_by = relationship("User")
    reverses = relationship("FinancialEntry", remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.CheckConstraint("reason IS NOT NULL AND reason <> '' OR (kind <> 'adjustment' AND reverses_id IS NULL "
                           "AND NOT over_allocation)", name="reason_required"),
        sa.CheckConstraint("amount > 0 OR kind = 'adjustment' OR reverses_id IS NOT NULL",
                           name="amount_positive_unless_adjustment_or_reversal"),
        sa.Index("ix_financial_entries_node_newest", "work_item_id", "recorded_at", "id"),
    )
