"""Assessment: scoped by its organization, audited, versioned (optimistic lock)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

METHODOLOGIES = ("desk_review", "survey", "participatory", "mixed")
METHODOLOGY_LABELS = {"desk_review": "Desk review", "survey": "Survey", "participatory": "Participatory",
                      "mixed": "Mixed (full cycle)"}


class Assessment(Audited, db.Model):
    __tablename__ = "assessments"
    __scope_column__ = "organization_id"
    __read_permission__ = "assessment.read"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"),
                                                 nullable=False, index=True)
    methodology: Mapped[str] = mapped_column(enum_column_type(METHODOLOGIES, "assessment_methodology"),
                                             nullable=False)
    start_date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    organization = relationship("Organization")
    lead = relationship("User", foreign_keys=[lead_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.CheckConstraint("title <> ''", name="title_not_empty"),)

    @property
    def methodology_label(self):
        return METHODOLOGY_LABELS[self.methodology]

    def __str__(self):
        return self.title
