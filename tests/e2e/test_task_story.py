"""Tasks from templates end to end in a real browser (issue 12, "Done means"): an MSSD staff member creates a PPA
through the form with task generation on → its `ppa_budget_cycle` tasks (the lead's ones) appear in their My
tasks → tracking is enabled (the task list joins the execution project) → one task is dragged to Completed on the
board → the PPA's progress moved (its page says so). A drag to a column no transition reaches is refused with a
toast and the card stays. Leaves screenshots to look at."""
import os
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.test_ppa_story import _create_ppa, _header_progress

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))
TITLE = "Madrasah feeding for OBC pupils (task story)"
CODE = "MSSD-2026-812"
FIRST = "Formulate PPA budget proposal"  # day 0, high, lead: the creator's


def _enable_minimal_tracking(page):
    page.get_by_role("tab", name="Work Items").click()
    expect(page.get_by_role("heading", name="Enable WorkItem tracking")).to_be_visible()
    expect(page.locator("#ppa-tab")).not_to_have_class(re.compile("htmx-(swapping|settling)"))
    page.get_by_label("Structure template").select_option("minimal")
    expect(page.locator("#tracking-preview")).to_contain_text("Preview: 2 work items")
    page.get_by_role("button", name="Generate 2 work items and enable tracking").click()
    expect(page.get_by_role("heading", name="Execution project")).to_be_visible()


def _card(page, title):
    return page.locator("li.task-card", has=page.get_by_role("link", name=title, exact=True))


def _column(page, status):
    return page.locator(f"section.board-column[data-status='{status}']")


def test_a_new_ppas_budget_cycle_tasks_reach_my_tasks_and_completing_one_moves_the_ppa(signed_in_page, live_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    live_server.app.config["TASK_GENERATION"] = True
    try:
        page = signed_in_page("moa")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        ppa_url = _create_ppa(page, TITLE, CODE)
        expect(_header_progress(page)).to_contain_text("0 %")

        page.get_by_role("link", name="My tasks", exact=True).click()
        page.locator("select[name=ppa]").select_option(label=f"{CODE} — {TITLE}")
        row = page.locator("li.task-row", has=page.get_by_role("link", name=FIRST, exact=True))
        expect(row).to_contain_text(CODE)
        expect(row).to_contain_text("high")
        for title in ("Prepare budget justification", "Submit budget proposal", "Attend technical hearing"):
            expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Review budget alignment", exact=True)).to_have_count(0)  # the reviewer's
        page.screenshot(path=str(SCREENSHOTS / "task-story-my-tasks.png"), full_page=True)

        page.goto(ppa_url)
        _enable_minimal_tracking(page)

        ppa_id = re.search(r"/ppas/(\d+)", ppa_url).group(1)
        page.goto(f"/tasks?view=board&ppa={ppa_id}")
        card = _card(page, FIRST)
        expect(_column(page, "not_started")).to_contain_text(FIRST)
        # Dropped on the column's heading: in view already, so nothing scrolls while the mouse is down.
        card.drag_to(_column(page, "completed"), target_position={"x": 30, "y": 12})
        expect(page.locator("#toasts")).to_contain_text(f"“{FIRST}”: completed.")
        expect(_card(page, FIRST)).to_have_count(1)
        expect(_column(page, "completed")).to_contain_text(FIRST)
        page.screenshot(path=str(SCREENSHOTS / "task-story-board.png"), full_page=True)

        done = _card(page, FIRST)
        done.drag_to(_column(page, "not_started"), target_position={"x": 30, "y": 12})  # nothing leads back to "not started": refused, it stays
        expect(page.locator("#toasts")).to_contain_text("cannot go from completed to not started")
        expect(_column(page, "completed")).to_contain_text(FIRST)
        expect(_column(page, "not_started")).not_to_contain_text(FIRST)

        page.goto(ppa_url)
        # The execution project: the main deliverable (0 %) and the budget cycle (1 of 10 tasks: 10 %) → 5 %.
        expect(_header_progress(page)).to_contain_text("5 %")
        page.screenshot(path=str(SCREENSHOTS / "task-story-ppa.png"), full_page=True)
        assert errors == []
    finally:
        live_server.app.config["TASK_GENERATION"] = False
