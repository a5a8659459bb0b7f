"""Two people edit the same work item in two browsers: the second save shows the conflict panel under the row,
the form that comes back keeps the first person's title, and "Apply mine again" lands the second person's
priority on top — nothing of either is lost."""
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.workitems import services
from obcms.workitems.models import WorkItem

from .test_tree_view import menu, row


def own_tree(live_server):
    """A tree of this test's own in MBHTE (out of the other browser tests' way)."""
    with live_server.app.app_context(), acting_as("test:setup"):
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        org = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MBHTE"))
        ids = services.build_tree([{"title": "E2E conflict project", "work_type": "project", "children": [
            {"title": "E2E conflict task", "work_type": "task"}]}], staff, organization_id=org.id)
        db.session.commit()
        return ids


def saved(live_server, item_id):
    with live_server.app.app_context():
        item = db.session.get(WorkItem, item_id)
        return item.title, item.priority


def test_a_work_item_edit_conflict_keeps_both_changes(signed_in_page, live_server):
    root_id, task_id = own_tree(live_server)
    first, second = signed_in_page("staff"), signed_in_page("executive")
    for page in (first, second):
        page.goto(f"/work-items/{root_id}")
        menu(page, "E2E conflict task", "Edit")
        expect(page.locator("tr.wi-form-row form")).to_be_visible()

    form = first.locator("tr.wi-form-row form")
    form.get_by_label("Title").fill("E2E conflict task, surveyed")
    form.get_by_role("button", name="Save").click()
    expect(row(first, "E2E conflict task, surveyed")).to_be_visible()

    form = second.locator("tr.wi-form-row form")
    form.get_by_label("Priority").select_option("high")
    form.get_by_role("button", name="Save").click()
    panel = second.locator(".conflict-panel")
    expect(panel).to_contain_text("Someone changed this first")
    expect(panel).to_contain_text("E2E conflict task, surveyed")
    expect(panel).to_contain_text("you left it alone: theirs is kept")
    expect(second.locator("tr.wi-form-row").get_by_label("Title")).to_have_value("E2E conflict task, surveyed")
    assert saved(live_server, task_id) == ("E2E conflict task, surveyed", "medium")

    panel.get_by_role("button", name="Apply mine again").click()
    expect(second.locator(".conflict-panel")).to_have_count(0)
    expect(row(second, "E2E conflict task, surveyed")).to_be_visible()
    assert saved(live_server, task_id) == ("E2E conflict task, surveyed", "high")
