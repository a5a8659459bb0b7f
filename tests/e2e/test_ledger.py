"""The ledger in a real browser: from the Budget tab, open an item's ledger, record an obligation (a mistake
first: the field error, nothing written), then a disbursement; the stages table changes in place up to the root;
the COA report downloaded then carries both on the item's Activity Breakdown row; back on the Budget tab, reverse
the disbursement with a reason. At 390 px wide neither the page nor its tables scroll sideways."""
import re

import openpyxl
from playwright.sync_api import expect

from obcms.extensions import db
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem

from .test_budget_distribution import make_tracked_ppa
from .test_reports import _generate_coa

SIDEWAYS = """() => [...document.querySelectorAll(".table-wrap")].filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => `${w.getAttribute("aria-label")}: ${w.scrollWidth} > ${w.clientWidth}`)
  .concat(document.documentElement.scrollWidth > window.innerWidth + 1 ? ["the page"] : [])"""


def stage_row(page, title):
    return page.locator("#budget-stages tbody tr", has=page.locator("th", has_text=re.compile(rf"^{title}$")))


def test_record_an_obligation_and_a_disbursement_then_reverse(signed_in_page, live_server, tmp_path):
    ppa_id, root_id = make_tracked_ppa(live_server.app, "E2E ledger program")
    with live_server.app.app_context():
        planning = db.session.scalar(db.select(WorkItem).where(WorkItem.parent_id == root_id, WorkItem.title == "Planning"))
        workitem_services.update_work_item(planning, planning.version, planning.created_by, allocated_budget="200000")
        db.session.commit()
    page = signed_in_page("moa")
    page.set_viewport_size({"width": 390, "height": 844})
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"/ppas/{ppa_id}/budget")
    expect(stage_row(page, "Planning")).to_be_visible()
    assert page.evaluate(SIDEWAYS) == []

    page.get_by_role("link", name="Ledger of Planning").click()
    dialog = page.locator("dialog#ledger-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Amount (₱)").fill("250000")
    dialog.get_by_label("Reference (ORS / DV number)").fill("ORS-2026-03-0012")
    dialog.get_by_label("Payee or description").fill("Printing Co.")
    dialog.get_by_role("button", name="Record").click()
    expect(dialog.locator("#amount-error")).to_contain_text("beyond its allocation")
    expect(dialog.get_by_label("Reference (ORS / DV number)")).to_have_value("ORS-2026-03-0012")

    dialog.get_by_label("Amount (₱)").fill("150000")
    dialog.get_by_role("button", name="Record").click()
    expect(page.locator("#toasts")).to_contain_text("Obligation of ₱ 150,000.00 recorded")
    expect(stage_row(page, "Planning").locator("td").nth(1)).to_have_text("₱ 150,000.00")
    expect(stage_row(page, "E2E ledger program").locator("td").nth(1)).to_have_text("₱ 150,000.00")

    dialog.get_by_label("Kind").select_option("disbursement")
    dialog.get_by_label("Amount (₱)").fill("60000")
    dialog.get_by_label("Reference (ORS / DV number)").fill("DV-2026-03-0101")
    dialog.get_by_role("button", name="Record").click()
    expect(page.locator("#toasts")).to_contain_text("Disbursement of ₱ 60,000.00 recorded")
    expect(stage_row(page, "Planning").locator("td").nth(2)).to_have_text("₱ 60,000.00")
    expect(dialog.locator("tbody tr[id^=entry-]")).to_have_count(2)
    assert page.evaluate(SIDEWAYS) == []

    download = _generate_coa(page)
    download.save_as(tmp_path / "coa.xlsx")
    breakdown = openpyxl.load_workbook(tmp_path / "coa.xlsx")["Activity Breakdown"]
    rows = {(r[1], r[2].strip()): r for r in breakdown.iter_rows(min_row=8, values_only=True) if r[1] and r[2]}
    # PPA title, activity (indented by depth), type, allocated, obligations, actual expenditure (= disbursed)
    assert rows[("E2E ledger program", "Planning")][4:7] == (200000, 150000, 60000)
    page.goto(f"/ppas/{ppa_id}/budget")
    page.get_by_role("link", name="Ledger of Planning").click()
    expect(dialog).to_be_visible()

    newest = dialog.locator("tbody tr[id^=entry-]").first
    newest.get_by_text("Reverse…").click()
    newest.get_by_label("Reason for the reversal").fill("Paid from another fund")
    newest.get_by_role("button", name=re.compile("Reverse #")).click()
    expect(page.locator("#toasts")).to_contain_text("reversed")
    expect(stage_row(page, "Planning").locator("td").nth(2)).to_have_text("₱ 0.00")
    expect(dialog.locator("tbody")).to_contain_text("Reversed by")
    assert script_errors == []
