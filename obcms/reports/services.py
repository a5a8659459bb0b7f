"""Asking for a report, and the files of "My reports". Never commits (the job keeps its own commit points).

    filters = read_filters(user, report="coa_budget_variance", fiscal_year="2026", moa="", sector="")
    outcome = request_report(filters, user)
    outcome.report is None   → small: write_now(filters, user, file) streams it back in this request
    outcome.report           → large (> REPORTS_DIRECT_LIMIT PPAs): a GeneratedReport, its job enqueued

Both paths write through workbooks.write_report, so the same data "as of" the same time are the same bytes.
A generated file lives under REPORTS_DIR (default: the instance folder's reports/) and is kept KEEP_DAYS
for the user who asked for it; purge_expired_reports() (a daily job) deletes older ones.
"""
import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..auth.permissions import require
from ..db_types import utcnow
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..ids import parse_id
from ..jobqueue import enqueue
from ..ppas.models import SECTORS
from ..ppas.portfolio import moa_options
from .models import KEEP_DAYS, REPORT_KINDS, GeneratedReport
from .queries import ReportFilters, count_ppas
from .workbooks import SHEETS_PER_PPA, write_report

DIRECT_LIMIT = 200
MY_REPORTS_SHOWN = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def direct_limit():
    return int(current_app.config.get("REPORTS_DIRECT_LIMIT", DIRECT_LIMIT))


def reports_directory():
    return Path(current_app.config.get("REPORTS_DIR") or Path(current_app.instance_path) / "reports")


def timezone():
    return current_app.config.get("TIMEZONE", "Asia/Manila")


def read_filters(user, report, fiscal_year, moa=None, sector=None):
    """The ReportFilters of the Reports form, or ValidationFailed naming each field that is wrong."""
    require(user, "report.generate")
    errors = {}
    if report not in REPORT_KINDS:
        errors["report"] = ["Choose one of the three reports."]
    typed = (fiscal_year or "").strip()
    year = parse_id(typed)
    if not typed:
        errors["fiscal_year"] = ["A fiscal year is required."]
    elif year is None or not 2000 <= year <= 2100:
        errors["fiscal_year"] = ["A fiscal year between 2000 and 2100."]
    moa_id = None
    if moa:
        moa_id = parse_id(moa)
        if moa_id is None or str(moa_id) not in {value for value, _ in moa_options(user)}:
            errors["moa"] = ["Choose one of the MOAs listed."]
    if sector and sector not in SECTORS:
        errors["sector"] = ["Choose one of the sectors listed."]
    if errors:
        raise ValidationFailed("Please correct the highlighted fields.", errors=errors)
    return ReportFilters(kind=report, fiscal_year=year, moa_id=moa_id, sector=sector or None)


@dataclass(frozen=True)
class ReportRequest:
    filters: ReportFilters
    ppas: int
    report: GeneratedReport | None  # None: small enough to write now

    @property
    def direct(self):
        return self.report is None


def request_report(filters, user):
    """Count the PPAs the report lists: up to REPORTS_DIRECT_LIMIT, it is written now (the caller streams it);
    more, a GeneratedReport is recorded and its job enqueued (after commit)."""
    require(user, "report.generate")
    ppas = count_ppas(filters, user)
    if ppas <= direct_limit():
        return ReportRequest(filters, ppas, None)
    now = utcnow()
    report = GeneratedReport(kind=filters.kind, fiscal_year=filters.fiscal_year, moa_id=filters.moa_id,
                             sector=filters.sector, requested_by_id=user.id, status="queued",
                             rows_total=ppas * SHEETS_PER_PPA[filters.kind], created_at=now,
                             expires_at=now + timedelta(days=KEEP_DAYS))
    db.session.add(report)
    db.session.flush()
    run = enqueue("generate_report", requested_by=user, report_id=report.id)
    report.job_run_id = run.id
    db.session.flush()
    return ReportRequest(filters, ppas, report)


def write_now(filters, user, target, as_of=None):
    """Write the workbook into `target` (a seekable binary file); returns its download name."""
    require(user, "report.generate")
    as_of = as_of or utcnow()
    write_report(filters, user, as_of, target, timezone(), None)
    return download_name(filters.kind, filters.fiscal_year, as_of)


def download_name(kind, fiscal_year, as_of):
    local = as_of.astimezone(ZoneInfo(timezone()))
    return f"{kind.replace('_', '-')}-FY{fiscal_year}-{local:%Y%m%d-%H%M}.xlsx"


