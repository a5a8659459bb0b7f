"""The approval workflow in a real browser: the editor submits, the MFBM analyst advances, then rejects (the
comment box is required), and the Approval tab follows each step without a reload."""
from playwright.sync_api import expect

PPA_CODE = "MSSD-2027-003"  # the demo's draft


def _approval_tab(page):
    page.goto(f"/ppas?q={PPA_CODE}")
    page.get_by_role("link", name=PPA_CODE, exact=True).click()
    page.get_by_role("tab", name="Approval").click()
    expect(page.get_by_role("heading", name="Approval")).to_be_visible()
    return page


def _current_step(page):
    return page.locator(".stepper [aria-current=step]")


def test_submit_advance_and_reject_as_the_right_roles(signed_in_page):
    staff = _approval_tab(signed_in_page("staff"))
    expect(_current_step(staff)).to_have_text("draft")
    staff.get_by_role("button", name="Submit for technical review").click()
    expect(_current_step(staff)).to_have_text("technical review")
    expect(staff.locator(".workflow-history")).to_contain_text("Sittie Staff")

    mfbm = _approval_tab(signed_in_page("mfbm"))
    expect(mfbm.get_by_role("button", name="Pass technical review")).to_be_enabled()
    mfbm.get_by_role("button", name="Pass technical review").click()
    expect(_current_step(mfbm)).to_have_text("budget review")

    # Reject is the danger action, apart from the step's one primary action, in a dialog of its own.
    expect(mfbm.locator(".workflow-actions button.primary")).to_have_count(1)
    mfbm.get_by_role("button", name="Reject…").click()
    dialog = mfbm.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Reject: {PPA_CODE}")
    reject = dialog.get_by_role("button", name=f"Reject {PPA_CODE}")
    reject.click()  # the required comment box stops the empty reject in the browser
    expect(_current_step(mfbm)).to_have_text("budget review")
    dialog.get_by_label("Why? (required; the editors will read it)").fill("The unit costs need quotations.")
    reject.click()
    expect(mfbm.locator(".approval-tab")).to_contain_text("Current state: rejected")
    expect(mfbm.locator("#toasts")).to_contain_text(f"{PPA_CODE} rejected and returned to its editors")
    expect(mfbm.locator(".workflow-history")).to_contain_text("The unit costs need quotations.")

    staff.reload()
    expect(staff.get_by_role("button", name="Return to draft")).to_be_enabled()
