"""Booking resources: never two pending-or-approved bookings of one resource at once (a readable refusal naming
who is in the way; touching ranges are fine; rejected and cancelled bookings free the time), the approval rules
(approvers or admins, never the person who booked), a recurring event booked for every occurrence or none,
the booking form and the decisions through HTTP, and resources managed in the admin console. On SQLite and on
PostgreSQL (where the exclusion constraint itself is proven, and the service's answer when it fires)."""
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from obcms.calendar import booking_views, bookings
from obcms.calendar.models import Booking, CalendarEvent, Resource
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.workflow.models import TransitionLog
from tests.calendar.conftest import manila
from tests.databases import backend

ON_POSTGRES = backend() == "postgresql"
DECEMBER = (manila(2026, 12, 1), manila(2027, 1, 1))


def count(resource, *statuses):
    statuses = statuses or ("pending", "approved", "rejected", "cancelled")
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.resource_id == resource.id, Booking.status.in_(statuses)))


@pytest.fixture
def van(users):
    """A vehicle whose bookings need approval; oobc_executive approves them."""
    resource = Resource(name="Service Van 1", kind="vehicle", capacity=12, needs_approval=True)
    resource.approvers = [users["oobc_executive"]]
    db.session.add(resource)
    db.session.flush()
    return resource


# ------------------------------------------------------------------------------------------------- services
def test_a_free_room_is_booked_and_approved_at_once(calendar_world, users):
    booking = bookings.book(users["oobc_staff"], calendar_world.room, manila(2026, 12, 8, 13), manila(2026, 12, 8, 15),
                            "  Budget huddle ")
    assert (booking.status, booking.title, booking.booked_by_id) == ("approved", "Budget huddle", users["oobc_staff"].id)
    assert booking.organization_id == users["oobc_staff"].organization_id


def test_an_overlap_is_refused_naming_the_booking_in_the_way(calendar_world, users):
    room = calendar_world.room
    with pytest.raises(Conflict) as refused:
        bookings.book(users["oobc_staff"], room, manila(2026, 12, 8, 11), manila(2026, 12, 8, 13), "Briefing")
    assert refused.value.detail == ("Conference Room A is booked 09:00–12:00 on 8 Dec 2026 by Moa Staff. "
                                    "Pick another time.")
    assert refused.value.status == 409
    for start, end in ((8, 10), (10, 11), (7, 13)):  # inside, covering, and around it
        with pytest.raises(Conflict):
            bookings.book(users["admin"], room, manila(2026, 12, 8, start), manila(2026, 12, 8, end), "Briefing")
    assert count(room) == 1


def test_touching_ranges_are_allowed(calendar_world, users):
    room = calendar_world.room
    before = bookings.book(users["oobc_staff"], room, manila(2026, 12, 8, 8), manila(2026, 12, 8, 9), "Set-up")
    after = bookings.book(users["oobc_staff"], room, manila(2026, 12, 8, 12), manila(2026, 12, 8, 13), "Lunch")
    assert before.status == after.status == "approved" and count(room, "approved") == 3


def test_rejected_and_cancelled_bookings_free_the_time(van, users):
    staff, approver = users["oobc_staff"], users["oobc_executive"]
    pending = bookings.book(staff, van, manila(2026, 12, 9, 8), manila(2026, 12, 9, 17), "Site visit")
    assert pending.status == "pending"
    with pytest.raises(Conflict, match=r"Service Van 1 is booked 08:00–17:00 on 9 Dec 2026 by Oobc Staff "
                                       r"\(pending approval\)\."):
        bookings.book(users["moa_staff"], van, manila(2026, 12, 9, 10), manila(2026, 12, 9, 11), "Errand")
    bookings.decide(pending, pending.version, approver, "reject", "The van is in the garage that day.")
    assert (pending.status, pending.decided_by_id, pending.decision_comment) == (
        "rejected", approver.id, "The van is in the garage that day.")
    second = bookings.book(users["moa_staff"], van, manila(2026, 12, 9, 10), manila(2026, 12, 9, 11), "Errand")
    bookings.cancel(second, second.version, users["moa_staff"])
    assert second.status == "cancelled"
    third = bookings.book(staff, van, manila(2026, 12, 9, 9), manila(2026, 12, 9, 12), "Site visit, shorter")
    assert third.status == "pending" and count(van, "pending", "approved") == 1