def filters_of(report):
    return ReportFilters(kind=report.kind, fiscal_year=report.fiscal_year, moa_id=report.moa_id, sector=report.sector)


def generate_report_file(report_id):
    """The job's work: write the workbook of GeneratedReport `report_id` as its requester sees it now, to its
    file, reporting rows done as it goes. Commits its own status changes (a job keeps its commit points)."""
    report = db.session.get(GeneratedReport, report_id)
    if report is None or report.status == "done":
        return {"skipped": 1}
    user = db.session.get(User, report.requested_by_id)
    if user is None or not user.is_active:
        report.status, report.error = "failed", "The person who asked for this report can no longer sign in."
        db.session.commit()
        return {"failed": 1}
    filters = filters_of(report)
    report.status, report.as_of, report.rows_done, report.error = "running", utcnow(), 0, None
    report.rows_total = count_ppas(filters, user) * SHEETS_PER_PPA[filters.kind]
    db.session.commit()
    directory = reports_directory()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"report-{report.id}.xlsx"
    as_of = report.as_of
    handle = tempfile.NamedTemporaryFile("w+b", dir=directory, suffix=".part", delete=False)
    partial = Path(handle.name)
    try:
        with handle:
            counts = write_report(filters, user, as_of, handle, timezone(), _progress_writer(report.id))
        os.replace(partial, final)
    except BaseException:
        db.session.rollback()
        partial.unlink(missing_ok=True)
        raise
    report = db.session.get(GeneratedReport, report_id)
    report.status, report.file_name = "done", download_name(report.kind, report.fiscal_year, as_of)
    report.size_bytes, report.rows_done = final.stat().st_size, report.rows_total
    db.session.commit()
    return {"report": report.id, **counts}


def queued_report_ids():
    """The reports still waiting for their job (a job lost, or Run now on the Jobs page), oldest first."""
    return db.session.scalars(sa.select(GeneratedReport.id).where(GeneratedReport.status == "queued",
                                                                  GeneratedReport.expires_at > utcnow())
                              .order_by(GeneratedReport.id)).all()


def mark_failed(report_id, error):
    db.session.execute(sa.update(GeneratedReport).where(GeneratedReport.id == report_id)
                       .values(status="failed", error=str(error)[:1000]))
    db.session.commit()


def _progress_writer(report_id):
    """rows_done, visible to the page polling it while the job's transaction streams the report: on
    PostgreSQL in a connection of its own, committed at once; else (SQLite holds one writer, whom the job is; a
    test's session bound to one connection) in the job's session."""
    bind = db.session.get_bind()
    stmt = sa.update(GeneratedReport).where(GeneratedReport.id == report_id)

    def write(done):
        if isinstance(bind, sa.engine.Engine) and bind.dialect.name == "postgresql":
            with bind.begin() as connection:
                connection.execute(stmt.values(rows_done=done))
        else:
            db.session.execute(stmt.values(rows_done=done))

    return write


def report_path(report):
    return reports_directory() / f"report-{report.id}.xlsx"


def get_report(report_id, user):
    """The user's own generated report (anybody else's, or one expired, is not found: 404 before 403)."""
    report = db.session.scalar(sa.select(GeneratedReport).where(GeneratedReport.id == report_id,
                                                                GeneratedReport.requested_by_id == user.id,
                                                                GeneratedReport.expires_at > utcnow()))
    if report is None:
        raise NotFound(f"There is no report #{report_id} of yours here (reports are kept 7 days).")
    require(user, "report.generate")
    return report


def my_reports(user):
    """The user's reports still kept, newest first, with their MOA filter (one query)."""
    return db.session.scalars(sa.select(GeneratedReport).options(joinedload(GeneratedReport.moa)).where(GeneratedReport.requested_by_id == user.id,
                                                               GeneratedReport.expires_at > utcnow())
                              .order_by(GeneratedReport.id.desc()).limit(MY_REPORTS_SHOWN)).all()


def purge_expired_reports(now=None):
    """Delete the reports (rows and files) past their expiry. Counts: purged."""
    now = now or utcnow()
    expired = db.session.scalars(sa.select(GeneratedReport).where(GeneratedReport.expires_at <= now)).all()
    for report in expired:
        report_path(report).unlink(missing_ok=True)
    if expired:
        db.session.execute(sa.delete(GeneratedReport).where(GeneratedReport.id.in_([r.id for r in expired])))
    db.session.commit()
    return {"purged": len(expired)}

