"""My tasks in a real browser: a task assigned to me appears in its due-date group, Start by keyboard, then
Complete on the board; at phone width nothing scrolls sideways. Leaves screenshots to look at."""
import os
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.workitems import services

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))
SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


def _assign(live_server, username, title, due):
    with live_server.app.app_context(), acting_as("test:setup"):
        user = db.session.scalar(sa.select(User).where(User.username == username))
        organization = db.session.get(Organization, user.organization_id)
        item = services.create_work_item(None, user, assignees=[user], title=title, work_type="task",
                                         due_date=due, organization_id=organization.id, priority="high")
        db.session.commit()
        return item.id


def test_start_by_keyboard_and_complete_on_the_board(signed_in_page, live_server):
    _assign(live_server, "staff", "E2E prepare the venue", date.today() + timedelta(days=2))
    _assign(live_server, "staff", "E2E overdue report", date.today() - timedelta(days=1))
    page = signed_in_page("staff")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.get_by_role("link", name="My tasks", exact=True).click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    expect(page.get_by_role("heading", name="Overdue (1)")).to_be_visible()
    expect(page.locator("li.task-row", has_text="E2E prepare the venue")).to_contain_text("high")

    start = page.get_by_role("button", name="Start: E2E prepare the venue")
    start.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("in progress")
    expect(page.locator("li.task-row", has_text="E2E prepare the venue")).to_contain_text("in progress")
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-desktop.png"), full_page=True)

    page.get_by_role("link", name="Board", exact=True).click()
    column = page.locator("section.board-column", has=page.get_by_role("heading", name="In progress (1)"))
    expect(column).to_contain_text("E2E prepare the venue")
    complete = page.get_by_role("button", name="Complete: E2E prepare the venue")
    complete.focus()
    page.keyboard.press("Enter")
    done = page.locator("section.board-column", has=page.get_by_role("heading", name="Completed (1)"))
    expect(done).to_contain_text("E2E prepare the venue")
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-board-desktop.png"), full_page=True)

    page.get_by_role("link", name="List", exact=True).click()
    overdue = page.locator("li.task-row", has_text="E2E overdue report")
    overdue.get_by_label("More actions: E2E overdue report").click()
    page.get_by_role("button", name="Snooze the reminder of E2E overdue report for 3 days").click()
    expect(page.locator("#toasts")).to_contain_text("Reminders of “E2E overdue report” snoozed until")
    expect(page.locator("li.task-row", has_text="E2E overdue report")).to_contain_text("snoozed until")

    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    page.locator("#results").get_by_role("link", name="Amina Administrator").click()
    expect(page.get_by_role("heading", name="Tasks of Amina Administrator")).to_be_visible()
    page.goto("/tasks/team")
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-team-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/tasks/team")
    assert not page.evaluate(SIDEWAYS), "the team view scrolls the page sideways at 390 px"
    page.goto("/tasks?view=board")
    assert not page.evaluate(SIDEWAYS), "the board scrolls the page sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-board-phone.png"), full_page=True)
    page.goto("/tasks")
    page.get_by_label("More actions: E2E overdue report").click()  # the menu opens in the row, not beside it
    page.get_by_role("link", name="Reassign: E2E overdue report").click()
    dialog = page.locator("dialog[data-modal]")
    expect(dialog).to_be_visible()
    assert not page.evaluate(SIDEWAYS), "the reassign dialog scrolls the page sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-reassign-phone.png"), full_page=True)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert not page.evaluate(SIDEWAYS), "the list scrolls the page sideways at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "my-tasks-phone.png"), full_page=True)
    assert errors == []
