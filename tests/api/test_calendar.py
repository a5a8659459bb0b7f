"""The calendar in the API: the window (as the JSON feed), events (contract, one occurrence of a series, scope)
and bookings (book, taken time, decisions), with the refusals and the query counts."""
from datetime import datetime

import pytest

from obcms.calendar.models import Booking, CalendarEvent, Resource
from obcms.extensions import db
from tests.calendar.conftest import manila


@pytest.fixture
def world(calendar_world):
    db.session.commit()
    return calendar_world


def body(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_the_window_as_the_feed_gives_it(api, bearer, client_as, world, count_queries):
    url = "/api/v1/calendar?start=2026-12-01&end=2027-01-01"
    headers = bearer("moa_staff")
    api.get(url, headers=headers)
    with count_queries() as counted:
        window = body(api.get(url, headers=headers))
    assert counted.count <= 6  # the token's user and the calendar's four reads
    feed = client_as("moa_staff").get("/calendar/entries.json?start=2026-12-01&end=2027-01-01").get_json()
    assert window["entries"] == feed["entries"] and window["truncated"] is False and window["next"] is None
    titles = {entry["title"] for entry in window["entries"]}
    assert {"Bangsamoro planning summit", "MSSD staff meeting", "Print the forms", "Weekly coordination"} <= titles
    assert "Budget huddle" not in titles
    other = body(api.get(url, headers=bearer("other_moa_staff")))
    assert "MSSD staff meeting" not in {entry["title"] for entry in other["entries"]}
    planning = body(api.get(f"{url}&modules=staff", headers=headers))
    assert {entry["module"] for entry in planning["entries"]} == {"staff"}
    cut = body(api.get(f"{url}&limit=1", headers=headers))
    assert cut["truncated"] and cut["next"] and len(cut["entries"]) <= 1
    for query in ("start=2026-12-01", "start=2026-12-01&end=2028-12-01", "start=x&end=2027-01-01",
                  "start=2026-12-01&end=2027-01-01&modules=weather"):
        refused = api.get(f"/api/v1/calendar?{query}", headers=headers)
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json", query


def test_event_contract_create_read_stale_update_delete(api, bearer, world, count_queries):
    write = bearer("moa_staff", "write")
    with count_queries() as creating:
        created = api.post("/api/v1/events", headers=write, json={
            "title": "Kits hand-over", "start_date": "2026-12-14", "start_time": "09:00", "end_date": "2026-12-14",
            "end_time": "11:30", "location": "Cotabato City", "visibility": "organization"})
    event = body(created, 201)
    assert creating.count <= 6
    url = f"/api/v1/events/{event['id']}"
    assert created.headers["Location"] == url and created.headers["ETag"] == '"1"'
    assert datetime.fromisoformat(event["starts_at"]) == manila(2026, 12, 14, 9)
    assert event["organization_id"] == world.ppa.implementing_moa_id
    with count_queries() as read:
        assert body(api.get(url, headers=write))["title"] == "Kits hand-over"
    assert read.count <= 6
    with count_queries() as patching:
        changed = body(api.patch(url, json={"title": "Kits hand-over (moved)", "start_time": "10:00",
                                            "end_time": "12:00"}, headers={**write, "If-Match": '"1"'}))
    assert patching.count <= 6
    assert changed["title"] == "Kits hand-over (moved)" and changed["location"] == "Cotabato City"
    assert datetime.fromisoformat(changed["starts_at"]) == manila(2026, 12, 14, 10) and changed["version"] == 2
    stale = api.patch(url, json={"location": "Davao", "version": 1}, headers=write)
    assert stale.status_code == 409 and "title" in stale.get_json()["changed_fields"]
    assert api.delete(url, headers={**write, "If-Match": '"1"'}).status_code == 409
    with count_queries() as deleting:
        assert api.delete(url, headers={**write, "If-Match": '"2"'}).status_code == 204
    assert deleting.count <= 6
    assert api.get(url, headers=write).status_code == 404


def test_one_occurrence_of_a_series(api, bearer, world):
    write = bearer("oobc_staff", "write")
    url = f"/api/v1/events/{world.weekly.id}"
    override = body(api.patch(url, json={"title": "Coordination (in Marawi)", "scope": "occurrence",
                                         "occurrence": "20261214T0900", "version": world.weekly.version},
                              headers=write))
    assert override["series_id"] == world.weekly.id and override["rrule"] is None
    db.session.expire_all()
    series = db.session.get(CalendarEvent, world.weekly.id)
    assert series.title == "Weekly coordination" and len(series.exdates) == 2
    wrong = api.patch(url, json={"title": "x", "scope": "occurrence", "occurrence": "20261215T0900",
                                 "version": series.version}, headers=write)
    assert wrong.status_code == 422 and "occurrence" in wrong.get_json()["errors"]


def test_event_refusals(api, bearer, world):
    write = bearer("moa_staff", "write")
    new = {"title": "x", "start_date": "2026-12-14", "start_time": "09:00", "end_time": "10:00"}
    assert api.post("/api/v1/events", json=new, headers=bearer("moa_staff")).status_code == 403
    assert api.post("/api/v1/events", json=new, headers=bearer("viewer", "write")).status_code == 403
    unknown = api.post("/api/v1/events", json={**new, "colour": "red"}, headers=write)
    assert unknown.status_code == 422 and unknown.get_json()["errors"]["colour"] == ["Unknown field."]
    backwards = api.post("/api/v1/events", json={**new, "end_time": "08:00"}, headers=write)
    assert backwards.status_code == 422 and "end_time" in backwards.get_json()["errors"]
    mssd_only = f"/api/v1/events/{world.mssd_only.id}"
    other = bearer("other_moa_staff", "write")
    assert api.get(mssd_only, headers=other).status_code == 404
    assert api.patch(mssd_only, json={"title": "x", "version": 1}, headers=other).status_code == 404
    assert api.delete(f"{mssd_only}?version=1", headers=other).status_code == 404
    assert api.get(f"/api/v1/events/{world.private.id}", headers=write).status_code == 404
    listed = body(api.get("/api/v1/events", headers=bearer("other_moa_staff")))["items"]
    assert world.mssd_only.id not in {e["id"] for e in listed} and world.public.id in {e["id"] for e in listed}
    db.session.expire_all()
    assert db.session.get(CalendarEvent, world.mssd_only.id).version == 1


def test_event_list_pages(api, bearer, world, count_queries):
    headers = bearer("oobc_staff")
    api.get("/api/v1/events", headers=headers)
    with count_queries() as counted:
        first = body(api.get("/api/v1/events?limit=2", headers=headers))
    assert counted.count <= 3 and len(first["items"]) == 2 and "after=" in first["next"]
    seen = [e["id"] for e in first["items"]]
    url = first["next"]
    while url:
        page = body(api.get(url, headers=headers))
        seen += [e["id"] for e in page["items"]]
        url = page["next"]
    assert seen == sorted(seen) and {world.public.id, world.private.id, world.weekly.id} <= set(seen)


def test_bookings_book_clash_and_decide(api, bearer, world, users, count_queries):
    write = bearer("moa_staff", "write")
    room_id = world.room.id
    api.get("/api/v1/bookings", headers=write)  # the token's first use is recorded once
    with count_queries() as booking_it:
        made = api.post("/api/v1/bookings", headers=write, json={
            "resource_id": room_id, "title": "Kits briefing", "starts_at": "2026-12-08T13:00:00+08:00",
            "ends_at": "2026-12-08T15:00:00+08:00"})
    [booking] = body(made, 201)["items"]
    assert booking_it.count <= 6
    assert booking["status"] == "approved" and made.headers["Location"] == f"/api/v1/bookings/{booking['id']}"
    clash = api.post("/api/v1/bookings", headers=write, json={
        "resource_id": world.room.id, "title": "Overlap", "starts_at": "2026-12-08T11:00:00+08:00",
        "ends_at": "2026-12-08T14:00:00"})
    assert clash.status_code == 409 and "Conference Room A" in clash.get_json()["detail"]
    url = f"/api/v1/bookings/{booking['id']}"
    with count_queries() as read:
        assert body(api.get(url, headers=write))["title"] == "Kits briefing"
    assert read.count <= 6
    options = {o["name"]: o for o in body(api.get(f"{url}/transitions", headers=write))["transitions"]}
    assert options["cancel"]["allowed"]
    assert api.post(f"{url}/transitions/cancel", json={"version": 2}, headers=write).status_code == 409
    with count_queries() as cancelling:
        cancelled = body(api.post(f"{url}/transitions/cancel", json={}, headers={**write, "If-Match": '"1"'}))
    assert cancelling.count <= 8  # the user, the booking twice, fire(): lock, re-read, statement, log, audit
    assert cancelled["to_state"] == "cancelled"
    listed = {b["id"] for b in body(api.get("/api/v1/bookings", headers=write))["items"]}
    assert {world.booking.id, booking["id"]} <= listed
    assert not body(api.get("/api/v1/bookings", headers=bearer("other_moa_staff")))["items"]


def test_a_booking_waits_for_its_approver(api, bearer, world, users):
    van = Resource(name="Van", kind="vehicle", needs_approval=True)
    van.approvers = [users["oobc_executive"]]
    db.session.add(van)
    db.session.commit()
    made = api.post("/api/v1/bookings", headers=bearer("moa_staff", "write"), json={"resource_id": van.id,
                                                                                    "event_id": world.public.id})
    [booking] = body(made, 201)["items"]
    assert booking["status"] == "pending" and booking["event_id"] == world.public.id
    url = f"/api/v1/bookings/{booking['id']}/transitions"
    assert api.post(f"{url}/approve", json={"version": 1}, headers=bearer("moa_staff", "write")).status_code == 403
    approver = bearer("oobc_executive", "write")
    no_comment = api.post(f"{url}/reject", json={"version": 1}, headers=approver)
    assert no_comment.status_code == 422 and "comment" in no_comment.get_json()["errors"]
    assert body(api.post(f"{url}/approve", json={"version": 1}, headers=approver))["to_state"] == "approved"
    db.session.expire_all()
    assert db.session.get(Booking, booking["id"]).decided_by_id == users["oobc_executive"].id


def test_booking_refusals(api, bearer, world):
    new = {"resource_id": world.room.id, "title": "x", "starts_at": "2026-12-09T09:00:00+08:00",
           "ends_at": "2026-12-09T10:00:00+08:00"}
    assert api.post("/api/v1/bookings", json=new, headers=bearer("moa_staff")).status_code == 403
    assert api.post("/api/v1/bookings", json=new, headers=bearer("viewer", "write")).status_code == 403
    write = bearer("moa_staff", "write")
    assert api.post("/api/v1/bookings", json={**new, "room": 1}, headers=write).status_code == 422
    both = api.post("/api/v1/bookings", json={**new, "event_id": world.public.id}, headers=write)
    assert both.status_code == 422 and "event_id" in both.get_json()["errors"]
    missing = api.post("/api/v1/bookings", json={"resource_id": world.room.id}, headers=write)
    assert set(missing.get_json()["errors"]) == {"title", "starts_at", "ends_at"}
    nowhere = api.post("/api/v1/bookings", json={**new, "resource_id": 999999}, headers=write)
    assert nowhere.status_code == 422 and "resource_id" in nowhere.get_json()["errors"]
    other = bearer("other_moa_staff", "write")
    url = f"/api/v1/bookings/{world.booking.id}"
    assert api.get(url, headers=other).status_code == 404
    assert api.post(f"{url}/transitions/cancel", json={"version": 1}, headers=other).status_code == 404
    assert api.post(f"{url}/transitions/no_such", json={"version": 1}, headers=write).status_code == 404
    db.session.expire_all()
    assert db.session.query(Booking).count() == 1
