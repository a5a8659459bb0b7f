"""The Content-Security-Policy (script-src 'self', no inline scripts) holds in a real browser: the main pages,
their htmx fragments and dialogs, signed in as OOBC staff, raise no CSP violation and no console error."""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.ppas import tracking
from obcms.ppas.models import Ppa

# Records every CSP violation the page reports (Playwright's init scripts are not subject to the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def make_tracked_ppa(app, title):
    """A PPA with an execution project generated from the program template (through the tracking service), in
    MBHTE: the other browser tests work in MSSD and must not meet its work items in their pickers."""
    with app.app_context():
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        mbhte = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MBHTE"))
        ppa = Ppa(title=title, category="moa_ppa", fiscal_year=2026, sector="social", implementing_moa_id=mbhte.id,
                  budget_allocation=Decimal("2000000.00"), start_date=date(2026, 1, 1),
                  target_end_date=date(2026, 12, 31))
        db.session.add(ppa)
        db.session.flush()
        root = tracking.enable_tracking(ppa, staff, "program", "equal")
        db.session.commit()
        return ppa.id, root.id


def watched(page):
    """Collect console errors, uncaught script errors and CSP violations of `page`."""
    problems = []
    page.add_init_script(WATCH_CSP)
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return problems


def settle(page, problems, where):
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__cspViolations || []")
    problems.extend(f"{where}: CSP {v}" for v in violations)


def test_main_pages_raise_no_csp_violation_or_console_error(signed_in_page, live_server):
    ppa_id, root_id = make_tracked_ppa(live_server.app, "E2E CSP program")
    page = signed_in_page("staff")
    problems = watched(page)

    for url in ("/", "/ppas", "/ppas/dashboard", "/work-items/", "/notifications"):
        page.goto(url)
        settle(page, problems, url)

    page.goto(f"/ppas/{ppa_id}")
    settle(page, problems, "PPA overview")
    for tab in ("Work Items", "Budget", "Funding", "Approval", "History", "Overview"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        settle(page, problems, f"PPA tab {tab}")

    page.get_by_role("tab", name="Budget").click()
    page.get_by_role("link", name="Distribute budget").first.click()
    expect(page.locator("dialog#distribute-dialog")).to_be_visible()
    settle(page, problems, "distribution dialog")

    page.goto(f"/work-items/{root_id}")
    settle(page, problems, "tree page")
    page.locator(".wi-title-cell a").nth(1).click()  # a child's detail panel
    settle(page, problems, "detail panel")

    page.goto("/ppas/999999999")  # an error page
    settle(page, problems, "404 page")
    problems[:] = [p for p in problems if "404 (NOT FOUND)" not in p]  # the browser logs the 404 itself

    assert not problems, "\n".join(problems)


def test_the_sign_in_page_raises_no_csp_violation(page, live_server):
    problems = watched(page)
    page.goto("/login")
    settle(page, problems, "/login")
    assert not problems, "\n".join(problems)


def test_the_watch_does_see_an_inline_script_being_blocked(page, live_server):
    """The check above is not vacuous: an inline script added to a page is blocked and reported."""
    problems = watched(page)
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.ran = true";
                              document.body.appendChild(s); }""")
    settle(page, problems, "/login")
    assert page.evaluate("window.ran === undefined")
    assert any("CSP script-src" in p for p in problems), problems
