"""Bulk approval in a real browser (issue 14, "Done means"): the executive filters the PPA list to 30 PPAs, of which
2 are still drafts, selects the page with the header's checkbox (the bulk bar appears), asks to approve, reads
the dry run (28 allowed, 2 refused and why), applies to the 28 allowed and reads the summary; the list reloads
with their new state. At 390 px the bar and the dialog pass an axe-core audit and nothing scrolls sideways."""
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import Organization
from obcms.extensions import db
from obcms.ppas.models import Ppa

from .test_accessibility import AXE, SERIOUS, SIDEWAYS

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))
YEAR = 2039  # a fiscal year no demo PPA has: the filter shows exactly these


def _thirty_ppas(live_server):
    with live_server.app.app_context(), acting_as("test:setup"):
        if db.session.scalar(sa.select(sa.func.count()).select_from(Ppa).where(Ppa.fiscal_year == YEAR)):
            return
        mssd = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MSSD"))
        oobc = db.session.scalar(sa.select(Organization).where(Organization.acronym == "OOBC"))
        for n in range(30):
            db.session.add(Ppa(
                title=f"Bulk story PPA {n + 1}", code=f"BULK-{YEAR}-{n + 1:03d}", category="moa_ppa",
                fiscal_year=YEAR, sector="social", implementing_moa_id=mssd.id, lead_organization_id=oobc.id,
                budget_allocation=Decimal("250000.00"), start_date=date(YEAR, 1, 1),
                target_end_date=date(YEAR, 12, 31), summary="Generated for the bulk story.", funding_source="gaab",
                appropriation_class="mooe", outcome_framework=[{"title": "Incomes rise", "outputs": ["Kits"]}],
                approval_status="draft" if n in (4, 17) else "executive_approval"))
        db.session.commit()


def test_bulk_approve_thirty_ppas_of_which_two_are_refused(signed_in_page, live_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _thirty_ppas(live_server)
    page = signed_in_page("executive")
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.add_init_script(path=str(AXE))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/ppas?fy={YEAR}&sort=code")
    bar = page.locator("form#bulk-ppa")
    expect(bar).to_be_hidden()  # nothing selected yet
    page.get_by_label("Select all on this page").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("25 selected on this page")  # a page holds 25 rows
    bar.get_by_label("All 30 matching the filter").check()
    bar.get_by_label("Action").select_option("approve")
    problems = page.evaluate(SERIOUS) + page.evaluate(SIDEWAYS)
    page.screenshot(path=str(SCREENSHOTS / "bulk-bar-phone.png"), full_page=True)
    bar.get_by_role("button", name="Review…").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("28 of 30 allowed, 2 refused")
    expect(dialog).to_contain_text(f"BULK-{YEAR}-005")
    expect(dialog).to_contain_text("Not waiting for a review (now draft)")
    expect(dialog.get_by_role("button", name="Apply to all 30")).to_be_disabled()
    problems += page.evaluate(SERIOUS)
    page.screenshot(path=str(SCREENSHOTS / "bulk-dry-run-phone.png"), full_page=True)
    dialog.get_by_role("button", name="Apply to the 28 allowed").click()

    expect(dialog).to_contain_text("28 of 30 done, 2 failed")
    expect(dialog.locator(".bulk-failures li")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "bulk-result-phone.png"), full_page=True)
    dialog.get_by_role("button", name="Done").click()
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.locator("#results tbody tr", has_text="Approved")).to_have_count(23)  # reloaded: 25 rows, 2 drafts
    with live_server.app.app_context():
        states = db.session.execute(sa.select(Ppa.approval_status, sa.func.count()).where(Ppa.fiscal_year == YEAR)
                                    .group_by(Ppa.approval_status)).all()
    assert dict(states) == {"approved": 28, "draft": 2}
    assert problems == [] and errors == []
