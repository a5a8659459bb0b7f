"""The Alerts page: MFBM and OOBC roles only (deny by default), filters, acknowledge and resolve as POSTs
(CSRF, version-checked, logged and audited), a 409 that shows what the colleague did first, an htmx row swap
and plain HTML; a constant number of queries; in the navigation."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.ppas.variances import BudgetAlert, detect_budget_variances
from obcms.workflow.models import TransitionLog

NOW = datetime(2026, 2, 20, 1, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def detected(make_ppa, add_tranches):
    """Three alerts: critical overspending, high overspending, medium underspending (all MSSD's PPAs)."""
    ppas = {}
    for name, disbursed in (("critical", "13000.00"), ("high", "11500.00"), ("medium", "100.00")):
        ppas[name] = make_ppa(title=f"The {name} one", budget_allocation=Decimal("10000.00"), status="ongoing",
                              start_date=date(2026, 1, 1), target_end_date=date(2026, 4, 11))
        add_tranches(ppas[name], disbursement=disbursed)
    with time_machine.travel(NOW, tick=False):
        detect_budget_variances()
    db.session.commit()
    return {name: db.session.scalars(sa.select(BudgetAlert).where(BudgetAlert.ppa_id == ppa.id)).one()
            for name, ppa in ppas.items()}


def test_only_mfbm_and_oobc_roles_see_alerts(client_as, detected):
    for username in ("admin", "oobc_executive", "oobc_staff", "mfbm_analyst"):
        page = client_as(username).get("/alerts")
        assert page.status_code == 200, username
        assert "The critical one" in page.get_data(as_text=True)
        assert 'href="/alerts"' in client_as(username).get("/").get_data(as_text=True)  # the navigation
    for username in ("moa_staff", "viewer", "bpda_planner"):
        assert client_as(username).get("/alerts").status_code == 403, username
        assert 'href="/alerts"' not in client_as(username).get("/").get_data(as_text=True)


def test_filters_and_the_most_severe_first(client_as, detected):
    client = client_as("mfbm_analyst")
    body = client.get("/alerts").get_data(as_text=True)
    assert body.index("The critical one") < body.index("The high one") < body.index("The medium one")
    body = client.get("/alerts?severity=high", headers=HTMX).get_data(as_text=True)
    assert "The high one" in body and "The critical one" not in body and "<html" not in body
    body = client.get("/alerts?kind=under").get_data(as_text=True)
    assert "The medium one" in body and "The high one" not in body
    body = client.get(f"/alerts?ppa={detected['high'].ppa_id}").get_data(as_text=True)
    assert "The high one" in body and "The critical one" not in body
    body = client.get("/alerts?status=resolved&severity=nonsense").get_data(as_text=True)
    assert "No alerts match these filters." in body


def test_acknowledge_with_htmx_swaps_the_row_and_is_logged_and_audited(client_as, csrf_token, detected, users):
    client = client_as("mfbm_analyst")
    alert = detected["critical"]
    response = client.post(f"/alerts/{alert.id}/acknowledge", headers=HTMX,
                           data={"csrf_token": csrf_token(client), "version": alert.version})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="alert-{alert.id}"') and "Acknowledged" in body
    assert "obcms:toast" in response.headers["HX-Trigger"]
    db.session.expire_all()
    alert = db.session.get(BudgetAlert, alert.id)
    assert (alert.status, alert.acknowledged_by_id, alert.version) == ("acknowledged", users["mfbm_analyst"].id, 2)
    assert db.session.scalar(sa.select(TransitionLog.transition).where(
        TransitionLog.object_type == "budget_alert", TransitionLog.object_id == alert.id)) == "acknowledge"
    assert db.session.scalar(sa.select(AuditEntry.new_value).where(
        AuditEntry.object_type == "budget_alert", AuditEntry.object_id == alert.id,
        AuditEntry.field == "status")) == "acknowledged"


def test_resolve_as_plain_html_redirects_to_the_list(client_as, csrf_token, detected, users):
    client = client_as("oobc_staff")
    alert = detected["medium"]
    response = client.post(f"/alerts/{alert.id}/resolve", data={"csrf_token": csrf_token(client),
                                                                 "version": alert.version})
    assert response.status_code == 303 and response.headers["Location"].endswith("/alerts")
    db.session.expire_all()
    alert = db.session.get(BudgetAlert, alert.id)
    assert (alert.status, alert.resolved_by_id) == ("resolved", users["oobc_staff"].id)
    assert "The medium one" not in client.get("/alerts").get_data(as_text=True)  # open ones by default
    assert "The medium one" in client.get("/alerts?status=resolved").get_data(as_text=True)


def test_someone_acting_first_is_a_409_that_keeps_their_change(client_as, csrf_token, detected):
    alert = detected["high"]
    first, second = client_as("mfbm_analyst"), client_as("oobc_executive")
    assert first.post(f"/alerts/{alert.id}/resolve", headers=HTMX,
                      data={"csrf_token": csrf_token(first), "version": 1}).status_code == 200
    for headers in (HTMX, {}):
        response = second.post(f"/alerts/{alert.id}/acknowledge", headers=headers,
                               data={"csrf_token": csrf_token(second), "version": 1})
        assert response.status_code == 409
        body = response.get_data(as_text=True)
        assert "mfbm_analyst" in body and "Resolved" in body
        assert ("<html" in body) == (not headers)
    db.session.expire_all()
    assert db.session.get(BudgetAlert, alert.id).status == "resolved"


def test_refusals_write_nothing(client_as, csrf_token, detected):
    alert = detected["critical"]
    viewer = client_as("bpda_planner")
    assert viewer.post(f"/alerts/{alert.id}/acknowledge",
                       data={"csrf_token": csrf_token(viewer), "version": 1}).status_code == 403
    analyst = client_as("mfbm_analyst")
    assert analyst.post(f"/alerts/{alert.id}/acknowledge", data={"version": 1}).status_code == 400  # no CSRF
    assert analyst.post(f"/alerts/{alert.id}/acknowledge",
                        data={"csrf_token": csrf_token(analyst)}).status_code == 422  # no version
    assert analyst.post("/alerts/999999/acknowledge",
                        data={"csrf_token": csrf_token(analyst), "version": 1}).status_code == 404
    db.session.expire_all()
    assert db.session.get(BudgetAlert, alert.id).status == "active"


def test_the_page_runs_a_constant_number_of_queries(client_as, detected, make_ppa, add_tranches, count_queries):
    client = client_as("mfbm_analyst")
    client.get("/alerts")
    with count_queries() as small:
        client.get("/alerts")
    for _ in range(10):
        add_tranches(make_ppa(budget_allocation=Decimal("100.00"), status="ongoing"), disbursement="500.00")
    with time_machine.travel(NOW, tick=False):
        detect_budget_variances()
    db.session.commit()
    with count_queries() as large:
        client.get("/alerts")
    assert small.count == large.count <= 4  # sign-in, user, count, page
