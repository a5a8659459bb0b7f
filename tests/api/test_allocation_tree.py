"""GET /api/v1/ppas/<id>/budget-allocation-tree: session and bearer-token auth, 401, 404 out of scope, the
DOMAIN.md shape with decimals as strings, three queries."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from obcms.api.models import ApiToken
from obcms.api.tokens import create_token, revoke_token
from obcms.budget import services
from obcms.db_types import utcnow
from obcms.extensions import db

FIELDS = {"id", "parent_id", "title", "work_type", "status", "progress", "allocated", "children_allocated",
          "unallocated", "actual_expenditure", "variance", "variance_pct"}


def url(ppa):
    return f"/api/v1/ppas/{ppa.id}/budget-allocation-tree"


@pytest.fixture
def distributed(tracked, users):
    ppa, root, (planning, implementation, evaluation) = tracked
    inputs = {planning.id: "200000", implementation.id: "600000", evaluation.id: "200000"}
    services.apply_distribution(root, "manual", inputs, users["oobc_staff"],
                                services.preview_distribution(root, "manual", inputs).versions)
    db.session.commit()
    return tracked


@pytest.fixture
def token_for(users):
    def make(username="moa_staff"):
        token, secret = create_token(users[username], "tests")
        db.session.commit()
        return token, {"Authorization": f"Bearer {secret}"}

    return make


def test_session_auth_gets_the_tree_in_three_queries(distributed, client_as, count_queries):
    ppa, root, (planning, implementation, _) = distributed
    client, address = client_as("moa_staff"), url(ppa)
    with count_queries() as q:
        response = client.get(address)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert q.count <= 3
    body = response.get_json()
    assert body["ppa_id"] == ppa.id and body["execution_project_id"] == root.id
    nodes = body["nodes"]
    assert [n["title"] for n in nodes] == ["Program", "Planning", "Implementation", "Phase 1", "Phase 2",
                                           "Evaluation"]
    assert all(set(n) == FIELDS for n in nodes)
    top = nodes[0]
    assert top["parent_id"] is None and top["work_type"] == "project"
    assert top["allocated"] == "1000000.00" and top["children_allocated"] == "1000000.00"
    assert top["unallocated"] == "0.00" and top["actual_expenditure"] == "0.00"
    assert top["variance"] == "1000000.00" and top["variance_pct"] == "100.00"
    impl = next(n for n in nodes if n["id"] == implementation.id)
    assert impl["parent_id"] == root.id and impl["allocated"] == "600000.00"
    assert impl["children_allocated"] == "0.00" and impl["unallocated"] == "600000.00"
    phase = next(n for n in nodes if n["title"] == "Phase 1")
    assert phase["allocated"] == "0.00" and phase["variance_pct"] is None
    assert isinstance(top["progress"], int)


def test_an_untracked_ppa_has_no_nodes(client_as, make_tracked_ppa):
    ppa, root, _ = make_tracked_ppa()
    ppa.execution_project_id = None
    db.session.commit()
    body = client_as("oobc_staff").get(url(ppa)).get_json()
    assert body["nodes"] == [] and body["execution_project_id"] is None


def test_token_auth_in_three_queries_and_last_use_recorded(distributed, app, token_for, count_queries):
    ppa = distributed[0]
    token, headers = token_for()
    client = app.test_client()
    response = client.get(url(ppa), headers=headers)
    assert response.status_code == 200 and len(response.get_json()["nodes"]) == 6
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None
    address = url(ppa)
    with count_queries() as q:
        assert client.get(address, headers=headers).status_code == 200
    assert q.count <= 3  # last use recorded at most every few minutes
    assert "Set-Cookie" not in response.headers or "session=" not in response.headers["Set-Cookie"]


def test_stale_last_use_is_refreshed(distributed, app, token_for):
    token, headers = token_for()
    old = utcnow() - timedelta(hours=1)
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=old))
    db.session.commit()
    app.test_client().get(url(distributed[0]), headers=headers)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at > old


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer obcms_wrong"}, {"Authorization": "Basic eDp5"},
                                     {"Authorization": "Bearer "}])
def test_without_valid_auth_401_problem_json(distributed, client, headers):
    response = client.get(url(distributed[0]), headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["error"] == "unauthorized"


def test_a_revoked_token_or_a_deactivated_user_is_refused(distributed, app, token_for, users):
    token, headers = token_for()
    revoke_token(token)
    db.session.commit()
    assert app.test_client().get(url(distributed[0]), headers=headers).status_code == 401
    token, headers = token_for("oobc_staff")
    users["oobc_staff"].is_active = False
    db.session.commit()
    assert app.test_client().get(url(distributed[0]), headers=headers).status_code == 401


def test_a_token_does_not_sign_in_to_the_html_pages(distributed, app, token_for):
    _, headers = token_for()
    response = app.test_client().get(f"/ppas/{distributed[0].id}", headers=headers)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_out_of_scope_and_missing_ppas_are_404(distributed, client_as, app, token_for):
    ppa = distributed[0]
    response = client_as("other_moa_staff").get(url(ppa))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    _, headers = token_for("other_moa_staff")
    assert app.test_client().get(url(ppa), headers=headers).status_code == 404
    assert client_as("admin").get("/api/v1/ppas/999999/budget-allocation-tree").status_code == 404
    assert client_as("viewer").get(url(ppa)).status_code == 200  # MSSD's viewer reads MSSD's PPA


def test_cli_creates_a_token_printed_once_and_stores_only_its_digest(app, users):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["obcms", "api", "create-token", "moa_staff", "--name", "reports"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("obcms_")
    db.session.expire_all()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "reports"))
    assert token.user_id == users["moa_staff"].id and secret not in token.token_hash
    listed = runner.invoke(args=["obcms", "api", "list-tokens"]).output
    assert "reports" in listed and secret not in listed
    assert runner.invoke(args=["obcms", "api", "revoke-token", str(token.id)]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).is_revoked
    assert runner.invoke(args=["obcms", "api", "create-token", "nobody"]).exit_code != 0


def test_a_bearer_request_is_judged_by_the_token_alone(distributed, app, client_as, token_for, users):
    _, headers = token_for("moa_staff")
    browser = client_as("moa_staff")
    browser.get("/")  # a session cookie, then replayed from another client (strong session protection)
    stale = app.test_client()
    for cookie in browser._cookies.values():
        stale.set_cookie(cookie.key, cookie.value)
    stale.environ_base["HTTP_USER_AGENT"] = "another browser"
    response = stale.get(url(distributed[0]), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    other = client_as("other_moa_staff")  # a valid session of someone who may not see it: the token decides
    assert other.get(url(distributed[0]), headers=headers).status_code == 200
    assert other.get(url(distributed[0]), headers={"Authorization": "Bearer wrong"}).status_code == 401
