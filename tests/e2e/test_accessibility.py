"""Every main page and dialog passes an axe-core audit in chromium (no serious or critical violation) at
1440x900 and at 390x844 (where no table and no page scrolls sideways either), and leaves a screenshot of itself in SCREENSHOTS to look at (instance/screenshots/
unless OBCMS_SCREENSHOT_DIR says otherwise). axe-core is vendored for the tests (tests/e2e/vendor, MPL-2.0)
and loaded as an init script, so the pages keep their Content-Security-Policy."""
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import User
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workflow import fire
from obcms.workitems.models import WorkItem

from .conftest import sign_in_through_the_page

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", HERE.parents[1] / "instance" / "screenshots"))
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
TRACKED_PPA = "MBHTE-2026-004"  # the demo PPA with an execution project
REVIEWED_PPA = "OOBC-2026-005"  # in technical review in the demo: the reviewer's panel
SERIOUS = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter(v => ["serious", "critical"].includes(v.impact))
  .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`)"""


def ids(live_server):
    """The PPAs the pages show, the tracked PPA's tree, and the reviewed PPA in technical review."""
    with live_server.app.app_context(), acting_as("test:setup"):
        tracked = db.session.scalar(sa.select(Ppa).where(Ppa.code == TRACKED_PPA))
        reviewed = db.session.scalar(sa.select(Ppa).where(Ppa.code == REVIEWED_PPA))
        if reviewed.approval_status == "draft":
            fire(reviewed, "submit", db.session.scalar(sa.select(User).where(User.username == "staff")))
            db.session.commit()
        child = db.session.scalar(sa.select(WorkItem.id).where(WorkItem.parent_id == tracked.execution_project_id)
                                  .order_by(WorkItem.lft).limit(1))
        return tracked.id, tracked.execution_project_id, child, reviewed.id


SIDEWAYS = """() => [...document.querySelectorAll(".table-wrap")].filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => `the table "${w.getAttribute("aria-label") || w.className}" scrolls sideways`)
  .concat(document.documentElement.scrollWidth > window.innerWidth + 1 ? ["the page scrolls sideways"] : [])"""


def audit(page, name, size, problems):
    page.wait_for_load_state("networkidle")
    if size == "phone":
        problems.extend(f"{name} at {size}: {p}" for p in page.evaluate(SIDEWAYS))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    found = page.evaluate(SERIOUS)
    problems.extend(f"{name} at {size}: {v}" for v in found)


@pytest.mark.parametrize("size", SIZES)
def test_every_main_page_and_dialog_passes_an_accessibility_audit(browser, live_server, size):
    ppa, root, child, reviewed = ids(live_server)
    width, height = SIZES[size]
    problems = []

    contexts = []  # closed at the end: an open page would keep polling the live server during later tests

    def browser_as(username):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
        contexts.append(context)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        if username:
            sign_in_through_the_page(page, username)
            page.wait_for_selector("h1:has-text('Good day')")
        return page

    try:
        page = browser_as(None)
        page.goto("/login")
        audit(page, "login", size, problems)

        admin = browser_as("admin")
        pages = {"home": "/", "ppa-list": "/ppas", "dashboard": "/ppas/dashboard", "ppa-overview": f"/ppas/{ppa}",
                 "ppa-work-items": f"/ppas/{ppa}/work-items", "ppa-budget": f"/ppas/{ppa}/budget",
                 "ppa-funding": f"/ppas/{ppa}/funding", "ppa-approval": f"/ppas/{ppa}/approval",
                 "ppa-history": f"/ppas/{ppa}/history", "work-item-trees": "/work-items/",
                 "tree-with-drawer": f"/work-items/{child}", "notifications": "/notifications", "audit": "/audit",
                 "account": "/account", "admin-home": "/admin/", "ppa-edit-form": f"/ppas/{ppa}/edit",
                 "calendar-month": "/calendar?view=month", "calendar-week": "/calendar?view=week",
                 "calendar-agenda": "/calendar?view=agenda", "my-tasks": "/tasks", "my-tasks-board": "/tasks?view=board",
                 "my-tasks-team": "/tasks/team", "reports": "/reports", "policies": "/policies",
                 "policy-form": "/policies/new", "search-results": "/search?q=livelyhood"}
        for name, url in pages.items():
            admin.goto(url)
            audit(admin, name, size, problems)

        admin.goto("/ppas")
        admin.locator("#site-search").press_sequentially("pension senior", delay=10)
        expect(admin.locator("#search-live [role=option]").first).to_be_visible()
        audit(admin, "search-live-list", size, problems)

        admin.goto(f"/work-items/{root}")
        admin.get_by_role("link", name="Distribute budget").click()
        expect(admin.get_by_role("dialog")).to_be_visible()
        audit(admin, "distribution-dialog", size, problems)

        admin.goto(f"/ppas/{ppa}/budget")
        admin.locator("#budget-stages tbody a").first.click()
        expect(admin.get_by_role("dialog")).to_be_visible()
        audit(admin, "ledger-dialog", size, problems)
        admin.goto(f"/budget/ppas/{ppa}/import")
        audit(admin, "ledger-import", size, problems)

        admin.goto("/calendar")
        admin.get_by_role("link", name="New event").click()
        expect(admin.get_by_role("dialog")).to_be_visible()
        audit(admin, "calendar-event-dialog", size, problems)

        reviewer = browser_as("mfbm")
        reviewer.goto(f"/ppas/{reviewed}/approval")
        expect(reviewer.get_by_role("button", name="Pass technical review")).to_be_enabled()
        audit(reviewer, "approval-as-reviewer", size, problems)
        reviewer.get_by_role("button", name="Reject…").click()
        expect(reviewer.get_by_role("dialog")).to_be_visible()
        audit(reviewer, "reject-dialog", size, problems)

    finally:
        for context in contexts:
            context.close()
    assert problems == []
