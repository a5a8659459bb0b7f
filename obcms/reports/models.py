"""The policy register (title, reference, status), the PPA ↔ policy links and the generated workbooks.

A policy is a register entry every organization reads (a BDP policy is nobody's own), so it carries no
scope column; editing the register is for the OOBC roles and the BPDA planner ("policy.edit"). A link belongs
to its PPA: linking needs "ppa.edit" on that PPA.

A GeneratedReport is a workbook made by a job (more than REPORTS_DIRECT_LIMIT PPAs): its file lives under
REPORTS_DIR, it belongs to the user who asked for it (only they download it) and is kept KEEP_DAYS.
"""
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

POLICY_STATUSES = ("draft", "active", "superseded", "repealed")
REPORT_KINDS = ("mfbm_budget_execution", "bpda_development_alignment", "coa_budget_variance")
REPORT_STATUSES = ("queued", "running", "done", "failed")
KEEP_DAYS = 7

ppa_policies = sa.Table(
    "ppa_policies",
    db.metadata,
    sa.Column("ppa_id", sa.ForeignKey("ppas.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("policy_id", sa.ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Policy(Audited, db.Model):
    __tablename__ = "policies"
    __read_permission__ = "policy.read"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    reference: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(enum_column_type(POLICY_STATUSES, "policy_status"), nullable=False,
                                        default="active", server_default="active")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (sa.CheckConstraint("title <> ''", name="title_not_empty"),
                      sa.CheckConstraint("reference <> ''", name="reference_not_empty"))

    def __str__(self):
        return f"{self.reference} {self.title}"


class GeneratedReport(db.Model):
    __tablename__ = "generated_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(enum_column_type(REPORT_KINDS, "report_kind"), nullable=False)
    fiscal_year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    moa_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="SET NULL"))
    sector: Mapped[str | None] = mapped_column(sa.String(40))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                                 index=True)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(enum_column_type(REPORT_STATUSES, "report_status"), nullable=False,
                                        default="queued", server_default="queued")
    rows_total: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    rows_done: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    as_of: Mapped[object | None] = mapped_column(UTCDateTime())
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False,
                                               default=lambda: utcnow() + timedelta(days=KEEP_DAYS), index=True)

    moa = relationship("Organization")

    __table_args__ = (
        sa.CheckConstraint("rows_done >= 0 AND rows_total >= 0", name="rows_non_negative"),
        sa.CheckConstraint("fiscal_year >= 2000 AND fiscal_year <= 2100", name="fiscal_year_range"),
    )

    @property
    def finished(self):
        return self.status in ("done", "failed")

    @property
    def percent_done(self):
        return min(100, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