def test_approvers_or_admins_decide_never_the_booker(van, users):
    staff, approver = users["oobc_staff"], users["oobc_executive"]
    van.approvers = [approver, staff]  # the booker is an approver too: still not of their own booking
    booking = bookings.book(staff, van, manila(2026, 12, 10, 8), manila(2026, 12, 10, 12), "Field visit")
    with pytest.raises(NotAllowed, match="You booked this"):
        bookings.decide(booking, booking.version, staff, "approve")
    with pytest.raises(NotAllowed, match="Only the approvers of Service Van 1"):
        bookings.decide(booking, booking.version, users["moa_staff"], "approve")
    with pytest.raises(NotAllowed):
        bookings.cancel(booking, booking.version, users["moa_staff"])  # neither booker nor approver
    with pytest.raises(ValidationFailed) as missing:
        bookings.decide(booking, booking.version, approver, "reject", "  ")
    assert "comment" in missing.value.errors
    with pytest.raises(Conflict):
        bookings.decide(booking, booking.version + 1, approver, "approve")  # a stale version
    log = bookings.decide(booking, booking.version, approver, "approve")
    assert (booking.status, log.from_state, log.to_state, log.actor_user_id) == (
        "approved", "pending", "approved", approver.id)
    with pytest.raises(Conflict, match="no longer possible"):
        bookings.decide(booking, booking.version, users["admin"], "reject", "Too late")
    bookings.cancel(booking, booking.version, staff)  # the booker cancels an approved booking
    assert booking.status == "cancelled"

    other = bookings.book(users["moa_staff"], van, manila(2026, 12, 11, 8), manila(2026, 12, 11, 9), "Pick-up")
    bookings.decide(other, None, users["admin"], "approve")  # admins decide on every resource's bookings
    assert other.status == "approved"
    with pytest.raises(ValidationFailed):
        bookings.decide(other, None, users["admin"], "enact")


def test_statuses_change_only_through_the_machine(calendar_world):
    from obcms.workflow import StatusChangeRefused

    calendar_world.booking.status = "cancelled"
    with pytest.raises(StatusChangeRefused):
        db.session.flush()


def test_the_rules_of_a_booking(calendar_world, users):
    room, staff = calendar_world.room, users["oobc_staff"]
    cases = [((manila(2026, 12, 9, 10), manila(2026, 12, 9, 10), "x"), "end_time"),
             ((manila(2026, 12, 9, 10), manila(2026, 12, 9, 9), "x"), "end_time"),
             ((manila(2026, 12, 1), manila(2026, 12, 15, 0, 1), "x"), "end_time"),
             ((manila(2026, 12, 9, 10), manila(2026, 12, 9, 11), " "), "title"),
             ((manila(2026, 12, 9, 10), manila(2026, 12, 9, 11), "x" * 201), "title"),
             ((datetime(2026, 12, 9, 10), manila(2026, 12, 9, 11), "x"), "start_time")]
    for (start, end, title), field in cases:
        with pytest.raises(ValidationFailed) as refused:
            bookings.book(staff, room, start, end, title)
        assert field in refused.value.errors, (start, end, title)
    assert bookings.book(staff, room, manila(2027, 2, 1), manila(2027, 2, 15), "Two weeks").status == "approved"
    assert bookings.book(staff, room, manila(2020, 1, 6, 9), manila(2020, 1, 6, 10), "In the past, fine")
    room.available = False
    with pytest.raises(ValidationFailed, match="not available"):
        bookings.book(staff, room, manila(2026, 12, 20, 9), manila(2026, 12, 20, 10), "Closed")
    with pytest.raises(NotAllowed):
        bookings.book(users["viewer"], calendar_world.room, manila(2026, 12, 21, 9), manila(2026, 12, 21, 10), "x")


def test_a_recurring_event_books_each_occurrence_or_nothing(calendar_world, users):
    room, weekly, staff = calendar_world.room, calendar_world.weekly, users["oobc_staff"]
    blocker = bookings.book(users["moa_staff"], room, manila(2026, 12, 14, 9, 30), manila(2026, 12, 14, 10, 30),
                            "Inventory")
    with pytest.raises(Conflict) as refused:
        bookings.book_occurrences(staff, room, weekly, *DECEMBER)
    assert refused.value.extra["conflicts"] == [
        "09:00–10:00 on 14 Dec 2026: Conference Room A is booked 09:30–10:30 on 14 Dec 2026 by Moa Staff."]
    assert "taken for 1 of the 3 occurrences; nothing was booked" in refused.value.detail
    assert count(room) == 2  # the workshop and the blocker, nothing of the series
    bookings.cancel(blocker, blocker.version, users["moa_staff"])
    made = bookings.book_occurrences(staff, room, weekly, *DECEMBER)
    assert [(b.starts_at.astimezone(bookings.MANILA).day, b.event_id, b.status) for b in made] == [
        (7, weekly.id, "approved"), (14, weekly.id, "approved"), (28, weekly.id, "approved")]  # 21st: an exception
    with pytest.raises(Conflict) as again:
        bookings.book_occurrences(staff, room, weekly, *DECEMBER)
    assert len(again.value.extra["conflicts"]) == 3


