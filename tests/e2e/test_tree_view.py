"""The work-item tree in a real browser: create a project, add, edit, move and delete nodes, and watch the
roll-ups (progress, unallocated, the stat cards) change in place without a reload."""
import re

from playwright.sync_api import expect


def row(page, title):
    return page.locator("tr.wi-row", has=page.locator("a.wi-title", has_text=re.compile(rf"^{re.escape(title)}$")))


def menu(page, title, action):
    row(page, title).get_by_label(f"Actions for {title}").click()
    row(page, title).get_by_role("link", name=action).click()


def cell(page, title, name):
    return row(page, title).locator(f"td.{name}" if name in ("wi-progress", "wi-status") else f"td[id$='-{name}']")


def stat(page, label):
    return page.locator(".wi-stats .stat-card", has=page.locator(".stat-label", has_text=label)).locator(".stat")


def add(page, title, work_type, allocated="0", under=None):
    if under is None:
        page.get_by_role("link", name="Add item").click()
    else:
        menu(page, under, "Add child")
    form = page.locator("tr.wi-form-row form")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Type").select_option(work_type)
    form.get_by_label("Allocated (₱)").fill(allocated)
    form.get_by_role("button", name="Add").click()
    expect(row(page, title)).to_be_visible()
    expect(page.locator("tr.wi-form-row")).to_have_count(0)


def test_add_edit_move_delete_with_roll_ups(signed_in_page):
    page = signed_in_page("staff")
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto("/work-items/")
    page.get_by_label("Title").fill("E2E road project")
    page.get_by_label("Allocated (₱)").fill("1000")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("h1")).to_have_text("E2E road project")
    expect(stat(page, "Unallocated")).to_have_text("₱ 1,000.00")

    add(page, "Stage A", "activity", "400")
    add(page, "Stage B", "activity", "0")
    expect(cell(page, "E2E road project", "unallocated")).to_have_text("₱ 600.00")
    expect(stat(page, "Unallocated")).to_have_text("₱ 600.00")

    add(page, "Survey", "task", under="Stage A")
    expect(row(page, "Stage A")).to_have_attribute("aria-expanded", "true")
    expect(row(page, "Survey")).to_have_attribute("aria-level", "3")

    # Edit: progress and status of the leaf; Stage A and the project roll up in place.
    menu(page, "Survey", "Edit")
    form = page.locator("tr.wi-form-row form")
    form.get_by_label("Progress (%)").fill("50")
    form.get_by_label("Status").select_option("start")
    form.get_by_role("button", name="Save").click()
    expect(cell(page, "Survey", "wi-status")).to_have_text("in progress")
    expect(cell(page, "Survey", "wi-progress")).to_contain_text("50 %")
    expect(cell(page, "Stage A", "wi-progress")).to_contain_text("50 %")
    expect(cell(page, "Stage A", "wi-status")).to_have_text("in progress")
    expect(cell(page, "E2E road project", "wi-progress")).to_contain_text("25 %")
    expect(stat(page, "Progress")).to_have_text("25 %")

    # Move Survey under Stage B with the picker (search, choose, move): both ends roll up.
    menu(page, "Survey", "Move…")
    form = page.locator("tr.wi-form-row form")
    form.get_by_label("Find the new parent").fill("Stage B")
    form.get_by_label(re.compile("Stage B")).check()
    form.get_by_role("button", name="Move here").click()
    expect(page.locator("tr.wi-form-row")).to_have_count(0)
    expect(row(page, "Survey")).to_have_count(1)
    titles = page.locator("tr.wi-row a.wi-title").all_inner_texts()
    assert titles == ["E2E road project", "Stage A", "Stage B", "Survey"]
    expect(cell(page, "Stage B", "wi-progress")).to_contain_text("50 %")
    expect(row(page, "Stage A")).not_to_have_attribute("aria-expanded", re.compile(".*"))

    # The open state survives a reload (it is in the URL).
    page.reload()
    expect(row(page, "Survey")).to_be_visible()

    # Keyboard: down from the project row, left closes Stage B, right opens it again.
    row(page, "E2E road project").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(row(page, "Stage B")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(row(page, "Survey")).to_have_count(0)
    page.keyboard.press("ArrowRight")
    expect(row(page, "Survey")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#wi-panel h2[id^=wi-detail-title]")).to_contain_text("Stage B")

    # A delete dialog closed with Cancel (or ×) leaves the page: the next swaps do not bring it back.
    menu(page, "Stage A", "Delete…")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("#wi-dialog dialog")).to_have_count(0)
    menu(page, "Stage A", "Delete…")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    expect(page.locator("#wi-dialog dialog")).to_have_count(0)

    # A status action in the detail panel (the workflow panel) updates the row too.
    page.locator("#wi-panel").get_by_role("button", name="Mark at risk").click()
    expect(cell(page, "Stage B", "wi-status")).to_have_text("at risk")
    expect(page.get_by_role("dialog")).to_have_count(0)

    # Delete Stage A after the confirmation that states the count; the project's allocation frees up.
    menu(page, "Stage A", "Delete…")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("This deletes this one item.")
    dialog.get_by_role("button", name="Delete 1 item").click()
    expect(row(page, "Stage A")).to_have_count(0)
    expect(cell(page, "E2E road project", "unallocated")).to_have_text("₱ 1,000.00")
    expect(stat(page, "Unallocated")).to_have_text("₱ 1,000.00")
    expect(page.locator("#wi-panel h2[id^=wi-detail-title]")).to_contain_text("Stage B")
    expect(page.locator("#errors")).to_be_empty()
    assert script_errors == []
