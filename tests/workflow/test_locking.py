import re
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from config import TestingConfig
from obcms import create_app
from obcms.audit.context import acting_as
from obcms.auth import services
from obcms.auth.models import Organization
from obcms.errors import Conflict, ValidationFailed
from obcms.extensions import db
from obcms.workflow import bump_version, versioned_update
from tests.databases import create_database, drop_database
from tests.workflow.gadgets import Gadget


def test_versioned_update_applies_on_the_current_version(make_gadget):
    gadget = make_gadget()
    versioned_update(gadget, "1", {"name": "Solar pump", "amount": Decimal("99.50")})
    assert (gadget.name, gadget.version) == ("Solar pump", 2)


def test_a_stale_version_is_a_conflict_listing_what_changed(make_gadget):
    gadget = make_gadget(notes="first")
    with acting_as("cli:alice"):
        versioned_update(gadget, 1, {"notes": "alice's notes"})
    with pytest.raises(Conflict) as caught:
        versioned_update(gadget, 1, {"notes": "bob's notes", "name": "Bob's name"})
    problem = caught.value.problem()
    assert (problem["error"], problem["your_version"], problem["current_version"]) == ("conflict", 1, 2)
    assert problem["changed_fields"] == {"notes": {"current": "alice's notes", "yours": "bob's notes",
                                                   "yours_changed": True, "by": "cli:alice",
                                                   "at": problem["changed_fields"]["notes"]["at"]}}
    assert gadget.notes == "alice's notes" and gadget.name == "Water pump"


def test_a_missing_version_is_refused(make_gadget):
    with pytest.raises(ValidationFailed) as caught:
        versioned_update(make_gadget(), None, {"name": "x"})
    assert list(caught.value.errors) == ["version"]


def test_bump_version_in_a_set_based_update(make_gadget):
    gadget = make_gadget()
    db.session.execute(sa.update(Gadget).where(Gadget.id == gadget.id).values(bump_version({"notes": "bulk"}, Gadget)))
    assert gadget.version == 2  # the session's copy follows (synchronize_session evaluates version + 1)
    gadget.name = "After the bulk update"
    db.session.flush()  # no StaleDataError: the in-session version matches the row
    assert gadget.version == 3


def test_stale_data_error_answers_409(app):
    with app.test_request_context(headers={"Accept": "application/json"}):
        response = app.make_response(app.handle_user_exception(StaleDataError("stale")))
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"


def _edit_form(client, org_id):
    html = client.get(f"/admin/organization/edit/?id={org_id}").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', html)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return int(version.group(1) or version.group(2)), token


def test_two_admins_edit_the_same_organization(app, client_as, organizations, users):
    """The second save answers 409 with the conflict panel, and nothing of the first is lost."""
    from tests.conftest import TEST_PASSWORD, sign_in

    second = services.create_user("admin2", "admin2@example.gov.ph", TEST_PASSWORD, "admin", organizations["OOBC"])
    db.session.commit()
    org = organizations["MOH"]
    alice, bob = client_as("admin"), sign_in(app.test_client(), second)
    alice_version, alice_token = _edit_form(alice, org.id)
    bob_version, bob_token = _edit_form(bob, org.id)
    assert alice_version == bob_version == org.version

    form = {"name": "Ministry of Health", "acronym": "MOH", "kind": "moa", "contact_email": "", "is_active": "y"}
    first = alice.post(f"/admin/organization/edit/?id={org.id}",
                       data={**form, "name": "Ministry of Health - BARMM", "csrf_token": alice_token,
                             "version": alice_version})
    assert first.status_code == 302
    second_save = bob.post(f"/admin/organization/edit/?id={org.id}",
                           data={**form, "contact_email": "moh@example.gov.ph", "csrf_token": bob_token,
                                 "version": bob_version})
    assert second_save.status_code == 409
    html = second_save.get_data(as_text=True)
    assert "Someone changed this first" in html and "Ministry of Health - BARMM" in html and "Apply mine again" in html
    resubmit = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    assert resubmit["version"] == str(alice_version + 1)  # re-applying goes onto the fresh version
    assert resubmit["name"] == "Ministry of Health - BARMM"  # bob left the name alone: alice's is kept
    assert resubmit["contact_email"] == "moh@example.gov.ph"

    db.session.expire_all()
    saved = db.session.get(Organization, org.id)
    assert (saved.name, saved.contact_email, saved.version) == ("Ministry of Health - BARMM", None, alice_version + 1)

    again = bob.post(f"/admin/organization/edit/?id={org.id}", data=resubmit)  # "Apply mine again"
    assert again.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Organization, org.id)
    assert (saved.name, saved.contact_email) == ("Ministry of Health - BARMM", "moh@example.gov.ph")


