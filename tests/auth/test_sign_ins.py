"""Signing out ends the session on the server: the old session or remember cookie, replayed, signs nobody in.
The account page lists where the user is signed in and signs out one browser, the others, or all."""
import re

from obcms.auth.models import SignIn
from obcms.extensions import db
from tests.conftest import TEST_PASSWORD

from .test_login import post_login


def cookies(client):
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def replay(app, jar, *names):
    """A new client carrying only the named cookies of an earlier one."""
    client = app.test_client()
    for name in names:
        client.set_cookie(name, jar[name])
    return client


def csrf(client):
    return re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


def test_cookies_replayed_after_sign_out_sign_nobody_in(app, client, users):
    post_login(client, "oobc_staff", TEST_PASSWORD, remember=True)
    jar = cookies(client)
    assert {"session", "remember_token"} <= set(jar)
    assert replay(app, jar, "session").get("/").status_code == 200  # each cookie works on its own …
    assert replay(app, jar, "remember_token").get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf(client)}).status_code == 302
    assert replay(app, jar, "session").get("/").status_code == 302  # … and neither after signing out
    assert replay(app, jar, "remember_token").get("/").status_code == 302
    assert replay(app, jar, "session", "remember_token").get("/").status_code == 302


def test_the_csrf_token_changes_at_sign_in(app, users):
    client = app.test_client()
    client.get("/login")
    before = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                       client.get("/login").get_data(as_text=True)).group(1)
    post_login(client, "oobc_staff", TEST_PASSWORD)
    assert csrf(client) != before


def test_the_account_page_signs_out_another_browser_or_all(app, users):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    for browser in (laptop, phone, tablet):
        post_login(browser, "oobc_staff", TEST_PASSWORD)
    page = laptop.get("/account").get_data(as_text=True)
    assert page.count("Sign out that browser") == 2 and "(this browser)" in page
    phone_sign_in = db.session.scalars(db.select(SignIn).where(SignIn.user_id == users["oobc_staff"].id)
                                       .order_by(SignIn.id)).all()[-2]
    response = laptop.post(f"/account/sign-ins/{phone_sign_in.id}/end", data={"csrf_token": csrf(laptop)})
    assert response.status_code == 302
    assert phone.get("/").status_code == 302 and tablet.get("/").status_code == 200
    assert laptop.post(f"/account/sign-ins/{phone_sign_in.id}/end",
                       data={"csrf_token": csrf(laptop)}).status_code == 404  # ended already
    other = app.test_client()
    post_login(other, "viewer", TEST_PASSWORD)
    assert other.post(f"/account/sign-ins/{phone_sign_in.id + 1}/end",
                      data={"csrf_token": csrf(other)}).status_code == 404  # not theirs
    laptop.post("/account/sign-out-everywhere", data={"csrf_token": csrf(laptop)})
    assert laptop.get("/").status_code == 302 and tablet.get("/").status_code == 302
    assert other.get("/").status_code == 200


def test_signing_in_leaves_the_account_version_alone(app, users):
    """Two browsers signing in to one account at once (or an admin's open edit form of that user) must not
    meet a conflict: the sign-in time is bookkeeping, written past the version counter."""
    user = users["oobc_staff"]
    version = user.version
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        assert post_login(browser, "oobc_staff", TEST_PASSWORD).status_code == 302
    db.session.expire_all()
    assert user.version == version and user.last_login_at is not None


def test_the_account_page_names_each_browser_readably(app, users):
    from obcms.auth.sessions import browser_label

    windows_chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0.0.0 Safari/537.36")
    assert browser_label(windows_chrome) == "Chrome on Windows"
    assert browser_label("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                         "Gecko) Version/18.1 Mobile/15E148 Safari/604.1") == "Safari on iPhone"
    assert browser_label("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36 "
                         "EdgA/131.0 Edg/131.0") == "Edge on Android"
    assert browser_label("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0") == "Firefox on Linux"
    assert browser_label("curl/8.5.0") == "curl/8.5.0" and browser_label(None) == "unknown browser"
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = windows_chrome
    post_login(client, "oobc_staff", TEST_PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert f'<td title="{windows_chrome}">Chrome on Windows <strong>(this browser)</strong>' in page
