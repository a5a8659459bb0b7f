"""Bulk delete in a work-item tree, in a real browser (issue 14): staff open a tree at 390 px, expand it, select
three rows with their boxes (an activity, one of its tasks, and a task elsewhere — Space on a focused row toggles
its box), choose Delete, read the dry run (the task under the selected activity "goes with" it), apply, and read
the summary; the tree reloads without the deleted rows. The bar and the dialog pass an axe-core audit and
nothing scrolls sideways."""
import os
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem

from .test_accessibility import AXE, SERIOUS, SIDEWAYS

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))
TITLE = "Bulk tree story project"


def _tree(live_server):
    """The project (made once per database): two activities of two tasks each. Returns its id."""
    with live_server.app.app_context(), acting_as("test:setup"):
        found = db.session.scalar(sa.select(WorkItem.id).where(WorkItem.title == TITLE, WorkItem.parent_id.is_(None)))
        if found is not None:
            db.session.execute(sa.delete(WorkItem).where(WorkItem.tree_id == found))  # a rerun starts afresh
            db.session.commit()
        staff = db.session.scalar(sa.select(User).where(User.role == "oobc_staff", User.is_active.is_(True)))
        mssd = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MSSD"))
        root = workitems.create_work_item(None, staff, title=TITLE, work_type="project", organization_id=mssd.id)
        for a in ("North", "South"):
            activity = workitems.create_work_item(root, staff, title=f"{a} activity", work_type="activity")
            for t in (1, 2):
                workitems.create_work_item(activity, staff, title=f"{a} task {t}", work_type="task")
        db.session.commit()
        return root.id


def test_select_three_rows_of_a_tree_and_delete_them_with_a_dry_run(signed_in_page, live_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    root_id = _tree(live_server)
    page = signed_in_page("staff")
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.add_init_script(path=str(AXE))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"/work-items/{root_id}")
    bar = page.locator("form#bulk-workitem")
    expect(bar).to_be_hidden()
    page.get_by_role("button", name="Expand all").click()
    expect(page.locator("tr.wi-row")).to_have_count(7)
    page.get_by_label("Select North activity").check()
    page.get_by_label("Select North task 2").check()
    row = page.locator("tr.wi-row", has=page.get_by_label("Select South task 1"))
    row.focus()
    page.keyboard.press("Space")  # the keyboard's way to select a row
    expect(page.get_by_label("Select South task 1")).to_be_checked()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("3 selected on this page")
    bar.get_by_label("Action").select_option("delete")
    problems = page.evaluate(SERIOUS) + page.evaluate(SIDEWAYS)
    page.screenshot(path=str(SCREENSHOTS / "bulk-tree-bar-phone.png"), full_page=True)
    bar.get_by_role("button", name="Review…").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("3 of 3 allowed")
    expect(dialog).to_contain_text("deleted, with the 2 items under it")
    expect(dialog).to_contain_text("goes with “North activity” (selected too)")
    problems += page.evaluate(SERIOUS)
    page.screenshot(path=str(SCREENSHOTS / "bulk-tree-dry-run-phone.png"), full_page=True)
    dialog.get_by_role("button", name="Apply to all 3").click()

    expect(dialog).to_contain_text("3 of 3 done")
    page.screenshot(path=str(SCREENSHOTS / "bulk-tree-result-phone.png"), full_page=True)
    dialog.get_by_role("button", name="Done").click()
    expect(page.locator("tr.wi-row", has_text="North activity")).to_have_count(0)  # the tree reloaded
    expect(page.locator("tr.wi-row", has_text="South activity")).to_have_count(1)
    with live_server.app.app_context():
        left = db.session.scalars(sa.select(WorkItem.title).where(WorkItem.tree_id == root_id)
                                  .order_by(WorkItem.title)).all()
    assert left == [TITLE, "South activity", "South task 2"]
    assert problems == [] and errors == []
