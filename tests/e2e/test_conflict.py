"""Two people edit the same organization in two browsers: the second save shows the conflict panel, nothing
of the first is lost, and "Apply mine again" lands the second person's change on top."""
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth import services
from obcms.auth.models import Organization
from obcms.extensions import db


def organization(live_server, acronym):
    with live_server.app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.acronym == acronym))
        db.session.expunge(org)
        return org


def own_organization(live_server, acronym, name):
    """An organization of this test's own, so the shared live database keeps the demo ones as they were."""
    with live_server.app.app_context():
        services.create_organization(name, acronym, "moa", f"{acronym.lower()}@example.gov.ph")
        db.session.commit()
    return organization(live_server, acronym)


def test_the_second_save_gets_the_conflict_panel_and_loses_nothing(signed_in_page, live_server):
    org = own_organization(live_server, "E2E-ONE", "E2E Ministry One")
    edit_url = f"/admin/organization/edit/?id={org.id}"
    first, second = signed_in_page("admin"), signed_in_page("admin")
    first.goto(edit_url)
    second.goto(edit_url)

    first.fill("#name", org.name + " (BARMM)")
    first.locator("input[type=submit][value='Save']").click()
    expect(first.locator(".alert, .flash").first).to_be_visible()

    second.fill("#contact_email", "records@e2e-one.example.gov.ph")
    second.locator("input[type=submit][value='Save']").click()
    panel = second.locator(".conflict-panel")
    expect(panel).to_contain_text("Someone changed this first")
    expect(panel).to_contain_text(org.name + " (BARMM)")
    expect(panel).to_contain_text("you left it alone: theirs is kept")
    assert organization(live_server, "E2E-ONE").name == org.name + " (BARMM)"

    panel.get_by_role("button", name="Apply mine again").click()
    expect(second).not_to_have_url(f"{live_server.url}{edit_url}")
    saved = organization(live_server, "E2E-ONE")
    assert (saved.name, saved.contact_email) == (org.name + " (BARMM)", "records@e2e-one.example.gov.ph")
    assert saved.version == org.version + 2


def test_keep_theirs_goes_back_to_the_fresh_form(signed_in_page, live_server):
    org = own_organization(live_server, "E2E-TWO", "E2E Ministry Two")
    edit_url = f"/admin/organization/edit/?id={org.id}"
    first, second = signed_in_page("admin"), signed_in_page("admin")
    first.goto(edit_url)
    second.goto(edit_url)
    first.fill("#acronym", "E2E-TWO-B")
    first.locator("input[type=submit][value='Save']").click()
    second.fill("#name", "E2E Ministry Two, Bangsamoro")
    second.locator("input[type=submit][value='Save']").click()
    second.get_by_role("link", name="Keep theirs").click()
    expect(second.locator("#acronym")).to_have_value("E2E-TWO-B")
    assert organization(live_server, "E2E-TWO-B").name == org.name
