"""PPA pages: every page and tab renders as a full page and as an HTMX fragment."""
import pytest

PAGES = ["/ppas", "/ppas/dashboard", "/ppas/new", "/ppas/{id}", "/ppas/{id}/edit", "/ppas/{id}/work-items",
         "/ppas/{id}/budget", "/ppas/{id}/funding", "/ppas/{id}/approval", "/ppas/{id}/history"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_whole_and_as_fragments(client_as, make_ppa, add_tranches, url):
    ppa = make_ppa(code="MSSD-26-001")
    add_tranches(ppa, allocation="1000000", obligation="100000", disbursement="5000")
    client = client_as("oobc_staff")
    page = client.get(url.format(id=ppa.id))
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get(url.format(id=ppa.id), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    if url not in ("/ppas/new", "/ppas/{id}/edit"):
        assert "<html" not in fragment.get_data(as_text=True)


# Scoping ------------------------------------------------------------------------------------------------

def test_moa_staff_see_only_their_organizations_ppas(client_as, make_ppa, organizations):
    make_ppa(title="Social pensions top-up", implementing_moa_id=organizations["MSSD"].id)
    make_ppa(title="Barangay health stations", implementing_moa_id=organizations["MOH"].id)
    make_ppa(title="OOBC scholarship", category="oobc_ppa", implementing_moa_id=None,
             lead_organization_id=organizations["MSSD"].id)
    html = client_as("moa_staff").get("/ppas").get_data(as_text=True)
    assert "Social pensions top-up" in html
    assert "Barangay health stations" not in html and "OOBC scholarship" not in html
    html = client_as("oobc_staff").get("/ppas").get_data(as_text=True)
    assert all(t in html for t in ("Social pensions top-up", "Barangay health stations", "OOBC scholarship"))
    # the list's statements are kept per role and organization: the same role of another MOA sees its own
    html = client_as("other_moa_staff").get("/ppas").get_data(as_text=True)
    assert "Barangay health stations" in html and "Social pensions top-up" not in html
    dashboard = client_as("other_moa_staff").get("/ppas/dashboard").get_data(as_text=True)
    assert "MSSD" not in dashboard


@pytest.mark.parametrize("url", ["/ppas/{id}", "/ppas/{id}/funding", "/ppas/{id}/edit"])
def test_another_moa_cannot_open_a_ppa(client_as, make_ppa, url):
    ppa = make_ppa()
    assert client_as("other_moa_staff").get(url.format(id=ppa.id)).status_code == 404


def test_another_moa_cannot_edit_or_add_money(client_as, make_ppa, csrf_token):
    ppa = make_ppa()
    client = client_as("other_moa_staff")
    token = csrf_token(client)
    assert client.post(f"/ppas/{ppa.id}/edit", data={"csrf_token": token, "title": "Mine"}).status_code == 404
    assert client.post(f"/ppas/{ppa.id}/funding", data={"csrf_token": token, "kind": "obligation",
                                                        "amount": "1", "tranche_date": "2026-01-01"}).status_code == 404


def test_readers_see_but_cannot_edit(client_as, make_ppa, csrf_token):
    ppa = make_ppa()
    viewer = client_as("viewer")  # of MSSD, the implementing MOA
    page = viewer.get(f"/ppas/{ppa.id}/funding").get_data(as_text=True)
    assert "Record a money movement" not in page and ">Edit<" not in page
    assert viewer.get(f"/ppas/{ppa.id}/edit").status_code == 403
    analyst = client_as("mfbm_analyst")
    assert analyst.get(f"/ppas/{ppa.id}").status_code == 200
    assert analyst.post(f"/ppas/{ppa.id}/funding", data={"csrf_token": csrf_token(analyst), "kind": "obligation",
                                                         "amount": "1", "tranche_date": "2026-01-01"}).status_code == 403
    assert analyst.get("/ppas/new").status_code == 403


# List: filters, sort, pagination, query count --------------------------------------------------------------

def titles(html, candidates):
    return [t for t in sorted(candidates, key=html.find) if t in html]


def test_filters_narrow_the_list_and_stay_in_the_url(client_as, make_ppa, organizations):
    make_ppa(title="Alpha roads", sector="infrastructure", fiscal_year=2025, code="INF-1")
    make_ppa(title="Beta clinics", sector="social", fiscal_year=2026, implementing_moa_id=organizations["MOH"].id)
    make_ppa(title="Gamma kits", sector="economic", fiscal_year=2026, status="ongoing")
    make_ppa(title="Delta dialogue", category="oobc_ppa", implementing_moa_id=None, sector="peace_security")
    client = client_as("oobc_staff")
    everything = {"Alpha roads", "Beta clinics", "Gamma kits", "Delta dialogue"}

    def listed(query):
        return set(titles(client.get("/ppas?" + query).get_data(as_text=True), everything))

    assert listed("") == everything
    assert listed("fy=2025") == {"Alpha roads"}
    assert listed("sector=social") == {"Beta clinics"}
    assert listed(f"moa={organizations['MOH'].id}") == {"Beta clinics"}
    assert listed("category=oobc_ppa") == {"Delta dialogue"}
    assert listed("status=ongoing") == {"Gamma kits"}
    assert listed("approval=draft") == everything
    assert listed("approval=approved") == set()
    assert listed("q=inf-") == {"Alpha roads"}          # code, case-insensitive
    assert listed("q=kit") == {"Gamma kits"}            # title
    assert listed("q=100%25") == set()                  # % is a character, not a wildcard
    assert listed("sector=space&fy=abc") == everything  # unusable filters are ignored
    fragment = client.get("/ppas?sector=social", headers={"HX-Request": "true"}).get_data(as_text=True)
    # only the results block (its bulk bar is a form of its own; the filter bar is not in it)
    assert "Beta clinics" in fragment and "filter-bar" not in fragment and "<html" not in fragment
    assert 'name="sort" value="code"' in fragment
    pushed = client.get("/ppas?q=&category=&sector=social&sort=code", headers={"HX-Request": "true"})
    assert pushed.headers["HX-Push-Url"] == "/ppas?sector=social&sort=code"


def test_sort_by_header_links(client_as, make_ppa):
    for title, budget in (("Bravo", "300.00"), ("Alpha", "100.00"), ("Charlie", "200.00")):
        make_ppa(title=title, budget_allocation=budget)
    client = client_as("oobc_staff")
    html = client.get("/ppas?sort=title&dir=asc").get_data(as_text=True)
    assert titles(html, ["Alpha", "Bravo", "Charlie"]) == ["Alpha", "Bravo", "Charlie"]
    assert "sort=title&amp;dir=desc" in html  # the active header toggles the direction
    html = client.get("/ppas?sort=budget&dir=desc").get_data(as_text=True)
    assert titles(html, ["Alpha", "Bravo", "Charlie"]) == ["Bravo", "Charlie", "Alpha"]
    for key in ("code", "moa", "fy", "sector", "utilization", "progress", "status", "approval", "nonsense"):
        assert client.get(f"/ppas?sort={key}&dir=desc").status_code == 200


def test_pagination(client_as, make_ppa):
    for n in range(30):
        make_ppa(title=f"Numbered PPA {n:02d}")
    client = client_as("oobc_staff")
    first = client.get("/ppas?sort=title").get_data(as_text=True)
    assert "1–25 of 30" in first and "Numbered PPA 24" in first and "Numbered PPA 25" not in first
    second = client.get("/ppas?sort=title&page=2").get_data(as_text=True)
    assert "26–30 of 30" in second and "Numbered PPA 25" in second and "Numbered PPA 24" not in second
    assert "26–30 of 30" in client.get("/ppas?sort=title&page=99").get_data(as_text=True)


def make_portfolio(make_ppa, add_tranches, organizations, n):
    moas = [organizations["MSSD"].id, organizations["MOH"].id]
    sectors = ["social", "economic", "infrastructure"]
    for i in range(n):
        ppa = make_ppa(title=f"Portfolio {i}", implementing_moa_id=moas[i % 2], sector=sectors[i % 3],
                       status="ongoing" if i % 2 else "on_hold", start_date=None, target_end_date=None)
        add_tranches(ppa, allocation="1000.00", obligation="500.00", disbursement="100.00")


# /ppas: the count, the page, the funding of the page's PPAs only, the sign-in and the MOA filter options.
@pytest.mark.parametrize("url, most", [("/ppas", 5), ("/ppas/dashboard", 6)])
def test_query_count_does_not_grow_with_the_portfolio(client_as, make_ppa, add_tranches, organizations,
                                                      count_queries, url, most):
    client = client_as("oobc_staff")
    make_portfolio(make_ppa, add_tranches, organizations, 3)
    with count_queries() as small:
        assert client.get(url).status_code == 200
    make_portfolio(make_ppa, add_tranches, organizations, 27)
    with count_queries() as large:
        assert client.get(url).status_code == 200
    assert small.count == large.count <= most


def test_detail_tabs_run_few_queries(client_as, make_ppa, add_tranches, count_queries):
    ppa = make_ppa()
    add_tranches(ppa, allocation=["1", "2", "3"], obligation=["1", "1"])
    client = client_as("oobc_staff")
    with count_queries() as q:
        client.get(f"/ppas/{ppa.id}/funding", headers={"HX-Request": "true"})
    assert q.count <= 3  # user, PPA with totals, tranches


# Create, edit, conflict ------------------------------------------------------------------------------------

def form_data(token, organizations, **overrides):
    data = {"csrf_token": token, "title": "Women's livelihood kits", "code": "", "category": "moa_ppa",
            "fiscal_year": "2026", "sector": "economic", "implementing_moa_id": str(organizations["MSSD"].id),
            "lead_organization_id": "", "status": "planning", "priority": "high", "progress": "0",
            "budget_ceiling": "2,000,000.00", "budget_allocation": "1500000", "budget_obc_allocation": "",
            "cost_per_beneficiary": "", "appropriation_class": "mooe", "funding_source": "gaab",
            "funding_source_other": "", "total_slots": "500", "obc_slots": "200", "start_date": "2026-02-01",
            "target_end_date": "2026-11-30", "actual_end_date": "", "summary": "Starter kits and training.",
            "milestones": "2026-03-31 | Beneficiaries listed | completed\n2026-09-30 | Kits delivered",
            "outcome_framework": "Household incomes rise\n- 500 kits delivered\n- 20 trainings held",
            "moral_governance_pillar": "", "budget_distribution_policy": "equal", "auto_sync_progress": "y"}
    data.update(overrides)
    return data


def test_create_a_ppa(client_as, csrf_token, organizations):
    from decimal import Decimal

    import sqlalchemy as sa

    from obcms.extensions import db
    from obcms.ppas.models import Ppa

    client = client_as("moa_staff")
    response = client.post("/ppas/new", data=form_data(csrf_token(client), organizations))
    assert response.status_code == 302
    db.session.expire_all()
    ppa = db.session.scalar(sa.select(Ppa).where(Ppa.title == "Women's livelihood kits"))
    assert response.headers["Location"].endswith(f"/ppas/{ppa.id}")
    assert ppa.budget_ceiling == Decimal("2000000.00") and ppa.obc_slots == 200
    assert ppa.milestones[1] == {"date": "2026-09-30", "title": "Kits delivered", "status": "pending"}
    assert ppa.outcome_framework == [{"title": "Household incomes rise",
                                      "outputs": ["500 kits delivered", "20 trainings held"]}]
    assert ppa.auto_sync_progress is True and ppa.auto_sync_status is False
    assert ppa.created_by_id is not None and ppa.approval_status == "draft"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{ppa.display_code} “Women&#39;s livelihood kits” was created." in page  # said once it is saved


def test_create_shows_field_errors_and_keeps_the_input(client_as, csrf_token, organizations):
    client = client_as("oobc_staff")
    response = client.post("/ppas/new", data=form_data(
        csrf_token(client), organizations, budget_allocation="2500000.005", obc_slots="900",
        milestones="31 March | x | y | z", outcome_framework="- an orphan output", title="Typed <title>"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Use at most 2 decimals (centavos)." in html
    assert "OBC slots cannot exceed the total slots (500)." in html
    assert "Line 1: write &#39;YYYY-MM-DD | title | status&#39; (status optional)." in html
    assert "Line 1: an output needs an outcome line above it." in html
    assert 'value="Typed &lt;title&gt;"' in html and 'value="2500000.005"' in html
    assert 'aria-invalid="true"' in html


def test_edit_and_stale_edit_conflict(client_as, csrf_token, organizations, make_ppa, users):
    import sqlalchemy as sa

    from obcms.extensions import db
    from obcms.ppas.models import Ppa
    from obcms.ppas.services import update_ppa

    ppa = make_ppa(title="Original title", budget_ceiling="2000000.00")
    ppa_id = ppa.id
    client = client_as("oobc_staff")
    token = csrf_token(client)
    page = client.get(f"/ppas/{ppa_id}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in page
    # Someone else saves first.
    update_ppa(ppa, 1, actor=users["oobc_executive"], title="Their title")
    db.session.commit()
    response = client.post(f"/ppas/{ppa_id}/edit", data=form_data(token, organizations, version="1",
                                                                   title="My title"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone changed this PPA while you were editing." in html
    assert "Their title" in html and "My title" in html
    assert 'name="version" type="hidden" value="2"' in html  # saving again applies mine on top
    response = client.post(f"/ppas/{ppa_id}/edit", data=form_data(token, organizations, version="2",
                                                                   title="My title"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Ppa.title).where(Ppa.id == ppa_id)) == "My title"


# Funding tab ----------------------------------------------------------------------------------------------

def test_record_a_tranche_with_htmx_and_plain_form(client_as, csrf_token, make_ppa):
    ppa = make_ppa(budget_allocation="1000.00")
    client = client_as("moa_staff")
    token = csrf_token(client)
    data = {"csrf_token": token, "kind": "allocation", "amount": "1,000.00", "tranche_date": "2026-02-01",
            "source": "SARO-001", "remarks": ""}
    plain = client.post(f"/ppas/{ppa.id}/funding", data=data)
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/ppas/{ppa.id}/funding")
    response = client.post(f"/ppas/{ppa.id}/funding", headers={"HX-Request": "true"},
                           data=dict(data, kind="obligation", amount="600.00"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "SARO-001" in html and "₱ 600.00" in html
    assert "60.00 %" in html                          # obligation rate
    assert 'id="ppa-figures" hx-swap-oob="true"' in html  # header figures refreshed too
    assert "obcms:toast" in response.headers["HX-Trigger"]


def test_tranche_errors_are_shown_inline(client_as, csrf_token, make_ppa):
    ppa = make_ppa()
    client = client_as("oobc_staff")
    response = client.post(f"/ppas/{ppa.id}/funding", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf_token(client), "kind": "disbursement", "amount": "-5",
                                 "tranche_date": "", "source": "kept source"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The amount cannot be negative." in html and "Enter the date of the movement." in html
    assert 'value="kept source"' in html


# Dashboard -----------------------------------------------------------------------------------------------

def test_dashboard_counts_money_and_at_risk(client_as, make_ppa, add_tranches, organizations):
    from datetime import date, timedelta

    today = date.today()
    calm = make_ppa(title="Calm PPA", status="ongoing", progress=50, start_date=today - timedelta(days=10),
                    target_end_date=today + timedelta(days=10))
    add_tranches(calm, allocation="1000.00", obligation="900.00", disbursement="100.00")
    make_ppa(title="Held PPA", status="on_hold")
    make_ppa(title="Late PPA", status="planning", start_date=today - timedelta(days=30),
             target_end_date=today - timedelta(days=1))
    make_ppa(title="Slow PPA", status="ongoing", progress=10, start_date=today - timedelta(days=90),
             target_end_date=today + timedelta(days=10))
    starved = make_ppa(title="Starved PPA", status="ongoing", progress=50, sector="economic",
                       start_date=today - timedelta(days=10), target_end_date=today + timedelta(days=10))
    add_tranches(starved, allocation="1000.00", obligation="100.00")
    make_ppa(title="Done PPA", status="completed", target_end_date=today - timedelta(days=1))
    html = client_as("oobc_staff").get("/ppas/dashboard").get_data(as_text=True)
    at_risk = html[html.index("PPAs at risk"):]
    assert "Calm PPA" not in at_risk and "Done PPA" not in at_risk
    for title, reason in (("Held PPA", "on hold"), ("Late PPA", "overdue"), ("Slow PPA", "behind schedule"),
                          ("Starved PPA", "under-obligated")):
        assert title in at_risk
        row = at_risk[at_risk.index(title):]
        assert reason in row[:row.index("</tr>")]
    assert "<svg" in html and "Budget, obligations and disbursements by sector" in html
    assert "₱ 1,000.00" in html and "₱ 900.00" in html  # sums per sector / MOA as exact money
    narrowed = client_as("oobc_staff").get("/ppas/dashboard?status=completed", headers={"HX-Request": "true"})
    assert "No PPA is at risk." in narrowed.get_data(as_text=True)


def test_history_tab_shows_ppa_and_tranche_changes(client_as, csrf_token, organizations, users):
    from datetime import date

    from obcms.extensions import db
    from obcms.ppas.services import add_tranche, create_ppa, update_ppa

    ppa = create_ppa(users["oobc_staff"], title="Audited PPA", category="moa_ppa", fiscal_year=2026,
                     implementing_moa_id=organizations["MSSD"].id)
    update_ppa(ppa, ppa.version, actor=users["oobc_staff"], title="Audited PPA, renamed")
    add_tranche(ppa, users["oobc_staff"], kind="obligation", amount="123.45", tranche_date=date(2026, 1, 5))
    db.session.commit()
    html = client_as("moa_staff").get(f"/ppas/{ppa.id}/history", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert '<span class="audit-old">Audited PPA</span>' in html and "→</span> Audited PPA, renamed" in html
    assert "₱ 123.45" in html and "funding tranche #" in html  # the tranche's event names its object
    assert client_as("moa_staff").get(f"/audit/history/ppa/{ppa.id}").status_code == 200
    assert client_as("other_moa_staff").get(f"/audit/history/ppa/{ppa.id}").status_code == 404


def test_apply_mine_again_keeps_their_change_in_fields_i_left_alone(client_as, csrf_token, organizations, make_ppa,
                                                                      users):
    import sqlalchemy as sa

    from obcms.extensions import db
    from obcms.ppas.models import Ppa
    from obcms.ppas.services import update_ppa

    ppa = make_ppa(title="Women's livelihood kits", budget_ceiling="2000000.00", budget_allocation="1500000.00",
                   sector="economic", priority="high", appropriation_class="mooe", funding_source="gaab",
                   total_slots=500, obc_slots=200, summary="Starter kits and training.")
    ppa_id = ppa.id
    client = client_as("oobc_staff")
    token = csrf_token(client)
    update_ppa(ppa, 1, actor=users["oobc_executive"], title="Their better title")
    db.session.commit()
    mine = form_data(token, organizations, version="1", status="ongoing", progress="15",
                     milestones="", outcome_framework="", start_date="2026-01-01", target_end_date="2026-12-31")
    response = client.post(f"/ppas/{ppa_id}/edit", data=mine)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "you left it alone: theirs is kept" in html
    assert 'value="Their better title"' in html          # the form now carries their title
    assert 'name="version" type="hidden" value="2"' in html
    resubmitted = dict(mine, version="2", title="Their better title")
    assert client.post(f"/ppas/{ppa_id}/edit", data=resubmitted).status_code == 302
    db.session.expire_all()
    title, status = db.session.execute(sa.select(Ppa.title, Ppa.status).where(Ppa.id == ppa_id)).one()
    assert (title, status) == ("Their better title", "ongoing")


def test_milestones_are_edited_as_rows(client_as, csrf_token, organizations):
    """The form shows one row per milestone (date, title, status) and empty rows to add more; rows left
    empty are skipped; a row the service refuses comes back with the rows as typed."""
    import sqlalchemy as sa
    from werkzeug.datastructures import MultiDict

    from obcms.extensions import db
    from obcms.ppas.models import Ppa

    client = client_as("moa_staff")
    data = MultiDict(form_data(csrf_token(client), organizations, title="Rows PPA"))
    del data["milestones"]
    for date, title, status in (("2026-03-31", "Listed", "completed"), ("", "", "pending"),
                                ("2026-09-30", "Kits delivered", "pending")):
        data.add("milestone-date", date)
        data.add("milestone-title", title)
        data.add("milestone-status", status)
    assert client.post("/ppas/new", data=data).status_code == 302
    db.session.expire_all()
    ppa = db.session.scalar(sa.select(Ppa).where(Ppa.title == "Rows PPA"))
    assert ppa.milestones == [{"date": "2026-03-31", "title": "Listed", "status": "completed"},
                              {"date": "2026-09-30", "title": "Kits delivered", "status": "pending"}]
    html = client.get(f"/ppas/{ppa.id}/edit").get_data(as_text=True)
    assert html.count('name="milestone-title"') == 4  # two milestones and two empty rows
    assert 'value="Kits delivered"' in html and '<option value="completed" selected>' in html

    data.setlist("milestone-date", ["2026-13-45", "", "2026-09-30"])
    response = client.post("/ppas/new", data=data)
    assert response.status_code == 422
    assert 'value="2026-13-45"' in response.get_data(as_text=True)
