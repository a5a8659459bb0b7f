"""Two people edit the same organization in two browsers: the second save shows the conflict panel, nothing
of the first is lost, and "Apply mine again" lands the second person's change on top."""
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth.models import Organization
from obcms.extensions import db


def organization(live_server, acronym):
    with live_server.app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.acronym == acronym))
        db.session.expunge(org)
        return org


def test_the_second_save_gets_the_conflict_panel_and_loses_nothing(signed_in_page, live_server):
    org = organization(live_server, "MSSD")
    edit_url = f"/admin/organization/edit/?id={org.id}"
    first, second = signed_in_page("admin"), signed_in_page("admin")
    first.goto(edit_url)
    second.goto(edit_url)

    first.fill("#name", org.name + " (BARMM)")
    first.locator("input[type=submit][value='Save']").click()
    expect(first.locator(".alert, .flash").first).to_be_visible()

    second.fill("#contact_email", "records@mssd.example.gov.ph")
    second.locator("input[type=submit][value='Save']").click()
    panel = second.locator(".conflict-panel")
    expect(panel).to_contain_text("Someone changed this first")
    expect(panel).to_contain_text(org.name + " (BARMM)")
    expect(panel).to_contain_text("you left it alone: theirs is kept")
    assert organization(live_server, "MSSD").name == org.name + " (BARMM)"

    panel.get_by_role("button", name="Apply mine again").click()
    expect(second).not_to_have_url(f"{live_server.url}{edit_url}")
    saved = organization(live_server, "MSSD")
    assert (saved.name, saved.contact_email) == (org.name + " (BARMM)", "records@mssd.example.gov.ph")
    assert saved.version == org.version + 2


def test_keep_theirs_goes_back_to_the_fresh_form(signed_in_page, live_server):
    org = organization(live_server, "MOH")
    edit_url = f"/admin/organization/edit/?id={org.id}"
    first, second = signed_in_page("admin"), signed_in_page("admin")
    first.goto(edit_url)
    second.goto(edit_url)
    first.fill("#acronym", "MOH-B")
    first.locator("input[type=submit][value='Save']").click()
    second.fill("#name", "Ministry of Health, Bangsamoro")
    second.locator("input[type=submit][value='Save']").click()
    second.get_by_role("link", name="Keep theirs").click()
    expect(second.locator("#acronym")).to_have_value("MOH-B")
    assert organization(live_server, "MOH-B").name == org.name
