"""Every API error is an application/problem+json with type, title, status and detail (and errors per field
for validation); never HTML, never a traceback. Pages keep their HTML errors (flask-smorest's handler is not
app-wide)."""
import json

import pytest
from werkzeug.exceptions import TooManyRequests

from obcms.api.views import api_http_error
from obcms.ppas import services


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert body["type"].startswith("urn:obcms:problem:")
    text = response.get_data(as_text=True)
    assert "<html" not in text and "Traceback" not in text
    return body


def test_401_without_a_token_or_session(api):
    assert_problem(api.get("/api/v1/ppas"), 401)


def test_403_for_a_role_without_the_permission(api, bearer):
    body = assert_problem(api.post("/api/v1/ppas", json={"title": "x"}, headers=bearer("viewer", "write")), 403)
    assert "create a PPA" in body["detail"]


def test_404_for_an_unknown_path_and_a_missing_ppa(client_as):
    client = client_as("oobc_staff")
    assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert_problem(client.get("/api/v1/ppas/999999"), 404)


def test_405_keeps_its_allow_header(api, bearer, make_ppa):
    ppa = make_ppa()
    response = api.delete(f"/api/v1/ppas/{ppa.id}", headers=bearer("admin", "write"))
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PATCH"}


def test_an_id_beyond_any_row_is_a_404_whatever_the_method(api, bearer, client_as):
    """werkzeug compares methods before converters: without obcms/errors.py's check these would be 405s."""
    headers = bearer("admin", "write")
    for method in ("GET", "PATCH", "DELETE", "POST"):
        assert_problem(api.open("/api/v1/ppas/99999999999", method=method, json={}, headers=headers), 404)
    page = client_as("oobc_staff").post("/ppas/99999999999")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)


def test_415_for_a_body_that_is_not_json(api, bearer):
    response = api.post("/api/v1/ppas", data={"title": "A form"}, headers=bearer("oobc_staff", "write"))
    assert_problem(response, 415)


def test_400_for_a_body_that_is_no_json(api, bearer):
    response = api.post("/api/v1/ppas", data="{not json", content_type="application/json",
                        headers=bearer("oobc_staff", "write"))
    assert_problem(response, 400)


def test_422_names_unknown_fields_and_field_errors(api, bearer):
    headers = bearer("oobc_staff", "write")
    body = assert_problem(api.post("/api/v1/ppas", json={"title": "T", "category": "oobc_ppa", "fiscal_year": 2026,
                                                         "colour": "red", "approval_status": "approved"},
                                   headers=headers), 422)
    assert body["errors"]["colour"] == ["Unknown field."] and body["errors"]["approval_status"] == ["Unknown field."]
    assert "colour" in body["detail"]
    body = assert_problem(api.post("/api/v1/ppas", json={"category": "nonsense", "fiscal_year": "soon"},
                                   headers=headers), 422)
    assert set(body["errors"]) >= {"title", "category", "fiscal_year"}
    assert all(isinstance(m, list) and all(isinstance(x, str) for x in m) for m in body["errors"].values())
    body = assert_problem(api.get("/api/v1/ppas?limit=500&sort=colour", headers=headers), 422)
    assert set(body["errors"]) == {"limit", "sort"}


def test_422_from_the_service_rules(api, bearer, organizations):
    body = assert_problem(api.post("/api/v1/ppas", headers=bearer("moa_staff", "write"), json={
        "title": "Theirs", "category": "moa_ppa", "fiscal_year": 2026,
        "implementing_moa_id": organizations["MOH"].id}), 422)
    assert "implementing_moa_id" in body["errors"]


def test_413_for_an_oversized_body(api, bearer, app):
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    response = api.post("/api/v1/ppas", data=json.dumps({"title": "a" * size}), content_type="application/json",
                        headers=bearer("oobc_staff", "write"))
    assert_problem(response, 413)


def test_429_is_a_problem_with_its_headers(app):
    with app.test_request_context("/api/v1/ppas"):
        response = app.make_response(api_http_error(TooManyRequests(retry_after=30)))
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429 and response.headers["Retry-After"] == "30"


def test_an_unexpected_error_is_a_500_problem_without_a_traceback(api, bearer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "create_ppa", broken)
    body = assert_problem(api.post("/api/v1/ppas", json={"title": "T", "category": "oobc_ppa", "fiscal_year": 2026},
                                   headers=bearer("oobc_staff", "write")), 500)
    assert "secret internals" not in json.dumps(body)


@pytest.mark.parametrize("path", ["/no-such-page", "/ppas/999999"])
def test_pages_keep_their_html_errors(client_as, path):
    response = client_as("oobc_staff").get(path)
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_a_page_405_keeps_html_and_allow(client_as):
    response = client_as("oobc_staff").get("/account/sign-out-others")
    assert response.status_code == 405 and "<html" in response.get_data(as_text=True)
    assert "POST" in response.headers["Allow"]
