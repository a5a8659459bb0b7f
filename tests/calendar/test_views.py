"""The calendar pages through HTTP: month, week and agenda over every source, the state in the URL, htmx
partials, scoping by role and organization, filters, the JSON window, refusals with a clear answer."""
import re

import pytest

HX = {"HX-Request": "true"}
DECEMBER = "/calendar?view=month&date=2026-12-01"


def titles(html):
    return re.findall(r'<span class="cal-entry-title">([^<]*)</span>', html)


def test_the_month_shows_every_source_in_a_constant_number_of_queries(calendar_world, client_as, count_queries):
    client = client_as("oobc_staff")
    client.get(DECEMBER)  # warm: the first request loads what every request shares
    with count_queries() as q:
        response = client.get(DECEMBER)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = titles(html)
    for title in ("Community orientation", "Print the forms", "MSSD-CAL-1 starts: Livelihood program",
                  "MSSD-CAL-1 milestone: Kits delivered", "Bangsamoro planning summit", "MSSD staff meeting",
                  "Budget huddle", "Conference Room A: Planning workshop"):
        assert title in shown, title
    assert shown.count("Community orientation") == 3  # 7, 8 and 9 December
    assert shown.count("Weekly coordination") == 3  # 7, 14 and 28 Dec (the 21st is an exception); Jan 4 is shown
    assert "December 2026" in html
    assert q.count <= 5  # the user, the ranked day entries, recurring series, PPA dates, the organizations


def test_an_moa_user_sees_their_organization_and_public_entries_only(calendar_world, client_as):
    other = titles(client_as("other_moa_staff").get(DECEMBER).get_data(as_text=True))
    assert "Bangsamoro planning summit" in other and "Weekly coordination" in other
    for hidden in ("MSSD staff meeting", "Budget huddle", "Community orientation", "Print the forms",
                   "Conference Room A: Planning workshop", "MSSD-CAL-1 milestone: Kits delivered"):
        assert hidden not in other, hidden
    mssd = titles(client_as("moa_staff").get(DECEMBER).get_data(as_text=True))
    assert "MSSD staff meeting" in mssd and "Print the forms" in mssd and "Budget huddle" not in mssd


def test_only_mine_and_module_filters(calendar_world, client_as):
    client = client_as("moa_staff")
    mine = titles(client.get(DECEMBER + "&mine=1").get_data(as_text=True))
    assert "Print the forms" in mine and "Conference Room A: Planning workshop" in mine
    assert "Community orientation" not in mine and "Bangsamoro planning summit" not in mine
    staff_only = titles(client.get(DECEMBER + "&filtered=1&module=staff").get_data(as_text=True))
    assert staff_only == ["Print the forms"]
    nothing = client.get(DECEMBER + "&filtered=1").get_data(as_text=True)
    assert "tick at least one" in nothing and titles(nothing) == []


def test_week_and_agenda_views_and_htmx_swaps_the_body_only(calendar_world, client_as):
    client = client_as("oobc_staff")
    week = client.get("/calendar?view=week&date=2026-12-09").get_data(as_text=True)
    assert "7 Dec – 13 Dec 2026" in week and "Weekly coordination" in titles(week)
    assert re.search(r'09:00–10:00</span> <span class="cal-entry-title">Weekly coordination', week)
    agenda = client.get("/calendar?view=agenda&date=2026-12-01", headers=HX).get_data(as_text=True)
    assert "<html" not in agenda and 'class="cal-agenda"' in agenda
    assert "Thursday, 3 Dec 2026" in agenda
    empty = client.get("/calendar?view=agenda&date=2030-01-01&modules=staff").get_data(as_text=True)
    assert "Nothing in these 30 days" in empty


