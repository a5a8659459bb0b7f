"""Numbers beyond a column's range, ids that are no number, and text longer than its column: a 4xx with a
message, nothing written — never a 500 (the database would refuse them)."""
import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.auth.models import Organization, User
from obcms.extensions import db

from .admin.test_admin_console import edit_form, user_count, user_form

TOO_BIG = ("2147483648", "9" * 30)


@pytest.fixture
def admin(client_as, csrf_token):
    client = client_as("admin")
    token = csrf_token(client)
    client.post_form = lambda url, data, **kw: client.post(url, data={**data, "csrf_token": token}, **kw)
    return client


def audit_count():
    return db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))


@pytest.mark.parametrize("url", ["/admin/user/details/?id=abc", "/admin/user/edit/?id=abc",
                                 "/admin/user/edit/?id=99999999999", "/admin/organization/edit/?id=abc"])
def test_admin_pages_with_ids_that_are_no_id(admin, url):
    assert admin.get(url).status_code < 500


def test_admin_action_with_row_ids_that_are_no_id(admin):
    response = admin.post_form("/admin/user/action/", {"action": "delete", "rowid": "abc"})
    assert response.status_code < 500


@pytest.mark.parametrize("value", TOO_BIG)
def test_admin_edit_with_a_version_beyond_the_column(admin, users, value):
    data = edit_form(admin, users["viewer"])
    data.update(full_name="Changed", version=value)
    response = admin.post_form(f"/admin/user/edit/?id={users['viewer'].id}", data)
    assert response.status_code < 500
    db.session.expire_all()
    assert db.session.get(User, users["viewer"].id).full_name != "Changed"


@pytest.mark.parametrize("changes", [{"full_name": "F" * 300}, {"email": "e" * 290 + "@example.gov.ph"},
                                     {"username": "u" * 200}])
def test_admin_user_fields_longer_than_their_columns(admin, organizations, changes):
    before = user_count()
    response = admin.post_form("/admin/user/new/", user_form(organizations["MSSD"], **changes))
    assert response.status_code < 500
    assert user_count() == before


def test_an_organization_name_longer_than_its_column(admin):
    before = db.session.scalar(sa.select(sa.func.count(Organization.id)))
    response = admin.post_form("/admin/organization/new/", {"name": "N" * 201, "acronym": "LONG", "kind": "moa"})
    assert response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == before


@pytest.mark.parametrize("args", [{"date_to": "9999-12-31"}, {"date_from": "0001-01-01"},
                                  {"date_from": "9999-12-31", "date_to": "9999-12-31"}])
def test_the_audit_log_with_dates_at_the_ends_of_the_calendar(admin, args):
    assert admin.get("/audit", query_string=args).status_code < 500
    export = admin.get("/audit/export.csv", query_string=args, buffered=True)
    assert export.status_code < 500 and export.get_data(as_text=True).startswith("at,")  # streamed to the end
