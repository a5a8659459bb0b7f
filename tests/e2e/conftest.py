"""Browser tests: Playwright drives Debian's chromium against a real server on a migrated, demo-seeded database.

    def test_something(signed_in_page):
        page = signed_in_page("moa")            # a demo username (obcms.demo.DEMO_USERS) or a role name
        page.goto("/ppas/")

Everything under tests/e2e is marked `e2e` and `committed` (it works on the live server's own database, never
inside the rolled-back test transaction).

The browser is OBCMS_CHROMIUM (default /usr/bin/chromium). When it is missing the browser tests are skipped and
the run ends with one line saying how many and how to install it; with OBCMS_REQUIRE_BROWSER=1 (CI) each of them
fails instead, so they are never skipped silently.
"""
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from config import TestingConfig
from obcms import create_app
from obcms.demo import DEMO_USERS, seed_demo
from obcms.extensions import db
from tests.databases import create_database, drop_database

CHROMIUM = os.environ.get("OBCMS_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
E2E_PASSWORD = "e2e-demo-password-2026"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.committed)


def chromium_missing():
    return not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK))


def browser_required():
    return os.environ.get("OBCMS_REQUIRE_BROWSER", "").strip().lower() in ("1", "true", "yes")


SKIPPED_BROWSER_TESTS = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture (no database, no server, no browser): skip, or with OBCMS_REQUIRE_BROWSER=1 fail, a
    browser test when chromium is missing."""
    if "e2e" not in item.keywords or not chromium_missing():
        return
    if browser_required():
        pytest.fail(f"OBCMS_REQUIRE_BROWSER=1 and no chromium at {CHROMIUM} (apt-get install -y chromium, or set "
                    "OBCMS_CHROMIUM)", pytrace=False)
    item.config.stash[SKIPPED_BROWSER_TESTS] = item.config.stash.get(SKIPPED_BROWSER_TESTS, 0) + 1
    pytest.skip(f"no chromium at {CHROMIUM}")


def pytest_terminal_summary(terminalreporter, config):
    skipped = config.stash.get(SKIPPED_BROWSER_TESTS, 0)
    if skipped:
        tests = "browser test" if skipped == 1 else "browser tests"
        terminalreporter.write_line(
            f"{skipped} {tests} skipped: no chromium at {CHROMIUM}; install it with `apt-get install -y chromium` "
            "(or point OBCMS_CHROMIUM at one)", yellow=True, bold=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, headless (Playwright cannot download its own browser here)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture(scope="session")
def live_server():
    """obcms served on 127.0.0.1 (a free port) from a fresh database migrated to head and seeded with the demo
    organizations and users (password E2E_PASSWORD), with CSRF on."""
    url = create_database("obcms_e2e")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        upgrade()
        seed_demo(E2E_PASSWORD)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="obcms-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright's pages resolve relative URLs (page.goto("/login")) against the live server."""
    return live_server.url


DEMO_USERNAME_BY_ROLE = {role: username for username, (role, _, _) in DEMO_USERS.items()}


def sign_in_through_the_page(page, username, password=E2E_PASSWORD):
    page.goto("/login")
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


@pytest.fixture
def signed_in_page(new_context):
    """signed_in_page("moa") → a page of a fresh browser context, signed in through the real form, on the
    dashboard. Accepts a demo username or a role name (then that role's demo user)."""

    def open_as(username, password=E2E_PASSWORD):
        username = username if username in DEMO_USERS else DEMO_USERNAME_BY_ROLE[username]
        page = new_context().new_page()
        sign_in_through_the_page(page, username, password)
        page.wait_for_selector("h1:has-text('Good day')")
        page.wait_for_load_state("load")  # the deferred scripts ran: keyboard shortcuts are listening
        return page

    return open_as
