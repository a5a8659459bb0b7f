"""Search, bulk operations, notifications and the audit log in the API: the pages' services, scoped, refused
where the pages refuse, a constant number of statements."""
import sqlalchemy as sa

from config import TestingConfig
from obcms import create_app
from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.notifications import services as notifications
from obcms.notifications.models import Notification
from obcms.ppas.models import Ppa
from tests.conftest import sign_in

# Search ------------------------------------------------------------------------------------------------------

def test_search_is_scoped_filtered_and_checked(api, bearer, make_ppa, organizations, count_queries):
    ours = make_ppa(title="Seaweed farming kits", code="MSSD-S", implementing_moa_id=organizations["MSSD"].id)
    theirs = make_ppa(title="Seaweed clinics", code="MOH-S", implementing_moa_id=organizations["MOH"].id)
    db.session.commit()
    headers = bearer("moa_staff")
    response = api.get("/api/v1/search?q=seaweed", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(h["kind"], h["id"]) for h in body["items"]] == [("ppa", ours.id)] and body["total"] == 1
    every = api.get("/api/v1/search?q=seaweed&kind=ppa", headers=bearer("oobc_staff")).get_json()
    assert {h["id"] for h in every["items"]} == {ours.id, theirs.id}
    assert api.get("/api/v1/search?q=seaweed&kind=workitem", headers=headers).get_json()["items"] == []
    for query in ("q=" + "x" * 201, "q=a%01b", "kind=secret", "fy=99", "status=nope", "organization=x"):
        refused = api.get(f"/api/v1/search?{query}", headers=headers)
        assert refused.status_code == 422, query
    with count_queries() as counted:
        assert api.get("/api/v1/search?q=farming", headers=headers).status_code == 200
    assert counted.count <= 3, counted.statements


def test_search_counts_against_the_search_limit(database_url, users):
    limited = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                         RATELIMIT_STORAGE_URI="memory://", SEARCH_RATE_LIMIT="2 per minute")
    client = sign_in(limited.test_client(), users["viewer"])
    codes = [client.get(f"/api/v1/search?q=limit{n}").status_code for n in range(2)]
    response = client.get("/api/v1/search?q=limit3")
    assert codes == [200, 200] and response.status_code == 429
    assert response.mimetype == "application/problem+json" and int(response.headers["Retry-After"]) > 0


# Bulk --------------------------------------------------------------------------------------------------------

def test_bulk_plan_then_apply(api, bearer, make_ppa, ready_ppa, organizations):
    ready = ready_ppa(title="Ready one")
    bare = make_ppa(title="Bare one")
    theirs = make_ppa(title="Theirs", implementing_moa_id=organizations["MOH"].id)
    db.session.commit()
    headers = bearer("moa_staff", "write")
    body = {"ids": [ready.id, bare.id, theirs.id], "params": {"transition": "submit"}}
    plan = api.post("/api/v1/bulk/ppa/transition?dry_run=1", json=body, headers=headers)
    assert plan.status_code == 200, plan.get_json()
    items = {item["id"]: item for item in plan.get_json()["items"]}
    assert items[ready.id]["allowed"] and not items[bare.id]["allowed"]
    assert not items[theirs.id]["allowed"] and "Not found" in items[theirs.id]["reason"]
    assert db.session.get(Ppa, ready.id).approval_status == "draft"

    all_or_nothing = api.post("/api/v1/bulk/ppa/transition", json=body, headers=headers).get_json()
    assert all_or_nothing["rolled_back"] is True and all_or_nothing["succeeded"] == 0
    db.session.expire_all()
    assert db.session.get(Ppa, ready.id).approval_status == "draft"
    allowed = api.post("/api/v1/bulk/ppa/transition", json={**body, "mode": "allowed"}, headers=headers)
    assert allowed.status_code == 200
    answer = allowed.get_json()
    assert answer["succeeded_ids"] == [ready.id] and set(answer["failures"]) == {str(bare.id), str(theirs.id)}
    db.session.expire_all()
    assert db.session.get(Ppa, ready.id).approval_status == "technical_review"
    cause = db.session.scalar(sa.select(AuditEntry.cause).where(AuditEntry.object_type == "ppa",
                                                                AuditEntry.object_id == ready.id,
                                                                AuditEntry.cause.like("%bulk %")).limit(1))
    assert f"bulk {answer['operation']}" in cause

    assert api.post("/api/v1/bulk/ppa/transition", json=body, headers=bearer("moa_staff", "read")).status_code == 403
    assert api.post("/api/v1/bulk/ppa/transition", json=body, headers=bearer("viewer", "write")).status_code == 403
    assert api.post("/api/v1/bulk/nope/transition", json=body, headers=headers).status_code == 404
    assert api.post("/api/v1/bulk/ppa/fly", json=body, headers=headers).status_code == 404
    assert api.post("/api/v1/bulk/ppa/assign", json=body, headers=headers).status_code == 422  # a task's action
    assert api.post("/api/v1/bulk/ppa/transition", json={**body, "extra": 1}, headers=headers).status_code == 422
    assert api.post("/api/v1/bulk/ppa/transition", json={**body, "ids": []}, headers=headers).status_code == 422
    assert api.post("/api/v1/bulk/ppa/transition", json={**body, "ids": [ready.id, ready.id]},
                    headers=headers).status_code == 422
    assert api.get("/api/v1/bulk/runs/999999", headers=headers).status_code == 404


