import re

from tests.conftest import TEST_PASSWORD


def login_form_token(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, (response.status_code, response.headers, html[:500])
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def post_login(client, login, password, remember=False, next_url=None):
    data = {"login": login, "password": password, "csrf_token": login_form_token(client)}
    if remember:
        data["remember"] = "y"
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data=data)


def test_sign_in_with_username_then_see_dashboard(client, users):
    response = post_login(client, "oobc_staff", TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert "Good day, Oobc Staff" in page
    assert "Admin console" not in page  # navigation shows only what the role may use


def test_sign_in_with_email_is_case_insensitive(client, users):
    response = post_login(client, "OOBC_STAFF@example.gov.ph", TEST_PASSWORD)
    assert response.status_code == 302


def test_failed_sign_in_does_not_say_which_part_was_wrong(client, users):
    wrong_password = post_login(client, "oobc_staff", "nope-nope-nope")
    unknown_user = post_login(client, "nobody", TEST_PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    message = "Those sign-in details are not right."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_user.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_sign_in(client, users):
    from obcms.auth import services
    from obcms.extensions import db

    services.deactivate_user(users["viewer"])
    db.session.commit()
    assert post_login(client, "viewer", TEST_PASSWORD).status_code == 401


def test_remember_me_sets_a_remember_cookie(client, users):
    post_login(client, "oobc_staff", TEST_PASSWORD, remember=True)
    assert client.get_cookie("remember_token") is not None


def test_next_parameter_only_to_this_site(app, users):
    response = post_login(app.test_client(), "oobc_staff", TEST_PASSWORD, next_url="https://evil.example/")
    assert response.headers["Location"] == "/"
    response = post_login(app.test_client(), "oobc_staff", TEST_PASSWORD, next_url="/admin/")
    assert response.headers["Location"] == "/admin/"


def test_sign_out_requires_post_and_ends_the_session(client_as, csrf_token):
    client = client_as("oobc_staff")
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_password_reset_ends_existing_sessions(client_as, users):
    from obcms.auth import services
    from obcms.extensions import db

    client = client_as("oobc_staff")
    assert client.get("/").status_code == 200
    services.reset_password(users["oobc_staff"])
    db.session.commit()
    assert client.get("/").status_code == 302


def test_passwords_are_hashed_with_argon2(users):
    assert users["admin"].password_hash.startswith("$argon2id$")
