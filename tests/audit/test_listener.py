import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from obcms.audit.context import acting_as, audit_cause
from obcms.audit.models import AuditEntry
from obcms.audit.recording import record_bulk_change
from obcms.auth import services
from obcms.extensions import db
from obcms.workflow import bump_version
from tests.workflow.gadgets import Gadget


def entries(object_type, object_id, action=None):
    stmt = sa.select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return db.session.scalars(stmt.order_by(AuditEntry.id)).all()


def test_create_records_one_row_per_field_with_a_value():
    org = services.create_organization("Bangsamoro Youth Commission", "BYC", "moa", "byc@example.gov.ph")
    rows = entries("organization", org.id)
    assert {r.field: (r.old_value, r.new_value) for r in rows} == {
        "id": (None, str(org.id)), "name": (None, "Bangsamoro Youth Commission"), "acronym": (None, "BYC"),
        "kind": (None, "moa"), "contact_email": (None, "[email]"), "is_active": (None, "true")}
    assert {r.action for r in rows} == {"create"}
    assert {r.object_version for r in rows} == {1}
    assert {r.actor_label for r in rows} == {"system"}


def test_update_records_exactly_the_changed_fields(organizations):
    org = organizations["MOH"]
    services.update_organization(org, name="Ministry of Health (BARMM)", acronym="MOH", kind="moa",
                                 contact_email=None, is_active=True)
    rows = entries("organization", org.id, "update")
    assert [(r.field, r.old_value, r.new_value, r.object_version) for r in rows] == [
        ("name", "Ministry of Health", "Ministry of Health (BARMM)", 2)]


def test_secrets_never_recorded_and_personal_columns_redacted(users):
    user = users["viewer"]
    services.set_password(user, "a-brand-new-password")
    services.update_user(user, email="new.viewer@example.gov.ph", full_name="Call 0917 123 4567",
                         role="viewer", organization=user.organization, is_active=True)
    rows = entries("user", user.id, "update")
    assert {r.field for r in rows} == {"email", "full_name"}
    by_field = {r.field: r for r in rows}
    assert (by_field["email"].old_value, by_field["email"].new_value) == ("[redacted]", "[redacted]")
    assert by_field["full_name"].new_value == "Call [phone]"
    everything = db.session.scalars(sa.select(AuditEntry.old_value).union_all(
        sa.select(AuditEntry.new_value))).all()
    assert not any(value and value.startswith("$argon2") for value in everything)
    assert not any(value == user.session_token for value in everything)


def test_delete_records_the_values_it_had(gadget_tables):
    gadget = Gadget(name="Generator", amount=Decimal("1500.50"))
    db.session.add(gadget)
    db.session.commit()
    gadget_id = gadget.id
    db.session.delete(gadget)  # expired by the commit: the listener loads it before it goes
    db.session.flush()
    rows = entries("gadget", gadget_id, "delete")
    assert {r.field: (r.old_value, r.new_value) for r in rows} == {
        "id": (str(gadget_id), None), "name": ("Generator", None), "amount": ("1500.50", None),
        "status": ("draft", None)}


def test_values_are_serialized_exactly(make_gadget):
    gadget = make_gadget(amount=Decimal("1234567.80"), due=dt.date(2026, 11, 26), owner_phone="0917-123-4567",
                         api_token="s3cr3t")
    gadget.done_at = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    db.session.flush()
    values = {r.field: r.new_value for r in entries("gadget", gadget.id)}
    assert values["amount"] == "1234567.80"
    assert values["due"] == "2026-11-26"
    assert values["done_at"] == "2026-11-26T00:30:00+00:00"
    assert values["owner_phone"] == "[redacted]"
    assert "api_token" not in values


def test_expired_object_still_records_the_old_value(organizations):
    org = organizations["BPDA"]
    db.session.commit()  # expires everything
    org.acronym = "BPDA2"
    db.session.flush()
    [row] = entries("organization", org.id, "update")
    assert (row.old_value, row.new_value) == ("BPDA", "BPDA2")


