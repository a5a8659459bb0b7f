"""LegacyRecord: which obcms object a record of the older system's export became, and the checksum of the
source row it was made from (a re-run creates nothing new and updates only the rows whose checksum moved)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime, utcnow
from ..extensions import db

LEGACY_KINDS = ("event", "staff_task", "project_workflow")
OBJECT_TYPES = ("calendar_event", "work_item")


class LegacyRecord(db.Model):
    __tablename__ = "legacy_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    legacy_kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    legacy_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    object_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    object_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    checksum: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    source_file: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    imported_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("legacy_kind", "legacy_id"),
        sa.CheckConstraint("legacy_kind IN ('event', 'staff_task', 'project_workflow')", name="legacy_kind_known"),
        sa.CheckConstraint("object_type IN ('calendar_event', 'work_item')", name="object_type_known"),
        sa.CheckConstraint("legacy_id <> ''", name="legacy_id_not_empty"),
        sa.Index("ix_legacy_records_object", "object_type", "object_id"),
    )
