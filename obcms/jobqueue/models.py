"""JobRun: one row per run of a background job."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed")


class JobRun(db.Model):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False, index=True)
    arguments: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    requested_by_label: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="system")
    status: Mapped[str] = mapped_column(enum_column_type(JOB_STATUSES, "job_status"), nullable=False,
                                        default="queued", index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    queued_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    started_at: Mapped[object | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[object | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # The request (or job) that enqueued it: its log line and audit rows carry the same id (obcms/ops/logs.py).
    request_id: Mapped[str | None] = mapped_column(sa.String(64))

    requested_by = relationship("User", lazy="joined")

    __table_args__ = (sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    @property
    def duration_ms(self):
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None

    def __str__(self):
        return f"{self.name} #{self.id} ({self.status})"
