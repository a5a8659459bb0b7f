"""The Flask-Admin console: administrators only, and every edit goes through the auth services' rules."""
import re

import pytest
import sqlalchemy as sa

from obcms.auth import services
from obcms.auth.models import ROLES, Organization, User
from obcms.extensions import db

CONSOLE_PAGES = ["/admin/", "/admin/user/", "/admin/organization/", "/admin/jobrun/", "/admin/user/new/"]


def user_named(username):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def user_count():
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def user_form(org=None, **changes):
    data = {"username": "new_moa", "email": "new_moa@example.gov.ph", "full_name": "New Moa", "role": "moa_staff",
            "organization": str(org.id) if org else "__None", "is_active": "y",
            "password": "a-long-enough-password", "version": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(client_as, csrf_token):
    """The admin's client, with post(url, data) adding the CSRF token."""
    client = client_as("admin")
    token = csrf_token(client)

    def post(url, data, **kwargs):
        return client.post(url, data={**data, "csrf_token": token}, **kwargs)

    client.post_form = post
    return client


def edit_form(client, user):
    """The edit form's current values, as the browser would send them back."""
    html = client.get(f"/admin/user/edit/?id={user.id}").get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html).group(1)
    return {"email": user.email, "full_name": user.full_name, "role": user.role,
            "organization": str(user.organization_id) if user.organization_id else "__None",
            "is_active": "y" if user.is_active else None, "password": "", "version": version}


def test_admin_sees_the_console_and_its_lists(admin):
    for url in CONSOLE_PAGES:
        assert admin.get(url).status_code == 200, url
    users_page = admin.get("/admin/user/").get_data(as_text=True)
    assert "moa_staff" in users_page and "other_moa_staff" in users_page
    assert "password_hash" not in users_page and "$argon2" not in users_page
    assert "MSSD" in admin.get("/admin/organization/").get_data(as_text=True)
    assert "Admin console" in admin.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_every_other_role_gets_403(client_as, role):
    client = client_as(role)
    for url in CONSOLE_PAGES:
        assert client.get(url).status_code == 403, url
    assert "Admin console" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_other_roles_cannot_post_to_the_console(client_as, csrf_token, users, role):
    client = client_as(role)
    token = csrf_token(client)
    before = user_count()
    response = client.post("/admin/user/new/", data={**user_form(users["moa_staff"].organization),
                                                      "csrf_token": token})
    assert response.status_code == 403
    response = client.post("/admin/user/action/", data={"action": "deactivate", "rowid": users["viewer"].id,
                                                        "csrf_token": token})
    assert response.status_code == 403
    assert user_count() == before and user_named("viewer").is_active


def test_admin_creates_a_user(admin, organizations):
    response = admin.post_form("/admin/user/new/", user_form(organizations["MSSD"]))
    assert response.status_code == 302
    user = user_named("new_moa")
    assert user.role == "moa_staff" and user.organization.acronym == "MSSD" and user.is_active
    assert user.password_hash.startswith("$argon2id$")
    assert services.authenticate("new_moa", "a-long-enough-password") == user


def test_create_without_csrf_token_is_refused(client_as, organizations):
    before = user_count()
    response = client_as("admin").post("/admin/user/new/", data=user_form(organizations["MSSD"]))
    assert response.status_code == 400
    assert user_count() == before