# Notifications -----------------------------------------------------------------------------------------------

def test_notifications_list_and_mark_read(api, bearer, users, count_queries):
    notifications.notify([users["moa_staff"].id], "approval", "MSSD-1 was approved", "/ppas/1")
    notifications.notify([users["moa_staff"].id], "progress", "MSSD-2 moved")
    notifications.notify([users["viewer"].id], "approval", "Not yours")
    db.session.commit()
    headers = bearer("moa_staff", "write")
    listed = api.get("/api/v1/notifications", headers=headers).get_json()
    assert listed["unread"] == 2 and {n["message"] for n in listed["items"]} == {"MSSD-1 was approved",
                                                                                  "MSSD-2 moved"}
    first = listed["items"][0]["id"]
    marked = api.post(f"/api/v1/notifications/{first}/read", headers=headers)
    assert marked.status_code == 200 and marked.get_json() == {"marked": 1, "unread": 1}
    assert api.post(f"/api/v1/notifications/{first}/read", headers=headers).get_json()["marked"] == 0
    unread = api.get("/api/v1/notifications?unread=1", headers=headers).get_json()["items"]
    assert [n["id"] for n in unread] != [first] and len(unread) == 1
    theirs = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == users["viewer"].id))
    assert api.post(f"/api/v1/notifications/{theirs}/read", headers=headers).status_code == 404
    assert api.post(f"/api/v1/notifications/{first}/read", headers=bearer("moa_staff", "read")).status_code == 403
    assert api.post("/api/v1/notifications/read-all", headers=headers).get_json()["marked"] == 1
    with count_queries() as counted:
        assert api.get("/api/v1/notifications", headers=headers).status_code == 200
    assert counted.count <= 3, counted.statements


# Audit -------------------------------------------------------------------------------------------------------

def test_the_audit_log_is_for_admins_with_filters_and_pages(api, bearer, make_ppa, count_queries):
    ppa = make_ppa(title="Audited")
    db.session.commit()
    assert api.get("/api/v1/audit", headers=bearer("oobc_executive")).status_code == 403
    assert api.get("/api/v1/audit", headers=bearer("moa_staff")).status_code == 403
    headers = bearer("admin")
    response = api.get(f"/api/v1/audit?object_type=ppa&object_id={ppa.id}&limit=2", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"] and all(e["object_type"] == "ppa" and e["object_id"] == ppa.id for e in body["items"])
    assert body["next"]
    older = api.get(body["next"], headers=headers).get_json()
    assert older["items"] and max(e["id"] for e in older["items"]) < min(e["id"] for e in body["items"])
    for query in ("action=explode", "date_from=9999-12-31", "date_to=2026-13-01", "limit=0", "object_id=x"):
        assert api.get(f"/api/v1/audit?{query}", headers=headers).status_code == 422, query
    with count_queries() as counted:
        assert api.get("/api/v1/audit?limit=200", headers=headers).status_code == 200
    assert counted.count <= 2, counted.statements


def test_a_large_bulk_operation_is_a_job(api, bearer, make_ppa):
    ppa = make_ppa(title="One of many")
    db.session.commit()
    headers = bearer("moa_staff", "write")
    ids = [ppa.id] + list(range(900000, 900000 + 200))  # over the job threshold; the others do not exist
    response = api.post("/api/v1/bulk/ppa/transition", json={"ids": ids, "params": {"transition": "submit"}},
                        headers=headers)
    assert response.status_code == 202, response.get_json()
    run = api.get(response.headers["Location"], headers=headers)
    assert run.status_code == 200
    body = run.get_json()
    assert body["status"] == "succeeded" and body["result"]["rolled_back"] is True, body
    assert api.get(response.headers["Location"], headers=bearer("oobc_staff")).status_code == 404  # not theirs
