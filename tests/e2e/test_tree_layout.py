"""The tree fits the screen: at 1280 px with the detail drawer open every cell of a row, its actions button
included, is on screen and not under the drawer, and an inline form is whole; at phone width the table does
not scroll sideways; × and Esc close the drawer and give the focus back to the row."""
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.audit.context import acting_as
from obcms.auth.models import Organization, User
from obcms.extensions import db
from obcms.workitems import services

from .test_tree_view import menu, row

OUTSIDE_OR_COVERED = """(row) => [...row.querySelectorAll('td, td summary')].filter(el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0) return false;  // a column hidden at this width
  if (r.left < 0 || r.right > window.innerWidth) return true;
  const hit = document.elementFromPoint(r.left + r.width / 2, Math.min(r.top + r.height / 2, window.innerHeight - 1));
  return !(hit && (el === hit || el.contains(hit) || hit.contains(el)));
}).map(el => el.className || el.tagName)"""


def layout_tree(live_server):
    with live_server.app.app_context(), acting_as("test:setup"):
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        org = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MOH"))
        ids = services.build_tree([{
            "title": "E2E layout program with a rather long title for the first column", "work_type": "project",
            "children": [{"title": "Layout stage", "work_type": "sub_project", "children": [
                {"title": "Layout activity with a long enough title", "work_type": "activity"}]}]}],
            staff, organization_id=org.id)
        db.session.commit()
        return ids


def test_at_1280_with_the_drawer_open_every_column_and_the_actions_are_in_reach(signed_in_page, live_server):
    root_id, stage_id, activity_id = layout_tree(live_server)
    page = signed_in_page("staff")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/work-items/{root_id}?open={stage_id}")
    row(page, "Layout activity with a long enough title").locator("a.wi-title").click()
    expect(page.locator("#wi-panel h2[id^=wi-detail-title]")).to_contain_text("Layout activity with a long enough title")
    expect(page.locator("#wi-panel h2[id^=wi-detail-title]")).to_be_focused()
    for title in ("Layout stage", "Layout activity with a long enough title"):
        assert row(page, title).evaluate(OUTSIDE_OR_COVERED) == []
    table = page.locator(".wi-table-wrap")
    assert table.evaluate("w => w.scrollWidth <= w.clientWidth")

    menu(page, "Layout stage", "Edit")
    form = page.locator("tr.wi-form-row form")
    expect(form).to_be_visible()
    box = form.bounding_box()
    panel = page.locator("#wi-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= panel["x"]  # whole, and beside the drawer

    page.locator("#wi-panel h2[id^=wi-detail-title]").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#wi-panel .wi-detail")).to_have_count(0)
    expect(row(page, "Layout activity with a long enough title")).to_be_focused()


def test_on_a_phone_the_tree_does_not_scroll_sideways_and_the_drawer_closes(signed_in_page, live_server):
    root_id, stage_id, _ = layout_tree(live_server)
    page = signed_in_page("staff")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/work-items/{root_id}?open={stage_id}")
    assert page.locator(".wi-table-wrap").evaluate("w => w.scrollWidth <= w.clientWidth")
    actions = row(page, "Layout stage").get_by_label("Actions for Layout stage")
    expect(actions).to_be_visible()
    assert row(page, "Layout stage").evaluate(OUTSIDE_OR_COVERED) == []
    row(page, "Layout stage").locator("a.wi-title").click()
    drawer = page.locator("#wi-panel")
    expect(drawer.locator("h2[id^=wi-detail-title]")).to_contain_text("Layout stage")
    drawer.get_by_role("button", name="Close the details of Layout stage").click()
    expect(drawer.locator(".wi-detail")).to_have_count(0)
    expect(row(page, "Layout stage")).to_be_focused()


def test_the_actions_menu_works_from_the_keyboard(signed_in_page, live_server):
    """⋯ opens with Enter; arrow keys move between its items (the tree stays put); Esc closes it and gives the
    focus back to its button."""
    root_id, stage_id, _ = layout_tree(live_server)
    page = signed_in_page("staff")
    page.goto(f"/work-items/{root_id}?open={stage_id}")
    button = row(page, "Layout stage").get_by_label("Actions for Layout stage")
    button.focus()
    page.keyboard.press("Enter")
    items = row(page, "Layout stage").locator("details.menu ul a")
    expect(items.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("End")
    expect(items.last).to_be_focused()
    page.keyboard.press("Escape")
    expect(items.first).to_be_hidden()
    expect(button).to_be_focused()
