"""Sign-in attempts are limited per account and per client address (DOMAIN.md "Rate limits": 5 per minute),
answered 429 with Retry-After and X-RateLimit-* as a page, an htmx fragment or a JSON problem. The test
configuration turns limits off; these tests build an app with them on."""
import os
import re
import uuid

import pytest

from config import TestingConfig
from obcms import create_app
from tests.conftest import TEST_PASSWORD

WRONG = "not-the-password-at-all"


def limited_app(database_url, **overrides):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True, **overrides)


@pytest.fixture
def limited(database_url):
    return limited_app(database_url)


def login_token(client):
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def attempt(client, token, login, password=WRONG, address="10.0.0.1", **kwargs):
    return client.post("/login", data={"login": login, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


def assert_limited(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in response.headers


def test_five_failures_per_account_whatever_the_address_or_spelling(limited, users):
    client = limited.test_client()
    token = login_token(client)
    email = users["moa_staff"].email.upper()
    for n in range(5):  # username and e-mail are one account: one bucket
        name = "moa_staff" if n % 2 else email
        assert attempt(client, token, name, address=f"10.0.1.{n}").status_code == 401
    response = attempt(client, token, "MOA_staff ", address="10.0.1.0")  # from an address that failed
    assert_limited(response)
    html = response.get_data(as_text=True)
    assert "Too many sign-in attempts for this account" in html and "<html" in html
    assert_limited(attempt(client, token, email, TEST_PASSWORD, address="10.0.1.1"))  # that address: held back
    # The owner, from an address that never failed, still signs in: nobody can lock an account out.
    owner = limited.test_client()
    assert attempt(owner, login_token(owner), "moa_staff", TEST_PASSWORD, address="10.0.1.100").status_code == 302
    assert attempt(client, token, "viewer", TEST_PASSWORD, address="10.0.1.101").status_code == 302  # others not


def test_signing_in_counts_towards_no_limit(limited, users):
    client = limited.test_client()
    for _ in range(8):
        fresh = limited.test_client()
        assert attempt(fresh, login_token(fresh), "oobc_staff", TEST_PASSWORD, address="10.0.5.1").status_code == 302
    assert attempt(client, login_token(client), "oobc_staff", WRONG, address="10.0.5.1").status_code == 401


def test_five_attempts_per_address_whatever_the_account(limited, users):
    client = limited.test_client()
    token = login_token(client)
    for n in range(5):
        assert attempt(client, token, f"someone{n}", address="10.0.2.1").status_code == 401
    response = attempt(client, token, "viewer", TEST_PASSWORD, address="10.0.2.1")
    assert_limited(response)
    assert "Too many sign-in attempts from this address" in response.get_data(as_text=True)
    assert attempt(client, token, "viewer", TEST_PASSWORD, address="10.0.2.2").status_code == 302


def test_json_and_htmx_clients_get_their_own_shape_of_429(limited, users):
    client = limited.test_client()
    token = login_token(client)
    for _ in range(5):
        attempt(client, token, "bpda_planner", address="10.0.3.1")
    problem = attempt(client, token, "bpda_planner", address="10.0.3.1", headers={"Accept": "application/json"})
    assert_limited(problem)
    assert problem.mimetype == "application/problem+json"
    assert problem.get_json()["status"] == 429 and problem.get_json()["error"] == "too_many_requests"
    fragment = attempt(client, token, "bpda_planner", address="10.0.3.1", headers={"HX-Request": "true"})
    assert_limited(fragment)
    assert fragment.headers["HX-Retarget"] == "#errors"
    assert "<html" not in fragment.get_data(as_text=True)


def test_showing_the_sign_in_page_is_not_limited(limited):
    client = limited.test_client()
    for _ in range(12):
        assert client.get("/login", environ_base={"REMOTE_ADDR": "10.0.4.1"}).status_code == 200


def test_limits_are_off_in_the_test_configuration(app, users):
    client = app.test_client()
    token = login_token(client)
    for _ in range(8):
        assert attempt(client, token, "oobc_staff", address="10.0.5.1").status_code == 401


@pytest.mark.redis
def test_limits_are_counted_in_redis_when_configured(database_url, users):
    """With Redis (shared by every worker process) the counts live there."""
    import redis

    storage = os.environ["REDIS_URL"]
    client = limited_app(database_url, RATELIMIT_STORAGE_URI=storage).test_client()
    token = login_token(client)
    account = f"nobody-{uuid.uuid4().hex[:12]}"
    connection = redis.Redis.from_url(storage)
    try:
        for n in range(5):
            assert attempt(client, token, account, address=f"10.0.6.{n}").status_code == 401
        assert_limited(attempt(client, token, account, address="10.0.6.0"))  # an address that failed
        assert list(connection.scan_iter(f"*{account}*"))
    finally:
        for key in [*connection.scan_iter(f"*{account}*"), *connection.scan_iter("*10.0.6.*")]:
            connection.delete(key)
