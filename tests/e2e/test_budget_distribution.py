"""The budget distribution modal in a real browser: open it from the Budget tab and from the tree, type weights
with a mistake (the live preview names the item and keeps Apply disabled), fix it, apply (the dialog closes,
the allocation tree and the tree's cells change in place), then restore the earlier distribution."""
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))


def make_tracked_ppa(app, title):
    with app.app_context():
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        mssd = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MSSD"))
        ppa = Ppa(title=title, category="moa_ppa", fiscal_year=2026, sector="social", implementing_moa_id=mssd.id,
                  budget_allocation=Decimal("1000000.00"), start_date=date(2026, 1, 1),
                  target_end_date=date(2026, 12, 31), workitem_tracking_enabled=True)
        db.session.add(ppa)
        db.session.flush()
        root = workitem_services.create_work_item(None, staff, title=title, work_type="project",
                                                  allocated_budget="1000000.00", ppa_id=ppa.id,
                                                  organization_id=mssd.id)
        ppa.execution_project_id = root.id
        for name in ("Planning", "Implementation", "Evaluation"):
            workitem_services.create_work_item(root, staff, title=name, work_type="sub_project")
        db.session.commit()
        return ppa.id, root.id


def alloc_cell(page, title, column):
    row = page.locator("#budget-allocation tbody tr", has=page.locator("th", has_text=re.compile(rf"\b{title}$")))
    return row.locator("td").nth({"allocated": 2, "unallocated": 4}[column])


def test_distribute_by_weights_with_a_mistake_then_restore(signed_in_page, live_server):
    ppa_id, root_id = make_tracked_ppa(live_server.app, "E2E distribution program")
    page = signed_in_page("moa")
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"/ppas/{ppa_id}/budget")
    expect(page.locator("#budget-history")).to_contain_text("No distributions yet")

    page.get_by_role("link", name="Distribute budget").click()
    dialog = page.locator("dialog#distribute-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Weighted").click()
    expect(dialog.get_by_label("Weight for Planning")).to_have_value("33.34")

    dialog.get_by_label("Weight for Planning").fill("20")
    dialog.get_by_label("Weight for Implementation").fill("70")
    dialog.get_by_label("Weight for Evaluation").fill("-10")
    expect(dialog.locator("#distribute-foot")).to_contain_text("Evaluation: The weight must be 0 or more.")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
    dialog.get_by_label("Weight for Evaluation").fill("10")
    expect(dialog.get_by_role("button", name="Apply")).to_be_enabled()
    expect(dialog.locator("td[id^=dist-share-]").nth(1)).to_have_text("₱ 700,000.00")

    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Distributed ₱ 1,000,000.00")
    expect(alloc_cell(page, "Implementation", "allocated")).to_have_text("₱ 700,000.00")
    expect(page.locator("#budget-history .dist-entry")).to_have_count(1)

    # A second, equal distribution from the tree view's toolbar; the rows change in place.
    page.goto(f"/work-items/{root_id}")
    page.get_by_role("link", name="Distribute budget").click()
    dialog = page.locator("dialog#distribute-dialog")
    expect(dialog.get_by_role("link", name="Equal")).to_have_attribute("aria-current", "true")
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    implementation = page.locator("tr.wi-row", has=page.locator("a.wi-title", has_text="Implementation"))
    expect(implementation.locator("td[id$='-allocated']")).to_have_text("₱ 333,333.33")

    # Restore the weighted one from the history.
    page.goto(f"/ppas/{ppa_id}/budget")
    page.locator("#budget-history .dist-entry").nth(1).get_by_role("link", name="Restore…").click()
    page.locator("dialog#restore-dialog").get_by_role("button", name=re.compile("^Restore #")).click()
    expect(page.locator("dialog#restore-dialog")).to_have_count(0)
    expect(alloc_cell(page, "Implementation", "allocated")).to_have_text("₱ 700,000.00")
    expect(page.locator("#budget-history .dist-entry")).to_have_count(3)
    assert script_errors == []


def test_an_equal_split_too_small_for_the_items_below_is_rescaled_after_a_preview(signed_in_page, live_server):
    """Implementation holds 700,000 split over two phases; an equal split at the root gives it 333,333.33, less
    than its phases hold: the dialog says so, offers to scale them down, previews each phase's new figure, and
    Apply writes the whole (keyboard only for the offer)."""
    app = live_server.app
    ppa_id, root_id = make_tracked_ppa(app, "E2E rescale program")
    with app.app_context():
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        kids = {w.title: w for w in db.session.scalars(sa.select(WorkItem)
                                                       .where(WorkItem.parent_id == root_id))}
        for name in ("Phase 1", "Phase 2"):
            workitem_services.create_work_item(kids["Implementation"], staff, title=name, work_type="activity")
        workitem_services.update_work_item(kids["Implementation"], kids["Implementation"].version, staff,
                                           allocated_budget="700000")
        implementation = kids["Implementation"].id
        for phase in db.session.scalars(sa.select(WorkItem)
                                        .where(WorkItem.parent_id == implementation)):
            workitem_services.update_work_item(phase, phase.version, staff, allocated_budget="350000")
        db.session.commit()

    page = signed_in_page("moa")
    page.goto(f"/work-items/{root_id}?open={implementation}")
    page.get_by_role("link", name="Distribute budget").click()
    dialog = page.locator("dialog#distribute-dialog")
    expect(dialog.locator("#distribute-foot")).to_contain_text("Scale down the items under Implementation")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()

    offer = dialog.get_by_label(re.compile("Scale down the items under Implementation"))
    offer.focus()
    page.keyboard.press("Space")
    expect(dialog.locator("#distribute-foot")).not_to_contain_text("would be allocated")
    expect(dialog.get_by_role("button", name="Apply")).to_be_enabled()
    expect(offer).to_be_checked()
    expect(offer).to_be_focused()  # the preview's swap keeps the focus where it was
    share = dialog.locator(f"#dist-share-{implementation}")
    expect(share).to_contain_text("2 items below scaled down")
    share.locator("summary").click()
    expect(share).to_contain_text("Phase 1: ₱ 350,000.00 → ₱ 166,666.67")
    expect(share).to_contain_text("Phase 2: ₱ 350,000.00 → ₱ 166,666.66")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "distribution-rescale-desktop.png"))

    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    phase = page.locator("tr.wi-row", has=page.locator("a.wi-title", has_text="Phase 1"))
    expect(phase.locator("td[id$='-allocated']")).to_have_text("₱ 166,666.67")
    row = page.locator("tr.wi-row", has=page.locator("a.wi-title", has_text="Implementation"))
    expect(row.locator("td[id$='-allocated']")).to_have_text("₱ 333,333.33")
