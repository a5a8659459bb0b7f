"""Reports in the API: the kinds, a small report answered at once, a large one as a job polled to done and
downloaded by its requester only, and the refusals."""
import pytest

from obcms.extensions import db
from obcms.reports import services


@pytest.fixture
def as_job(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "REPORTS_DIRECT_LIMIT", 0)
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path))
    return tmp_path


def ask(api, headers, **values):
    return api.post("/api/v1/reports", json={"report": "mfbm_budget_execution", "fiscal_year": 2026, **values},
                    headers=headers)


def test_the_kinds_and_a_small_report_at_once(api, bearer, make_ppa):
    make_ppa(fiscal_year=2026)
    db.session.commit()
    index = api.get("/api/v1/reports", headers=bearer("oobc_staff"))
    assert index.status_code == 200
    assert [k["kind"] for k in index.get_json()["kinds"]] == ["mfbm_budget_execution", "bpda_development_alignment",
                                                              "coa_budget_variance"]
    response = ask(api, bearer("oobc_staff", "write"))
    assert response.status_code == 200 and response.mimetype == services.XLSX and response.data[:2] == b"PK"
    assert api.get("/api/v1/reports", headers=bearer("viewer")).status_code == 403


def test_a_large_report_is_a_job_polled_and_downloaded(api, bearer, make_ppa, as_job, count_queries):
    make_ppa(fiscal_year=2026)
    db.session.commit()
    headers = bearer("oobc_staff", "write")
    response = ask(api, headers)
    assert response.status_code == 202, response.get_json()
    report = response.get_json()
    polled = api.get(response.headers["Location"], headers=headers)
    assert polled.status_code == 200 and polled.get_json()["id"] == report["id"]
    body = polled.get_json()
    assert body["status"] == "done" and body["download"] == f"/api/v1/reports/{report['id']}/download"
    download = api.get(body["download"], headers=headers)
    assert download.status_code == 200 and download.data[:2] == b"PK"
    listed = api.get("/api/v1/reports", headers=headers).get_json()["reports"]
    assert [r["id"] for r in listed] == [report["id"]]
    for other in ("admin", "moa_staff"):
        assert api.get(response.headers["Location"], headers=bearer(other)).status_code == 404
        assert api.get(body["download"], headers=bearer(other)).status_code == 404
    with count_queries() as counted:
        assert api.get(response.headers["Location"], headers=headers).status_code == 200
    assert counted.count <= 3, counted.statements
    with count_queries() as counted:
        assert api.get("/api/v1/reports", headers=headers).status_code == 200
    assert counted.count <= 3, counted.statements


def test_report_requests_refused(api, bearer):
    headers = bearer("oobc_staff", "write")
    for values in ({"fiscal_year": 1999}, {"fiscal_year": "2026"}, {"report": "secret"}, {"sector": "nope"},
                   {"colour": "red"}):
        response = ask(api, headers, **values)
        assert response.status_code == 422, values
    other_moa = ask(api, bearer("moa_staff", "write"), moa=999999)
    assert other_moa.status_code == 422 and "moa" in other_moa.get_json()["errors"]
    assert ask(api, bearer("oobc_staff", "read")).status_code == 403
    assert ask(api, bearer("viewer", "write")).status_code == 403
    assert api.get("/api/v1/reports/999999", headers=headers).status_code == 404