def test_an_occurrence_edited_on_its_own_is_booked_at_its_own_time(calendar_world, users):
    weekly = calendar_world.weekly
    weekly.exdates = [*weekly.exdates, "2026-12-14T09:00:00+08:00"]
    moved = CalendarEvent(title="Weekly coordination (moved)", visibility="public", starts_at=manila(2026, 12, 15, 14),
                          ends_at=manila(2026, 12, 15, 15), last_ends_at=manila(2026, 12, 15, 15), series_id=weekly.id,
                          recurrence_id=manila(2026, 12, 14, 9), organizer_id=users["oobc_staff"].id)
    db.session.add(moved)
    db.session.flush()
    made = bookings.book_occurrences(users["oobc_staff"], calendar_world.room, weekly, *DECEMBER)
    assert [(b.starts_at.astimezone(bookings.MANILA).strftime("%d %H"), b.event_id) for b in made] == [
        ("07 09", weekly.id), ("15 14", moved.id), ("28 09", weekly.id)]


def test_an_event_without_occurrences_in_the_window_books_nothing(calendar_world, users):
    with pytest.raises(ValidationFailed, match="has no occurrence"):
        bookings.book_occurrences(users["oobc_staff"], calendar_world.room, calendar_world.weekly,
                                  manila(2026, 11, 1), manila(2026, 12, 1))


def test_free_busy_of_a_day(calendar_world, users):
    room = calendar_world.room
    bookings.book(users["oobc_staff"], room, manila(2026, 12, 7, 20), manila(2026, 12, 8, 2), "Overnight set-up")
    bookings.book(users["oobc_staff"], room, manila(2026, 12, 8, 14), manila(2026, 12, 8, 15), "Debrief")
    busy = bookings.free_busy(room, date(2026, 12, 8))
    assert [(b.starts_at.strftime("%H:%M"), b.ends_at.strftime("%H:%M"), b.booking.title) for b in busy] == [
        ("00:00", "02:00", "Overnight set-up"), ("09:00", "12:00", "Planning workshop"), ("14:00", "15:00", "Debrief")]
    assert bookings.free_busy(room, date(2026, 12, 9)) == []


# ------------------------------------------------------------------------------------------------- the database
@pytest.mark.postgres
def test_postgresql_itself_refuses_overlapping_bookings(calendar_world, users):
    """The exclusion constraint, written around the service: only pending and approved bookings hold time."""
    room = calendar_world.room

    def insert(status, start, end):
        with db.session.begin_nested():
            db.session.add(Booking(resource_id=room.id, title="Raw", starts_at=start, ends_at=end, status=status))
            db.session.flush()

    with pytest.raises(sa.exc.IntegrityError, match="calendar_bookings_no_overlap"):
        insert("pending", manila(2026, 12, 8, 11), manila(2026, 12, 8, 13))
    insert("cancelled", manila(2026, 12, 8, 11), manila(2026, 12, 8, 13))
    insert("approved", manila(2026, 12, 8, 12), manila(2026, 12, 8, 13))  # touching
    assert count(room) == 3


@pytest.mark.postgres
def test_when_the_constraint_wins_the_race_the_answer_still_names_the_booking(calendar_world, users, monkeypatch):
    """The check before the insert missed the workshop (as when it was committed a moment later): the
    constraint refuses the insert inside its savepoint, and the Conflict names what is in the way."""
    real, calls = bookings._refuse_clashes, []

    def late(resource, spans):
        calls.append(spans)
        if len(calls) > 1:
            real(resource, spans)

    monkeypatch.setattr(bookings, "_refuse_clashes", late)
    with pytest.raises(Conflict, match=r"^Conference Room A is booked 09:00–12:00 on 8 Dec 2026 by Moa Staff\."):
        bookings.book(users["oobc_staff"], calendar_world.room, manila(2026, 12, 8, 10), manila(2026, 12, 8, 11), "x")
    assert len(calls) == 2 and count(calendar_world.room) == 1  # the transaction goes on after the savepoint