def test_job_actor_and_cause(organizations):
    with acting_as("job:sync_ppa_progress"), audit_cause("roll-up from child #123"):
        organizations["MFBM"].is_active = False
        db.session.flush()
    [row] = entries("organization", organizations["MFBM"].id, "update")
    assert (row.actor_label, row.actor_user_id, row.cause) == ("job:sync_ppa_progress", None,
                                                                "roll-up from child #123")


def test_record_bulk_change_writes_one_insert(make_gadget, count_queries):
    a, b = make_gadget(name="A"), make_gadget(name="B")
    with audit_cause("roll-up from child #9"), count_queries() as q:
        db.session.execute(sa.update(Gadget).where(Gadget.id.in_([a.id, b.id]))
                           .values(bump_version({"notes": "rolled"}, Gadget)))
        written = record_bulk_change(Gadget, {a.id: {"notes": (None, "rolled"), "api_token": ("x", "y")},
                                              b.id: {"notes": (None, "rolled"), "name": ("B", "B")}},
                                     versions={a.id: 2, b.id: 2})
    assert written == 2
    assert q.count == 2  # the UPDATE and one INSERT
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.cause == "roll-up from child #9")).all()
    assert sorted((r.object_id, r.field, r.object_version) for r in rows) == [(a.id, "notes", 2), (b.id, "notes", 2)]
    db.session.refresh(a)
    assert a.version == 2


def test_client_ip_trusts_forwarded_for_only_behind_a_configured_proxy(app):
    from obcms.audit.context import client_ip

    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}
    with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}):
        assert client_ip() == "10.0.0.2"
    app.config["TRUSTED_PROXIES"] = 1
    try:
        with app.test_request_context(headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}):
            assert client_ip() == "203.0.113.9"  # the hop our proxy saw; 6.6.6.6 was client-supplied
    finally:
        app.config["TRUSTED_PROXIES"] = 0


def test_changes_made_by_a_job_carry_the_job_as_actor(monkeypatch, organizations, users):
    from obcms.jobqueue import JOBS, enqueue

    org_id = organizations["BPDA"].id

    def rename(run, title):
        org = db.session.get(type(organizations["BPDA"]), org_id)
        org.name = title
        db.session.flush()
        return {"renamed": 1}

    rename.transient_errors = ()
    monkeypatch.setitem(JOBS, "rename_org", rename)
    enqueue("rename_org", requested_by=users["admin"], title="Planning Authority (renamed by a job)")
    db.session.commit()
    db.session.expire_all()
    [row] = entries("organization", org_id, "update")
    assert (row.field, row.new_value, row.actor_label, row.actor_user_id) == (
        "name", "Planning Authority (renamed by a job)", "job:rename_org", None)


def test_a_role_change_through_the_admin_console_is_one_row(client_as, csrf_token, users):
    user = users["viewer"]
    client = client_as("admin")
    response = client.post(f"/admin/user/edit/?id={user.id}", data={
        "csrf_token": csrf_token(client), "email": user.email, "full_name": user.full_name, "role": "moa_staff",
        "organization": str(user.organization_id), "is_active": "y", "password": "", "version": str(user.version)})
    assert response.status_code == 302
    db.session.expire_all()
    rows = entries("user", user.id, "update")
    assert [(r.field, r.old_value, r.new_value, r.actor_label) for r in rows] == [
        ("role", "viewer", "moa_staff", "admin")]


def test_history_fragment_runs_a_constant_number_of_queries(client_as, organizations, count_queries):
    for name in ("One", "Two", "Three"):
        organizations["OOBC"].name = name
        db.session.flush()
    db.session.commit()
    client = client_as("admin")
    with count_queries() as q:
        html = client.get(f"/audit/history/organization/{organizations['OOBC'].id}").get_data(as_text=True)
    assert "Three" in html and q.count <= 2  # the user, the entries
