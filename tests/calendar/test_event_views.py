"""Writing on the calendar through HTTP: a new event from the dialog, field errors kept, an edit that meets a
colleague's (409 keeping both), "Move to…" by keyboard, deleting one occurrence, rescheduling a work item."""
import json
import re
from datetime import datetime

import sqlalchemy as sa

from obcms.calendar.models import CalendarEvent
from obcms.calendar.recurrence import MANILA
from obcms.extensions import db
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/calendar?view=month&date=2026-12-01"}


def editor(client_as, csrf_token, username="moa_staff"):
    client = client_as(username)
    client.token = csrf_token(client)
    return client


def post(client, url, data, headers=HX):
    return client.post(url, data={"csrf_token": client.token, **data}, headers=headers)


def form_fields(html):
    """The inputs and selected options of a rendered form, as a dict to post back."""
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.findall(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        if chosen:
            fields[name] = chosen[0][0] or chosen[0][1]
    fields.pop("csrf_token", None)
    return fields


def test_a_new_weekly_event_from_the_dialog(calendar_world, client_as, csrf_token):
    client = editor(client_as, csrf_token)
    dialog = client.get("/calendar/events/new?date=2026-12-08", headers=HX).get_data(as_text=True)
    assert dialog.lstrip().startswith('<dialog id="event-dialog"') and 'value="2026-12-08"' in dialog
    response = post(client, "/calendar/events/new", {
        "title": "Kits committee", "kind": "meeting", "start_date": "2026-12-08", "start_time": "13:30",
        "end_date": "2026-12-08", "end_time": "15:00", "repeat": "weekly", "interval": "1", "weekdays": ["TU", "TH"],
        "ends": "count", "count": "4", "visibility": "organization", "monthly_by": "day"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "obcms:calendar-changed" in response.headers["HX-Trigger"]
    assert json.loads(response.headers["HX-Trigger-After-Settle"]) == {"obcms:close-dialog": {"id": "event-dialog"}}
    event = db.session.scalar(sa.select(CalendarEvent).where(CalendarEvent.title == "Kits committee"))
    assert event.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"
    assert event.organization_id == calendar_world.ppa.implementing_moa_id  # an MOA user's own organization
    month = client.get("/calendar?view=month&date=2026-12-01").get_data(as_text=True)
    assert month.count("Kits committee") == 4


def test_bad_input_comes_back_on_the_fields_and_nothing_is_written(calendar_world, client_as, csrf_token):
    client = editor(client_as, csrf_token)
    response = post(client, "/calendar/events/new", {
        "title": "", "start_date": "2026-02-30", "start_time": "25:00", "end_date": "2026-12-08", "end_time": "09:00",
        "repeat": "weekly", "ends": "count", "count": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Give the event a title.", "A date such as 2026-12-07.", "A time such as 09:30.",
                    "A whole number from 1 to 1000."):
        assert message in html, message
    assert 'value="25:00"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarEvent)) == 4  # the world's


def test_an_edit_meeting_a_colleagues_keeps_theirs_and_shows_yours(calendar_world, client_as, csrf_token):
    staff, admin = editor(client_as, csrf_token, "oobc_staff"), editor(client_as, csrf_token, "admin")
    event = calendar_world.public
    url = f"/calendar/events/{event.id}/edit"
    mine, theirs = (form_fields(c.get(url, headers=HX).get_data(as_text=True)) for c in (staff, admin))
    assert post(admin, url, {**theirs, "title": "Bangsamoro summit 2026"}).status_code == 200
    response = post(staff, url, {**mine, "location": "Shariff Kabunsuan Complex"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone changed this first" in html
    assert "Bangsamoro summit 2026" in html and "you left it alone: theirs is kept" in html
    again = form_fields(html.split('class="event-form"')[1])
    assert again["title"] == "Bangsamoro summit 2026" and again["location"] == "Shariff Kabunsuan Complex"
    assert post(staff, url, again).status_code == 200
    db.session.expire_all()
    saved = db.session.get(CalendarEvent, event.id)
    assert (saved.title, saved.location) == ("Bangsamoro summit 2026", "Shariff Kabunsuan Complex")


def test_move_to_by_keyboard_and_delete_one_occurrence(calendar_world, client_as, csrf_token):
    client = editor(client_as, csrf_token, "oobc_staff")
    weekly = calendar_world.weekly
    url = f"/calendar/events/{weekly.id}/move?occurrence=20261214T0900"
    fields = form_fields(client.get(url, headers=HX).get_data(as_text=True))
    assert fields["to_date"] == "2026-12-14"
    response = post(client, url, {**fields, "to_date": "2026-12-15", "to_time": "10:30", "scope": "occurrence"})
    assert response.status_code == 200, response.get_data(as_text=True)
    override = db.session.scalar(sa.select(CalendarEvent).where(CalendarEvent.series_id == weekly.id))
    assert override.starts_at.astimezone(MANILA) == datetime(2026, 12, 15, 10, 30, tzinfo=MANILA)
    url = f"/calendar/events/{weekly.id}/delete?occurrence=20261228T0900"
    fields = form_fields(client.get(url, headers=HX).get_data(as_text=True))
    assert post(client, url, {**fields, "scope": "occurrence"}).status_code == 200
    week = client.get("/calendar?view=agenda&date=2026-12-07&modules=coordination").get_data(as_text=True)
    assert "Tuesday, 15 Dec 2026" in week and "Monday, 28 Dec 2026" not in week


def test_a_dialog_on_the_event_page_goes_back_to_the_calendar(calendar_world, client_as, csrf_token):
    client = editor(client_as, csrf_token, "oobc_staff")
    event = calendar_world.public
    url = f"/calendar/events/{event.id}/delete"
    fields = form_fields(client.get(url, headers=HX).get_data(as_text=True))
    response = post(client, url, fields, headers={**HX, "HX-Current-URL": f"http://localhost/calendar/events/{event.id}"})
    assert response.headers["HX-Redirect"] == "/calendar?date=2026-12-03"
    assert client.get(f"/calendar/events/{event.id}").status_code == 404


def test_who_may_write(calendar_world, client_as, csrf_token):
    viewer, other = client_as("viewer"), client_as("other_moa_staff")
    assert viewer.get("/calendar/events/new").status_code == 403
    assert other.get(f"/calendar/events/{calendar_world.mssd_only.id}/edit").status_code == 404  # not theirs to see
    assert other.get(f"/calendar/events/{calendar_world.public.id}/edit").status_code == 403  # seen, not theirs
    assert other.get(f"/calendar/work-items/{calendar_world.task.id}/move").status_code == 404


def test_a_work_item_rescheduled_from_the_calendar(calendar_world, client_as, csrf_token):
    client = editor(client_as, csrf_token)
    task = calendar_world.task
    url = f"/calendar/work-items/{task.id}/move"
    fields = form_fields(client.get(url, headers=HX).get_data(as_text=True))
    assert fields["to_date"] == "2026-12-10"
    assert post(client, url, {**fields, "to_date": "2026-12-18"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(WorkItem, task.id).due_date.isoformat() == "2026-12-18"
    stale = post(client, url, {**fields, "to_date": "2026-12-20"})
    assert stale.status_code == 409 and "Someone changed this first" in stale.get_data(as_text=True)
