"""Who may generate, what each sees (scoped), hostile input (4xx with a field error, nothing written) and the
constant number of statements per report."""
import io

import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.reports import services
from obcms.reports.models import GeneratedReport
from obcms.reports.queries import ReportFilters
from tests.reports.conftest import YEAR, generate, make_ppa, read, rows_of

KINDS = ("mfbm_budget_execution", "bpda_development_alignment", "coa_budget_variance")


def codes(body, sheet):
    _, values = read(body)
    return [row[0] for row in rows_of(values[sheet], 8) if row[0] and "-" in row[0]]


def test_a_moa_users_reports_hold_only_their_organizations_ppas(client_as, csrf_token, portfolio):
    client = client_as("moa_staff")
    token = csrf_token(client)
    assert codes(generate(client, token, "mfbm_budget_execution").data, "Budget Execution Report") == \
        ["A-001", "A-002", "A-003"]
    assert "B-001" not in codes(generate(client, token, "bpda_development_alignment").data, "Development Alignment")
    body = generate(client, token, "coa_budget_variance").data
    assert codes(body, "Budget Variance") == ["A-001", "A-002", "A-003"]  # O-001 has no implementing MOA
    formulas, _ = read(body)
    assert "only the PPAs of MSSD, your organization" in formulas["Budget Variance"]["B3"].value
    assert {row[1] for row in rows_of(read(body)[1]["Audit Trail"], 8)} <= {"A-001", "A-002", "A-003"}
    other = client_as("other_moa_staff")
    assert codes(generate(other, csrf_token(other), "coa_budget_variance").data, "Budget Variance") == ["B-001"]


def test_another_moa_is_not_a_filter_a_moa_user_may_choose(client_as, csrf_token, portfolio, organizations):
    client = client_as("moa_staff")
    response = generate(client, csrf_token(client), "coa_budget_variance", moa=str(organizations["MOH"].id))
    assert response.status_code == 422 and "Choose one of the MOAs listed." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer"])
def test_roles_without_the_permission_are_refused(client_as, csrf_token, portfolio, role):
    client = client_as(role)
    assert client.get("/reports").status_code == 403
    assert generate(client, csrf_token(client), "coa_budget_variance").status_code == 403
    assert "/reports" not in client.get("/").get_data(as_text=True).split("<main")[0]


@pytest.mark.parametrize("role", ["admin", "oobc_executive", "oobc_staff", "mfbm_analyst", "bpda_planner",
                                  "moa_staff"])
def test_the_reports_page_and_its_nav_entry(client_as, role):
    client = client_as(role)
    page = client.get("/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'href="/reports"' in html
    assert html.count('name="fiscal_year"') == 3 and "My reports" in html


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"fiscal_year": ""}, "fiscal_year", "A fiscal year is required."),
    ({"fiscal_year": "20x6"}, "fiscal_year", "A fiscal year between 2000 and 2100."),
    ({"fiscal_year": "1999"}, "fiscal_year", "A fiscal year between 2000 and 2100."),
    ({"fiscal_year": "²⁰²⁶"}, "fiscal_year", "A fiscal year between 2000 and 2100."),
    ({"report": "payroll"}, "report", "Choose one of the three reports."),
    ({"sector": "<script>"}, "sector", "Choose one of the sectors listed."),
    ({"moa": "99999999999999999999"}, "moa", "Choose one of the MOAs listed."),
])
def test_hostile_input_is_a_422_with_a_field_error_and_writes_nothing(client_as, csrf_token, portfolio, fields,
                                                                      field, message):
    client = client_as("oobc_staff")
    before = db.session.scalar(sa.select(sa.func.count(GeneratedReport.id)))
    response = generate(client, csrf_token(client), "coa_budget_variance", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert field == "report" or 'aria-invalid="true"' in html
    assert "<script>" not in html.split("<main")[1]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(GeneratedReport.id))) == before


def test_a_post_without_csrf_token_is_refused(client_as, portfolio):
    response = client_as("oobc_staff").post("/reports/generate", data={"report": "coa_budget_variance",
                                                                      "fiscal_year": str(YEAR)})
    assert response.status_code == 400


# Statements per request, whatever the number of PPAs: the signed-in user (1), the count (1) and then the report:
# MFBM 1, BPDA 1, COA 3 (variance, breakdown, audit trail).
PINNED = {"mfbm_budget_execution": 3, "bpda_development_alignment": 3, "coa_budget_variance": 5}


@pytest.mark.parametrize("kind", KINDS)
def test_statements_per_report_do_not_grow_with_the_portfolio(client_as, csrf_token, portfolio, tracked,
                                                             organizations, count_queries, kind):
    client = client_as("oobc_staff")
    token = csrf_token(client)
    with count_queries() as small:
        assert generate(client, token, kind).status_code == 200
    for i in range(12):
        make_ppa(f"M-{i:03d}", organizations["MSSD"], budget_allocation=1000)
    db.session.commit()
    with count_queries() as large:
        assert generate(client, token, kind).status_code == 200
    assert small.count == large.count == PINNED[kind], large.statements


@pytest.mark.parametrize("kind", KINDS)
def test_each_report_reads_in_at_most_ten_queries(app, portfolio, tracked, users, count_queries, kind):
    user = users["admin"]
    assert user.role == "admin"  # loaded before counting
    with count_queries() as q:
        services.write_now(ReportFilters(kind, YEAR), user, io.BytesIO())
    assert q.count == PINNED[kind] - 2 <= 10, q.statements
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.name == "generate_report")) == 0


def test_the_pages_run_a_constant_number_of_statements(client_as, users, organizations, portfolio, count_queries):
    client = client_as("oobc_staff")
    for i, moa in enumerate(("MSSD", "MOH", "MSSD")):
        db.session.add(GeneratedReport(kind="coa_budget_variance", fiscal_year=YEAR, moa_id=organizations[moa].id,
                                       requested_by_id=users["oobc_staff"].id, status="done", file_name=f"{i}.xlsx"))
    db.session.commit()
    # user, MOA options, My reports with their MOA filters
    with count_queries() as page:
        assert client.get("/reports").status_code == 200
    assert page.count == 3, page.statements
    with count_queries() as register:
        assert client.get("/policies").status_code == 200
    assert register.count == 3, register.statements  # user, count, page
