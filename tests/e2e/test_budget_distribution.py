"""The budget distribution modal in a real browser: open it from the Budget tab and from the tree, type weights
with a mistake (the live preview names the item and keeps Apply disabled), fix it, apply (the dialog closes,
the allocation tree and the tree's cells change in place), then restore the earlier distribution."""
import re
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services


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