@pytest.mark.parametrize("changes, message", [
    ({"username": "moa_staff"}, "This username is already taken."),
    ({"email": "VIEWER@example.gov.ph"}, "This email is already taken."),
    ({"organization": "__None"}, "This role needs an organization."),
    ({"organization": "OOBC"}, "A moa staff must belong to an organization of kind moa."),
    ({"password": "short"}, "Use at least"),
    ({"username": "a b"}, "letters, digits, dots, dashes or underscores"),
])
def test_service_validation_errors_are_shown_and_nothing_is_written(admin, organizations, changes, message):
    if changes.get("organization") == "OOBC":
        changes = {**changes, "organization": str(organizations["OOBC"].id)}
    before = user_count()
    response = admin.post_form("/admin/user/new/", user_form(organizations["MSSD"], **changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert user_count() == before


def test_admin_changes_role_and_organization(admin, users, organizations):
    user = users["viewer"]
    data = edit_form(admin, user)
    data.update(role="moa_staff", organization=str(organizations["MOH"].id))
    response = admin.post_form(f"/admin/user/edit/?id={user.id}", data)
    assert response.status_code == 302
    user = user_named("viewer")
    assert user.role == "moa_staff" and user.organization.acronym == "MOH" and user.version == 2


def test_edit_that_breaks_a_rule_is_refused(admin, users, organizations):
    user = users["viewer"]
    data = edit_form(admin, user)
    data.update(role="moa_staff", organization=str(organizations["MFBM"].id))
    response = admin.post_form(f"/admin/user/edit/?id={user.id}", data)
    assert response.status_code == 200
    assert "must belong to an organization of kind moa" in response.get_data(as_text=True)
    user = user_named("viewer")
    assert user.role == "viewer" and user.organization.acronym == "MSSD" and user.version == 1


def test_stale_version_in_the_edit_form_is_refused(admin, users):
    user = users["oobc_staff"]
    data = edit_form(admin, user)
    services.update_user(user, email=user.email, full_name="Changed Meanwhile", role=user.role,
                         organization=user.organization, is_active=True)
    db.session.commit()
    data.update(full_name="My Change")
    response = admin.post_form(f"/admin/user/edit/?id={user.id}", data)
    assert response.status_code == 409  # the conflict panel: their value, yours, apply mine again
    html = response.get_data(as_text=True)
    assert "Someone changed this first" in html and "Changed Meanwhile" in html and "My Change" in html
    assert user_named("oobc_staff").full_name == "Changed Meanwhile"


def test_edit_with_a_new_password_sets_it(admin, users):
    user = users["bpda_planner"]
    data = edit_form(admin, user)
    data.update(password="another-long-password")
    assert admin.post_form(f"/admin/user/edit/?id={user.id}", data).status_code == 302
    db.session.expire_all()
    assert services.authenticate("bpda_planner", "another-long-password") is not None


def test_reset_password_action_shows_a_new_password_once(admin, users, client_as):
    victim = client_as("moa_staff")
    assert victim.get("/").status_code == 200
    response = admin.post_form("/admin/user/action/", {"action": "reset_password", "rowid": users["moa_staff"].id})
    assert response.status_code == 200  # shown on this response, not flashed through the session cookie
    page = response.get_data(as_text=True)
    password = re.search(r"New password for moa_staff: (\S+) \(shown once", page).group(1)
    with admin.session_transaction() as session:
        assert password not in str(dict(session))  # the session cookie is signed, not encrypted
    assert password not in admin.get("/admin/user/").get_data(as_text=True)  # not again
    db.session.expire_all()
    assert services.authenticate("moa_staff", password) is not None
    assert victim.get("/").status_code == 302  # signed out everywhere


def test_deactivate_action(admin, users, client_as):
    victim = client_as("viewer")
    response = admin.post_form("/admin/user/action/", {"action": "deactivate", "rowid": users["viewer"].id},
                               follow_redirects=True)
    assert "Deactivated 1 user(s)." in response.get_data(as_text=True)
    assert not user_named("viewer").is_active
    assert victim.get("/").status_code == 302


def test_the_last_active_admin_cannot_be_deactivated(admin, users):
    response = admin.post_form("/admin/user/action/", {"action": "deactivate", "rowid": users["admin"].id},
                               follow_redirects=True)
    assert "This is the last active administrator." in response.get_data(as_text=True)
    assert user_named("admin").is_active


def test_the_last_active_admin_cannot_lose_the_role(admin, users):
    user = users["admin"]
    data = edit_form(admin, user)
    data.update(role="oobc_staff")
    response = admin.post_form(f"/admin/user/edit/?id={user.id}", data)
    assert "This is the last active administrator." in response.get_data(as_text=True)
    assert user_named("admin").role == "admin"


def test_admin_creates_and_edits_an_organization(admin):
    response = admin.post_form("/admin/organization/new/", {"name": "Ministry of the Interior and Local Government",
                                                            "acronym": "MILG", "kind": "moa", "is_active": "y",
                                                            "contact_email": "", "version": ""})
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organization).where(Organization.acronym == "MILG"))
    response = admin.post_form(f"/admin/organization/edit/?id={org.id}", {
        "name": org.name, "acronym": "MILG", "kind": "nga", "contact_email": "milg@example.gov.ph",
        "is_active": "y", "version": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (org.kind, org.contact_email, org.version) == ("nga", "milg@example.gov.ph", 2)


def test_duplicate_organization_acronym_is_refused(admin):
    response = admin.post_form("/admin/organization/new/", {"name": "Another", "acronym": "mssd", "kind": "moa",
                                                            "is_active": "y", "version": ""})
    assert response.status_code == 200
    assert "This acronym is already taken." in response.get_data(as_text=True)


def test_job_runs_are_read_only(admin):
    assert admin.get("/admin/jobrun/new/").status_code == 302  # Flask-Admin sends disabled views back to the list
    assert admin.get("/admin/jobrun/edit/?id=1").status_code == 302


def test_nothing_can_be_deleted_from_the_console(admin, users):
    admin.post_form("/admin/user/action/", {"action": "delete", "rowid": users["viewer"].id})
    admin.post_form("/admin/user/delete/", {"id": users["viewer"].id})
    assert user_named("viewer") is not None


def test_the_console_shows_local_times_to_the_minute(admin):
    from datetime import UTC, datetime

    from obcms.jobqueue.models import JobRun

    run = JobRun(name="ping", arguments={}, status="succeeded", requested_by_label="system",
                 queued_at=datetime(2026, 3, 4, 1, 30, 15, 123456, tzinfo=UTC))
    db.session.add(run)
    db.session.commit()
    html = admin.get("/admin/jobrun/").get_data(as_text=True)
    assert "4 Mar 2026 09:30" in html and "123456" not in html and "01:30:15" not in html
    assert "4 Mar 2026 09:30" in admin.get(f"/admin/jobrun/details/?id={run.id}").get_data(as_text=True)
