"""Search is rate limited per user (Flask-Limiter) and cached per scope (Flask-Caching), both in Redis when
REDIS_URL is set: these tests build their own app on the real Redis."""
import os
import uuid

import pytest
import redis

from config import TestingConfig
from obcms import create_app
from obcms.extensions import db
from obcms.ppas.models import Ppa
from tests.conftest import sign_in

pytestmark = pytest.mark.redis


@pytest.fixture
def on_redis(database_url):
    prefix = f"obcms-test-{uuid.uuid4().hex[:10]}"
    url = os.environ["REDIS_URL"]
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                     RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix, SEARCH_RATE_LIMIT="3 per 5 minutes",
                     CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url, CACHE_KEY_PREFIX=prefix + ":")
    yield app
    connection = redis.Redis.from_url(url)
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)


def test_the_fourth_search_in_the_window_is_a_429_shown_in_the_box(on_redis, users, corpus):
    client = sign_in(on_redis.test_client(), users["moa_staff"])
    for query in ("halal", "marawi", "cotabato"):
        assert client.get("/search/live", query_string={"q": query}, headers={"HX-Request": "true"}).status_code == 200
    response = client.get("/search/live", query_string={"q": "kudarat"}, headers={"HX-Request": "true"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Limit"] == "3" and response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["HX-Retarget"] == "#search-live"
    assert "Too many searches" in response.get_data(as_text=True)
    page = client.get("/search?q=kudarat")  # the page counts against the same limit
    assert page.status_code == 429 and "Too many searches" in page.get_data(as_text=True)
    assert "Retry-After" in page.headers and "<html" in page.get_data(as_text=True)
    fragment = client.get("/search?q=kudarat&kind=ppa", headers={"HX-Request": "true"})
    assert fragment.status_code == 429 and fragment.headers["HX-Retarget"] == "#results"
    assert "<html" not in fragment.get_data(as_text=True)
    other = sign_in(on_redis.test_client(), users["viewer"])  # per user
    assert live(other, "kudarat").status_code == 200


def test_each_app_counts_under_its_own_key_prefix(on_redis, database_url, users, corpus):
    """Flask-Limiter keeps the key prefix of the first app that turned limits on; obcms's Limiter reads each
    app's own. Else every later app counted under that first prefix, whatever its own said: two test runs
    within the window shared their counts (the second one's first search was a 429)."""
    prefix = f"obcms-test-{uuid.uuid4().hex[:10]}"
    later = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                       RATELIMIT_STORAGE_URI=os.environ["REDIS_URL"], RATELIMIT_KEY_PREFIX=prefix,
                       SEARCH_RATE_LIMIT="3 per 5 minutes")
    connection = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        assert live(sign_in(later.test_client(), users["moa_staff"]), "halal").status_code == 200
        assert any(connection.scan_iter(f"LIMITS:LIMITER/{prefix}/*"))
    finally:
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def live(client, q):
    return client.get("/search/live", query_string={"q": q}, headers={"HX-Request": "true"})


def test_cached_in_redis_per_scope_and_invalidated_by_a_commit(on_redis, users, corpus, count_queries):
    on_redis.config["RATELIMIT_ENABLED"] = False  # the cache alone here
    connection = redis.Redis.from_url(os.environ["REDIS_URL"])
    prefix = on_redis.config["CACHE_KEY_PREFIX"]
    moa, viewer = (sign_in(on_redis.test_client(), users[name]) for name in ("moa_staff", "viewer"))
    assert "Marawi" in live(moa, "halal").get_data(as_text=True)
    assert list(connection.scan_iter(f"{prefix}search:*"))
    with count_queries() as cached:
        assert "Marawi" in live(viewer, "halal").get_data(as_text=True)  # same scope: cached
    staff = sign_in(on_redis.test_client(), users["oobc_staff"])
    with count_queries() as cold:
        live(staff, "halal")  # another scope
    assert cached.count == cold.count - 1
    with on_redis.app_context():
        db.session.get(Ppa, corpus.ppas["MSSD-2026-009"]).title = "Halal bakery in Marawi City"
        db.session.commit()
    assert "bakery" in live(viewer, "halal").get_data(as_text=True)
