"""TransitionLog: one row per fired transition (who, when, from, to, comment). Appended by fire() only."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, utcnow
from ..extensions import db


class TransitionLog(db.Model):
    __tablename__ = "transition_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    object_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    transition: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    from_state: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    to_state: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    actor = relationship("User", lazy="joined")

    __table_args__ = (
        sa.Index("ix_transition_logs_object", "object_type", "object_id", "at"),
        sa.Index("ix_transition_logs_to_state_at", "object_type", "to_state", "at"),
    )

    def __repr__(self):
        return f"<TransitionLog {self.object_type}#{self.object_id} {self.transition} {self.from_state}→{self.to_state}>"
