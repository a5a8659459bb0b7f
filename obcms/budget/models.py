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
