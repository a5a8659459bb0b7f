"""The API is rate limited per token (API_RATE_LIMIT), per user for a signed-in browser's requests: the request
past the limit is a 429 problem with Retry-After and X-RateLimit-*, counted in Redis (REDIS_URL) shared by every
worker. The test configuration turns limits off; these tests build an app with a low limit on the real Redis."""
import os

import pytest
import redis

from config import TestingConfig
from obcms import create_app
from tests.conftest import sign_in

pytestmark = pytest.mark.redis


def api_windows(connection):
    """The API's windows in Redis (Flask-Limiter keeps the key prefix of the first app it was bound to)."""
    return list(connection.scan_iter("LIMITS:*/api-*/api/*"))


@pytest.fixture
def limited(database_url):
    url = os.environ["REDIS_URL"]
    connection = redis.Redis.from_url(url)
    if stale := api_windows(connection):
        connection.delete(*stale)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                     RATELIMIT_STORAGE_URI=url, API_RATE_LIMIT="3 per minute")
    yield app
    counted = api_windows(connection)
    assert counted, "the windows are kept in Redis"
    connection.delete(*counted)


def assert_limited(response):
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 429 and problem["type"] == "urn:obcms:problem:too_many_requests"
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Limit"] == "3" and response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > 0


def test_the_fourth_request_of_a_token_in_the_window_is_a_429_problem(limited, bearer):
    client, token, other = limited.test_client(), bearer("moa_staff"), bearer("moa_staff")
    for url in ("/api/v1/ppas", "/api/v1/ppas/0", "/api/v1/openapi.json"):  # one window over every operation
        response = client.get(url, headers=token)
        assert response.status_code in (200, 404) and response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert_limited(client.get("/api/v1/ppas", headers=token))
    assert_limited(client.patch("/api/v1/ppas/1", json={}, headers=token))  # writes count too
    assert client.get("/api/v1/ppas", headers=other).status_code == 200  # per token, even of the same user


def test_a_signed_in_browser_counts_per_user_and_pages_are_not_counted(limited, users):
    first, second = (sign_in(limited.test_client(), users["viewer"]) for _ in range(2))
    for client in (first, second, first):  # two sign-ins of one user share the window
        assert client.get("/api/v1/ppas").status_code == 200
    assert_limited(second.get("/api/v1/ppas"))
    assert first.get("/ppas").status_code == 200  # the pages keep their own limits
    assert sign_in(limited.test_client(), users["moa_staff"]).get("/api/v1/ppas").status_code == 200


def test_an_unknown_token_is_counted_by_address_and_still_told_401(limited):
    client = limited.test_client()
    headers = {"Authorization": "Bearer obcms_not-a-token"}
    for _ in range(3):
        assert client.get("/api/v1/ppas", headers=headers).status_code == 401
    assert_limited(client.get("/api/v1/ppas", headers=headers))
    elsewhere = client.get("/api/v1/ppas", headers=headers, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert elsewhere.status_code == 401
