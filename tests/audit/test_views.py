import csv
import io

import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.auth import services
from obcms.extensions import db


def test_audit_log_is_for_auditors_only(client_as):
    assert client_as("oobc_executive").get("/audit").status_code == 403
    assert client_as("viewer").get("/audit/export.csv").status_code == 403


def test_audit_log_lists_and_filters_in_constant_queries(client_as, organizations, count_queries):
    services.update_organization(organizations["MOH"], name="Ministry of Health (BARMM)", acronym="MOH",
                                 kind="moa", contact_email=None, is_active=True)
    db.session.commit()
    client = client_as("admin")
    html = client.get("/audit").get_data(as_text=True)
    assert "Audit log" in html and "Ministry of Health (BARMM)" in html
    with count_queries() as q:
        response = client.get(f"/audit?object_type=organization&object_id={organizations['MOH'].id}&action=update",
                              headers={"HX-Request": "true"})
    assert q.count <= 6  # user, count, the page of events, their rows, the actors' names (+ nothing per row)
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Ministry of Health (BARMM)" in html
    assert "No audit entries" in client.get("/audit?action=delete&object_type=organization").get_data(as_text=True)


def test_audit_log_filters_by_user_and_date(client_as, organizations):
    client = client_as("admin")
    assert "No audit entries" in client.get("/audit?user=nobody").get_data(as_text=True)
    assert "No audit entries" in client.get("/audit?date_to=2000-01-01").get_data(as_text=True)
    assert "No audit entries" not in client.get("/audit?date_from=2000-01-01&user=system").get_data(as_text=True)


def test_csv_export_streams_the_filtered_rows(client_as, organizations):
    services.update_organization(organizations["BPDA"], name="=HYPERLINK(\"x\")", acronym="BPDA",
                                 kind="oversight", contact_email=None, is_active=True)
    db.session.commit()
    response = client_as("admin").get(f"/audit/export.csv?object_type=organization&object_id={organizations['BPDA'].id}"
                                      "&action=update", buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["field"], r["new_value"]) for r in rows] == [("name", "'=HYPERLINK(\"x\")")]


def test_history_fragment(client_as, organizations):
    services.update_organization(organizations["MFBM"], name="MFBM renamed", acronym="MFBM", kind="oversight",
                                 contact_email=None, is_active=True)
    db.session.commit()
    url = f"/audit/history/organization/{organizations['MFBM'].id}"
    html = client_as("admin").get(url).get_data(as_text=True)
    assert "MFBM renamed" in html and "<html" not in html
    assert client_as("oobc_staff").get(url).status_code == 404  # no read permission declared for organizations


def test_navigation_shows_the_audit_log_to_admins_only(client_as):
    assert "Audit log" in client_as("admin").get("/").get_data(as_text=True)
    assert "Audit log" not in client_as("oobc_staff").get("/").get_data(as_text=True)


def test_admin_console_changes_are_audited_with_the_admin_as_actor(client_as, csrf_token, organizations):
    org = organizations["MOH"]
    client = client_as("admin")
    response = client.post(f"/admin/organization/edit/?id={org.id}", data={
        "csrf_token": csrf_token(client), "name": "Ministry of Health", "acronym": "MOH-B", "kind": "moa",
        "contact_email": "", "is_active": "y", "version": str(org.version)})
    assert response.status_code == 302 and "/admin/organization" in response.headers["Location"]
    db.session.expire_all()
    [row] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "organization", AuditEntry.object_id == org.id, AuditEntry.action == "update")).all()
    assert (row.field, row.old_value, row.new_value, row.actor_label) == ("acronym", "MOH", "MOH-B", "admin")
    assert row.actor_user_id is not None and row.request_id and row.ip == "127.0.0.1"