def test_two_admins_json_conflict_body(client_as, organizations, csrf_token):
    org = organizations["MFBM"]
    services.update_organization(org, name="MFBM (renamed)", acronym="MFBM", kind="oversight", contact_email=None)
    db.session.commit()
    client = client_as("admin")
    response = client.post(f"/admin/organization/edit/?id={org.id}", headers={"Accept": "application/json"}, data={
        "csrf_token": csrf_token(client), "name": "Mine", "acronym": "MFBM", "kind": "oversight",
        "contact_email": "", "is_active": "y", "version": "1"})
    body = response.get_json()
    assert response.status_code == 409
    assert {k: body[k] for k in ("error", "your_version", "current_version")} == {
        "error": "conflict", "your_version": 1, "current_version": 2}
    assert body["changed_fields"]["name"]["current"] == "MFBM (renamed)" and body["changed_fields"]["name"]["yours"] == "Mine"
    assert "detail" in body


@pytest.mark.committed
@pytest.mark.postgres
def test_racing_saves_on_postgresql_the_second_waits_then_conflicts():
    url = create_database("obcms_locking")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    results = {}
    try:
        with app.app_context():
            db.create_all()
            org_id = services.create_organization("Race Org", "RACE", "moa").id
            db.session.commit()

        def save(who, changes, hold):
            with app.app_context(), acting_as(f"cli:{who}"):
                org = db.session.get(Organization, org_id)
                try:
                    versioned_update(org, 1, changes)
                    time.sleep(hold)
                    db.session.commit()
                    results[who] = "saved"
                except Conflict as error:
                    db.session.rollback()
                    results[who] = error.problem()

        alice = threading.Thread(target=save, args=("alice", {"name": "Alice's name"}, 0.5))
        alice.start()
        time.sleep(0.2)  # alice holds the row lock now
        bob = threading.Thread(target=save, args=("bob", {"acronym": "BOB"}, 0))
        bob.start()
        alice.join(10)
        bob.join(10)
        assert results["alice"] == "saved"
        assert results["bob"]["current_version"] == 2 and results["bob"]["changed_fields"]["name"]["by"] == "cli:alice"
        with app.app_context():
            org = db.session.get(Organization, org_id)
            assert (org.name, org.acronym, org.version) == ("Alice's name", "RACE", 2)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)


def test_an_htmx_stale_save_gets_the_panel_in_the_errors_region(client_as, organizations, csrf_token):
    org = organizations["BPDA"]
    services.update_organization(org, name="BPDA (renamed)", acronym="BPDA", kind="oversight", contact_email=None)
    db.session.commit()
    client = client_as("admin")
    response = client.post(f"/admin/organization/edit/?id={org.id}",
                           headers={"HX-Request": "true", "HX-Target": "org-form"},
                           data={"csrf_token": csrf_token(client), "name": "Mine", "acronym": "BPDA",
                                 "kind": "oversight", "contact_email": "", "is_active": "y", "version": "1"})
    assert response.status_code == 409 and response.headers["HX-Retarget"] == "#errors"
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'hx-target="#org-form"' in html and "BPDA (renamed)" in html
