"""Over REPORTS_DIRECT_LIMIT PPAs a report is a job: a GeneratedReport with a self-polling progress row, its
file kept 7 days for its requester only, and the same bytes as the report written at once from the same data."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from jobs.reports import generate_report
from obcms.db_types import utcnow
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.reports import services
from obcms.reports.models import GeneratedReport
from obcms.reports.queries import ReportFilters
from tests.reports.conftest import YEAR, generate


@pytest.fixture
def as_job(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REPORTS_DIRECT_LIMIT", 2)
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path))
    return tmp_path


def latest_report():
    db.session.expire_all()
    return db.session.scalars(sa.select(GeneratedReport).order_by(GeneratedReport.id.desc())).first()


@pytest.mark.parametrize("kind", ["mfbm_budget_execution", "bpda_development_alignment", "coa_budget_variance"])
def test_the_job_path_writes_the_same_bytes_as_the_direct_path(client_as, csrf_token, users, portfolio, tracked,
                                                               as_job, kind):
    client = client_as("oobc_staff")
    response = generate(client, csrf_token(client), kind)
    report = latest_report()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/reports#report-{report.id}")
    assert report.status == "done" and report.requested_by_id == users["oobc_staff"].id
    assert report.rows_done == report.rows_total > 0
    run = db.session.get(JobRun, report.job_run_id)
    assert run.name == "generate_report" and run.status == "succeeded" and run.counts["report"] == report.id
    download = client.get(f"/reports/{report.id}/download")
    assert download.status_code == 200 and report.file_name in download.headers["Content-Disposition"]
    direct = io.BytesIO()
    services.write_now(ReportFilters(kind, YEAR), users["oobc_staff"], direct, as_of=report.as_of)
    assert download.data == direct.getvalue()
    assert report.expires_at - report.created_at == timedelta(days=7)


def test_my_reports_lists_it_with_its_progress_and_only_for_its_requester(client_as, csrf_token, portfolio, as_job):
    client = client_as("oobc_staff")
    generate(client, csrf_token(client), "coa_budget_variance")
    report = latest_report()
    page = client.get("/reports").get_data(as_text=True)
    assert f'id="report-{report.id}"' in page and report.file_name in page and "kept until" in page
    fragment = client.get(f"/reports/{report.id}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "every 1s" not in fragment.get_data(as_text=True)  # done: stops
    for other in ("oobc_executive", "moa_staff", "admin"):
        someone = client_as(other)
        assert someone.get(f"/reports/{report.id}/download").status_code == 404
        assert someone.get(f"/reports/{report.id}/progress", headers={"HX-Request": "true"}).status_code == 404


def test_an_unfinished_report_polls_itself(client_as, users, portfolio, as_job):
    report = GeneratedReport(kind="coa_budget_variance", fiscal_year=YEAR, requested_by_id=users["oobc_staff"].id,
                             status="running", rows_total=400, rows_done=100)
    db.session.add(report)
    db.session.commit()
    client = client_as("oobc_staff")
    html = client.get(f"/reports/{report.id}/progress", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "100 of 400 rows" in html
    assert client.get(f"/reports/{report.id}/download").status_code == 404  # not ready


def test_expired_reports_are_gone_and_purged(client_as, csrf_token, portfolio, as_job):
    client = client_as("oobc_staff")
    generate(client, csrf_token(client), "mfbm_budget_execution")
    report = latest_report()
    path = services.report_path(report)
    assert path.exists()
    report.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/reports/{report.id}/download").status_code == 404
    assert services.purge_expired_reports() == {"purged": 1}
    assert not path.exists() and db.session.get(GeneratedReport, report.id) is None


def test_a_failed_job_says_so(client_as, csrf_token, portfolio, as_job, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "write_report", broken)
    client = client_as("oobc_staff")
    generate(client, csrf_token(client), "coa_budget_variance")
    report = latest_report()
    assert report.status == "failed" and "disk full" in report.error
    assert not list(as_job.iterdir())  # no partial file left
    assert "disk full" in client.get("/reports").get_data(as_text=True)


def test_run_now_without_a_report_makes_every_queued_one(users, portfolio, as_job):
    queued = GeneratedReport(kind="bpda_development_alignment", fiscal_year=YEAR,
                             requested_by_id=users["bpda_planner"].id)
    db.session.add(queued)
    db.session.commit()
    assert generate_report(run=None) == {"reports": 1}
    db.session.expire_all()
    assert queued.status == "done" and services.report_path(queued).exists()