def test_on_sqlite_the_write_lock_is_taken_before_the_check(calendar_world, users, count_queries):
    if ON_POSTGRES:
        pytest.skip("PostgreSQL relies on its exclusion constraint")
    db.session.flush()
    with count_queries() as q:
        bookings.book(users["oobc_staff"], calendar_world.room, manila(2026, 12, 9, 9), manila(2026, 12, 9, 10), "x")
    first = [s.split()[0].upper() for s in q.statements]
    assert first[0] == "UPDATE" and "calendar_bookings" in q.statements[0]
    assert first.index("SELECT") < first.index("INSERT")


# ------------------------------------------------------------------------------------------------- HTTP
def form(token, **values):
    return {"csrf_token": token, "title": "Coordination meeting", "date": "2026-12-08", "start_time": "13:00",
            "end_time": "14:00", **values}


def test_the_booking_form_books_and_shows_the_day(calendar_world, client_as, csrf_token):
    client = client_as("oobc_staff")
    room = calendar_world.room
    page = client.get(f"/calendar/resources/{room.id}/book?date=2026-12-08")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Conference Room A on 8 Dec 2026" in html
    assert "09:00–12:00" in html and "Planning workshop" in html and 'hx-get="/calendar/resources/' in html
    fragment = client.get(f"/calendar/resources/{room.id}/book?date=2026-12-09", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="free-busy"' in text and "Free all day." in text
    response = client.post(f"/calendar/resources/{room.id}/book", data=form(csrf_token(client)))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/calendar/resources/{room.id}?from=2026-12-08")
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Conference Room A booked for “Coordination meeting”, 13:00–14:00 on 8 Dec 2026." in shown
    assert count(room, "approved") == 2


def test_an_overlap_through_http_is_a_409_keeping_the_form(calendar_world, client_as, csrf_token):
    client = client_as("oobc_staff")
    room = calendar_world.room
    response = client.post(f"/calendar/resources/{room.id}/book",
                           data=form(csrf_token(client), title="Clashing talk", start_time="11:30", end_time="12:30"))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Conference Room A is booked 09:00–12:00 on 8 Dec 2026 by Moa Staff." in html
    assert 'value="Clashing talk"' in html and 'value="11:30"' in html
    assert count(room) == 1
    touching = client.post(f"/calendar/resources/{room.id}/book",
                           data=form(csrf_token(client), start_time="12:00", end_time="00:00"))
    assert touching.status_code == 303  # until midnight
    booked = db.session.scalars(sa.select(Booking).where(Booking.title == "Coordination meeting")).one()
    assert booked.ends_at == manila(2026, 12, 9)


def test_field_errors_are_a_422(calendar_world, client_as, csrf_token):
    client = client_as("oobc_staff")
    response = client.post(f"/calendar/resources/{calendar_world.room.id}/book",
                           data=form(csrf_token(client), title="", date="2026-13-01", start_time="nine"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the day (YYYY-MM-DD)." in html and "Give the time it starts (HH:MM)." in html
    wrong_way = client.post(f"/calendar/resources/{calendar_world.room.id}/book",
                            data=form(csrf_token(client), start_time="15:00", end_time="14:00"))
    assert wrong_way.status_code == 422 and "End after the start." in wrong_way.get_data(as_text=True)
    untitled = client.post(f"/calendar/resources/{calendar_world.room.id}/book", data=form(csrf_token(client), title=""))
    assert untitled.status_code == 422 and "Say what the booking is for." in untitled.get_data(as_text=True)
    assert count(calendar_world.room) == 1


def test_who_may_book_and_see_resources(calendar_world, client_as, csrf_token, organizations):
    room = calendar_world.room
    viewer = client_as("viewer")
    assert viewer.get("/calendar/resources").status_code == 200
    assert viewer.get(f"/calendar/resources/{room.id}/book").status_code == 403
    assert viewer.post(f"/calendar/resources/{room.id}/book", data=form(csrf_token(viewer))).status_code == 403
    mssd_room = Resource(name="MSSD Board Room", kind="room", organization_id=organizations["MSSD"].id)
    db.session.add(mssd_room)
    db.session.commit()
    other = client_as("other_moa_staff")
    assert "MSSD Board Room" not in other.get("/calendar/resources").get_data(as_text=True)
    assert other.get(f"/calendar/resources/{mssd_room.id}/book").status_code == 404
    assert "MSSD Board Room" in client_as("moa_staff").get("/calendar/resources").get_data(as_text=True)
    assert f'href="/calendar/resources/{room.id}/book"' in client_as("oobc_staff").get(
        f"/calendar/resources/{room.id}").get_data(as_text=True)


def test_booking_for_a_recurring_event_over_http(calendar_world, client_as, csrf_token, monkeypatch):
    monkeypatch.setattr(booking_views, "now", lambda: manila(2026, 12, 1, 8))
    client = client_as("oobc_staff")
    room, weekly = calendar_world.room, calendar_world.weekly
    listing = client.get(f"/calendar/resources?event_id={weekly.id}").get_data(as_text=True)
    assert f'/calendar/resources/{room.id}/book?event_id={weekly.id}' in listing
    page = client.get(f"/calendar/resources/{room.id}/book?event_id={weekly.id}").get_data(as_text=True)
    assert "For “Weekly coordination”" in page and "Book Conference Room A for 12 occurrences" in page
    blocker = bookings.book(calendar_world.booking.booked_by, room, manila(2027, 1, 4, 8), manila(2027, 1, 4, 9, 30),
                            "Early meeting")
    db.session.commit()
    refused = client.post(f"/calendar/resources/{room.id}/book",
                          data={"csrf_token": csrf_token(client), "event_id": weekly.id})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "taken for 1 of the 12 occurrences; nothing was booked" in html
    assert "09:00–10:00 on 4 Jan 2027: Conference Room A is booked 08:00–09:30 on 4 Jan 2027 by Moa Staff." in html
    assert count(room) == 2
    bookings.cancel(blocker, blocker.version, blocker.booked_by)
    db.session.commit()
    done = client.post(f"/calendar/resources/{room.id}/book",
                       data={"csrf_token": csrf_token(client), "event_id": weekly.id})
    assert done.status_code == 303
    assert count(room, "approved") == 13


def test_booking_for_a_single_event_takes_its_times(calendar_world, client_as, csrf_token):
    client = client_as("oobc_staff")
    summit = calendar_world.public
    response = client.post(f"/calendar/resources/{calendar_world.room.id}/book",
                           data={"csrf_token": csrf_token(client), "event_id": summit.id})
    assert response.status_code == 303
    booked = db.session.scalars(sa.select(Booking).where(Booking.event_id == summit.id)).one()
    assert (booked.title, booked.starts_at, booked.ends_at) == (summit.title, summit.starts_at, summit.ends_at)
    other = client_as("other_moa_staff")
    hidden = other.post(f"/calendar/resources/{calendar_world.room.id}/book",
                        data={"csrf_token": csrf_token(other), "event_id": calendar_world.mssd_only.id})
    assert hidden.status_code == 404


def test_decisions_through_http(van, users, client_as, csrf_token):
    booking = bookings.book(users["moa_staff"], van, manila(2026, 12, 9, 8), manila(2026, 12, 9, 17), "Site visit")
    db.session.commit()
    url = f"/calendar/resources/bookings/{booking.id}"
    approver = client_as("oobc_executive")
    page = approver.get(f"/calendar/resources/{van.id}?from=2026-12-01").get_data(as_text=True)
    assert f'action="{url}/approve"' in page and f'action="{url}/reject"' in page and f'action="{url}/cancel"' in page
    booker_page = client_as("moa_staff").get(f"/calendar/resources/{van.id}?from=2026-12-01").get_data(as_text=True)
    assert f'action="{url}/approve"' not in booker_page and f'action="{url}/cancel"' in booker_page
    booker = client_as("moa_staff")
    assert booker.post(f"{url}/approve", data={"csrf_token": csrf_token(booker), "version": booking.version}
                       ).status_code == 403
    viewer = client_as("viewer")
    assert viewer.post(f"{url}/cancel", data={"csrf_token": csrf_token(viewer), "version": booking.version}
                       ).status_code == 403
    token = csrf_token(approver)
    missing = approver.post(f"{url}/reject", data={"csrf_token": token, "version": booking.version, "comment": ""})
    assert missing.status_code == 422 and "Say why" in missing.get_data(as_text=True)
    no_version = approver.post(f"{url}/approve", data={"csrf_token": token})
    assert no_version.status_code == 422
    stale = approver.post(f"{url}/approve", data={"csrf_token": token, "version": booking.version + 5})
    assert stale.status_code == 409
    done = approver.post(f"{url}/approve", data={"csrf_token": token, "version": booking.version})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "approved"
    assert db.session.scalar(sa.select(TransitionLog.transition).where(
        TransitionLog.object_type == "booking", TransitionLog.object_id == booking.id)) == "approve"
    assert "Service Van 1 approved for “Site visit”" in approver.get(done.headers["Location"]).get_data(as_text=True)
    out_of_scope = client_as("other_moa_staff")
    assert out_of_scope.post(f"{url}/cancel", data={"csrf_token": csrf_token(out_of_scope), "version": 2}
                             ).status_code == 404


# ------------------------------------------------------------------------------------------------- admin console
def test_resources_are_managed_in_the_admin_console(client_as, csrf_token, users, organizations):
    admin = client_as("admin")
    token = csrf_token(admin)
    assert admin.get("/admin/resource/").status_code == 200
    assert admin.get("/admin/resource/new/").status_code == 200
    data = {"csrf_token": token, "name": "Projector 2", "kind": "equipment", "capacity": "", "location": "Store room",
            "description": "", "organization": str(organizations["MSSD"].id), "available": "y",
            "needs_approval": "y", "approvers": [str(users["oobc_executive"].id)], "version": ""}
    assert admin.post("/admin/resource/new/", data=data).status_code == 302
    db.session.expire_all()
    projector = db.session.scalar(sa.select(Resource).where(Resource.name == "Projector 2"))
    assert projector.needs_approval and [u.username for u in projector.approvers] == ["oobc_executive"]
    assert projector.organization_id == organizations["MSSD"].id
    edit = admin.get(f"/admin/resource/edit/?id={projector.id}").get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', edit).group(1)
    changed = {**data, "capacity": "3", "available": None, "version": version}
    changed = {k: v for k, v in changed.items() if v is not None}
    assert admin.post(f"/admin/resource/edit/?id={projector.id}", data=changed).status_code == 302
    db.session.expire_all()
    projector = db.session.get(Resource, projector.id)
    assert (projector.capacity, projector.available, projector.version) == (3, False, int(version) + 1)
    stale = admin.post(f"/admin/resource/edit/?id={projector.id}", data={**changed, "capacity": "4"})
    assert stale.status_code == 409
    bad = admin.post("/admin/resource/new/", data={**data, "name": "projector 2", "capacity": "-1"})
    assert bad.status_code == 200 and "There is already a resource named" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Resource)) == 1
    assert client_as("oobc_staff").get("/admin/resource/").status_code == 403


def test_a_booking_is_audited(calendar_world, users):
    from obcms.audit.models import AuditEntry

    booking = bookings.book(users["oobc_staff"], calendar_world.room, manila(2026, 12, 9, 9), manila(2026, 12, 9, 10),
                            "Audited")
    bookings.cancel(booking, booking.version, users["oobc_staff"])
    db.session.flush()
    fields = db.session.scalars(sa.select(AuditEntry.field).where(AuditEntry.object_type == "booking",
                                                                  AuditEntry.object_id == booking.id)).all()
    assert "status" in fields


def test_describing_spans():
    assert bookings.describe_span(manila(2026, 12, 8, 9), manila(2026, 12, 8, 11)) == "09:00–11:00 on 8 Dec 2026"
    assert bookings.describe_span(manila(2026, 12, 8), manila(2026, 12, 9)) == "00:00–24:00 on 8 Dec 2026"
    assert bookings.describe_span(manila(2026, 12, 8, 20), manila(2026, 12, 9, 2)) == \
        "8 Dec 2026 20:00 – 9 Dec 2026 02:00"
    assert bookings.describe_span(manila(2026, 12, 8, 9) - timedelta(days=1), manila(2026, 12, 8, 9)).startswith("7 Dec")


def test_refusals_name_the_booking_in_words(calendar_world, users):
    booking = calendar_world.booking
    with pytest.raises(Conflict) as stale:
        bookings.cancel(booking, booking.version + 3, users["moa_staff"])
    assert stale.value.detail.startswith("The booking of Conference Room A for “Planning workshop”, "
                                         "09:00–12:00 on 8 Dec 2026 was changed")
    with pytest.raises(NotAllowed) as refused:
        bookings.cancel(booking, booking.version, users["oobc_staff"])
    assert "on the booking of Conference Room A for “Planning workshop”" in refused.value.detail