def test_navigation_keeps_the_filters_in_the_url(calendar_world, client_as):
    html = client_as("oobc_staff").get(DECEMBER + "&mine=1&modules=staff,coordination").get_data(as_text=True)
    assert 'href="/calendar?view=month&amp;date=2027-01-01&amp;modules=coordination,staff&amp;mine=1"' in html
    assert 'href="/calendar?view=month&amp;date=2026-11-01&amp;modules=coordination,staff&amp;mine=1"' in html


def test_the_json_window_has_the_domain_fields(calendar_world, client_as):
    response = client_as("oobc_staff").get("/calendar/entries.json?start=2026-12-07&end=2026-12-08")
    assert response.status_code == 200
    entries = {e["id"]: e for e in response.get_json()["entries"]}
    weekly = entries[f"event-{calendar_world.weekly.id}-20261207T0900"]
    assert weekly["start"] == "2026-12-07T09:00:00+08:00" and weekly["allDay"] is False
    assert weekly["module"] == "coordination" and weekly["url"].endswith("occurrence=20261207T0900")
    activity = entries[f"workitem-{calendar_world.activity.id}"]
    assert activity["allDay"] and activity["start"] == "2026-12-07" and activity["end"] == "2026-12-10"
    assert activity["breadcrumb"] == "MSSD-CAL-1"


@pytest.mark.parametrize("query, status, message", [
    ("start=2026-01-01&end=2027-06-01", 422, "at most 400 days"),
    ("start=2026-12-10&end=2026-12-01", 422, "after its start"),
    ("start=yesterday&end=2026-12-01", 422, "is not a date"),
    ("start=2026-12-01", 422, "Give the window"),
])
def test_bad_windows_are_refused_clearly(calendar_world, client_as, query, status, message):
    response = client_as("oobc_staff").get(f"/calendar/entries.json?{query}", headers={"Accept": "application/json"})
    assert response.status_code == status and message in response.get_data(as_text=True)


def test_a_bad_date_in_the_page_url_is_a_clear_error_not_a_500(client_as):
    response = client_as("oobc_staff").get("/calendar?date=2026-13-45")
    assert response.status_code == 422 and "is not a date" in response.get_data(as_text=True)


def test_an_event_page_and_its_occurrences(calendar_world, client_as):
    client = client_as("other_moa_staff")
    weekly = calendar_world.weekly
    html = client.get(f"/calendar/events/{weekly.id}?occurrence=20261214T0900").get_data(as_text=True)
    assert "Weekly coordination" in html and "14 Dec 2026 09:00" in html and "Every week on Monday" in html
    assert client.get(f"/calendar/events/{weekly.id}?occurrence=20261221T0900").status_code == 404  # an exception
    assert client.get(f"/calendar/events/{weekly.id}?occurrence=20261215T0900").status_code == 404  # not a Monday
    assert client.get(f"/calendar/events/{weekly.id}?occurrence=junk").status_code == 404
    assert client.get(f"/calendar/events/{calendar_world.mssd_only.id}").status_code == 404  # not theirs to see
    assert client.get(f"/calendar/events/{calendar_world.private.id}").status_code == 404
    assert client_as("oobc_staff").get(f"/calendar/events/{calendar_world.private.id}").status_code == 200


def test_a_resource_page_says_when_it_is_taken_and_by_whom_only_within_scope(calendar_world, client_as):
    room = calendar_world.room
    assert "Planning workshop" in client_as("moa_staff").get(f"/calendar/resources/{room.id}?from=2026-12-01").get_data(as_text=True)
    other = client_as("other_moa_staff").get(f"/calendar/resources/{room.id}?from=2026-12-01").get_data(as_text=True)
    assert "Planning workshop" not in other and "Booked" in other
    assert client_as("moa_staff").get("/calendar/resources/999999").status_code == 404


def test_an_organization_that_is_no_number_is_ignored_not_a_500(calendar_world, client_as):
    for value in ("²", "12345678901234", "-1", "x"):
        assert client_as("oobc_staff").get(f"/calendar?org={value}").status_code == 200
