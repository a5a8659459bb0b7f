"""A POST without a CSRF token is refused, as a plain form and as an htmx request."""


def test_plain_form_post_without_token_is_refused(client_as):
    client = client_as("oobc_staff")
    response = client.post("/logout")
    assert response.status_code == 400
    assert "The form expired or was not sent by this site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200  # still signed in


def test_htmx_post_without_token_is_refused_into_the_error_target(client_as):
    client = client_as("oobc_staff")
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#errors"
    assert client.get("/").status_code == 200


def test_post_with_a_wrong_token_is_refused(client_as):
    client = client_as("oobc_staff")
    assert client.post("/logout", headers={"X-CSRFToken": "forged"}).status_code == 400


def test_token_from_another_session_is_refused(client_as, csrf_token):
    other = client_as("viewer")
    client = client_as("oobc_staff")
    assert client.post("/logout", headers={"X-CSRFToken": csrf_token(other)}).status_code == 400


def test_json_post_without_token_gets_a_problem(client_as):
    response = client_as("oobc_staff").post("/logout", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"


def test_token_in_the_header_is_accepted(client_as, csrf_token):
    client = client_as("oobc_staff")
    response = client.post("/logout", headers={"X-CSRFToken": csrf_token(client), "HX-Request": "true"})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # signed out


def test_token_as_form_field_is_accepted(client_as, csrf_token):
    client = client_as("oobc_staff")
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
