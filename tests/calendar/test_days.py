"""The month and week grids and the agenda at scale: each day's count and first entries come from SQL (plus the
recurring series and PPA dates Python adds), equal to what the full list of entries says; "+N more" opens the
day; the agenda comes in pages that add up to the whole list; the JSON window can be cut at a limit; every page
keeps to five statements with the user's."""
import re
from datetime import date, datetime

import pytest
from flask import current_app

from obcms.calendar import queries
from obcms.calendar.models import Booking, CalendarEvent
from obcms.calendar.queries import Filters, Window, agenda_page, calendar_days, calendar_entries, window_entries
from obcms.extensions import db
from obcms.workitems import services as workitem_services
from tests.calendar.conftest import manila

DECEMBER = Window(date(2026, 11, 30), date(2027, 1, 4))  # the month grid of December 2026
HX = {"HX-Request": "true"}


@pytest.fixture
def busy_day(calendar_world, users):
    """10 December gets crowded: six more tasks, an all-day event over three days, two bookings, a meeting."""
    staff = users["oobc_staff"]
    for title in ("Zinc order", "Approve forms", "Book venue", "Call LGU", "Draft memo", "Email partners"):
        workitem_services.create_work_item(calendar_world.activity, staff, title=title, work_type="task",
                                           due_date=date(2026, 12, 10))
    db.session.add(CalendarEvent(title="Field visit", visibility="public", organization_id=calendar_world.public.organization_id,
                                 all_day=True, starts_at=manila(2026, 12, 9), ends_at=manila(2026, 12, 12),
                                 last_ends_at=manila(2026, 12, 12), organizer_id=staff.id, kind="meeting"))
    db.session.add(CalendarEvent(title="Early briefing", visibility="public", organization_id=calendar_world.public.organization_id,
                                 starts_at=manila(2026, 12, 10, 7), ends_at=manila(2026, 12, 10, 8),
                                 last_ends_at=manila(2026, 12, 10, 8), organizer_id=staff.id, kind="meeting"))
    for hour in (13, 15):
        db.session.add(Booking(resource_id=calendar_world.room.id, title=f"Session at {hour}",
                               starts_at=manila(2026, 12, 10, hour), ends_at=manila(2026, 12, 10, hour + 1),
                               status="approved", booked_by_id=users["moa_staff"].id,
                               organization_id=calendar_world.booking.organization_id))
    db.session.flush()
    return calendar_world


def by_day(window, user, filters):
    """What the full list says each day holds, in the grid's order (the reference the SQL is held to)."""
    entries = calendar_entries(window, user, filters)
    return {day: [e.title for e in sorted((e for e in entries if e.first_day <= day <= e.last_day),
                                          key=queries._order_in_day)] for day in window.days()}


FILTERS = [("oobc_staff", Filters()), ("moa_staff", Filters()), ("moa_staff", Filters(mine=True)),
           ("other_moa_staff", Filters()), ("oobc_staff", Filters(modules=frozenset({"staff", "resources"}))),
           ("oobc_staff", Filters(modules=frozenset({"coordination"})))]


@pytest.mark.parametrize("candidates", [400, 1])  # 1: nearly every day is short of spans and ranks them all
@pytest.mark.parametrize(("username", "filters"), FILTERS)
def test_each_day_counts_and_shows_its_first_entries_as_the_full_list_says(busy_day, users, monkeypatch,
                                                                           username, filters, candidates):
    monkeypatch.setattr(queries, "CANDIDATES", candidates)
    user = users[username]
    with current_app.test_request_context():
        expected = by_day(DECEMBER, user, filters)
        for per_day in (1, 4, 12):
            for cell in calendar_days(DECEMBER, user, filters, per_day):
                assert cell.total == len(expected[cell.day]), (cell.day, per_day)
                assert [e.title for e in cell.entries] == expected[cell.day][:per_day], (cell.day, per_day)
                assert cell.more == max(len(expected[cell.day]) - per_day, 0)


@pytest.mark.parametrize(("username", "filters"), FILTERS)
def test_the_agenda_pages_add_up_to_the_whole_list(busy_day, users, username, filters):
    user = users[username]
    window = Window(date(2026, 12, 1), date(2026, 12, 31))
    with current_app.test_request_context():
        expected = [(day, title) for day, titles in by_day(window, user, filters).items() for title in titles]
        listed, offset, pages = [], 0, 0
        while offset is not None:
            page = agenda_page(window, user, filters, offset, 3)
            assert page.total == len(expected)
            listed += [(day, e.title) for day, entries in page.days for e in entries]
            if page.days and offset:
                assert page.continued == (expected[offset - 1][0] == page.days[0][0])
            offset, pages = page.next_offset, pages + 1
    assert listed == expected and pages == max(1, -(-len(expected) // 3))


def test_a_crowded_day_shows_four_then_more_that_opens_the_day(busy_day, client_as):
    html = client_as("oobc_staff").get("/calendar?view=month&date=2026-12-01").get_data(as_text=True)
    cell = re.search(r'<td class="cal-day[^"]*" data-date="2026-12-10">(.*?)</td>', html, re.S).group(1)
    shown = re.findall(r'<span class="cal-entry-title">([^<]*)</span>', cell)
    assert shown == ["Approve forms", "Book venue", "Call LGU", "Draft memo"]  # all-day first, by title
    more = re.search(r'<a class="cal-more small" href="([^"]+)"[^>]*aria-label="7 more on 10 Dec 2026">\+7<span class="cal-more-word"> more</span></a>',
                     cell.replace("\n", " "))
    assert more.group(1).replace("&amp;", "&") == "/calendar?view=agenda&date=2026-12-10"
    assert 'aria-label="10 Dec 2026, 11 entries"' in cell
    day = client_as("oobc_staff").get(more.group(1).replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert "<html" not in day and "Thursday, 10 Dec 2026" in day


def test_the_week_lists_more_per_day(busy_day, client_as):
    html = client_as("oobc_staff").get("/calendar?view=week&date=2026-12-10").get_data(as_text=True)
    day = re.search(r'data-date="2026-12-10">(.*?)</li>\s*<li class="cal-week-day', html, re.S).group(1)
    titles = re.findall(r'class="cal-entry-title">([^<]*)', day)
    assert len(titles) == 11 and "cal-more" not in day
    assert titles[-3:] == ["Early briefing", "Conference Room A: Session at 13", "Conference Room A: Session at 15"]


def test_the_agenda_in_pages_with_htmx_and_without(busy_day, client_as, monkeypatch):
    monkeypatch.setattr("obcms.calendar.views.AGENDA_PAGE", 4)
    client = client_as("oobc_staff")
    first = client.get("/calendar?view=agenda&date=2026-12-01").get_data(as_text=True)
    assert len(re.findall('class="cal-entry-title"', first)) == 4
    more = re.search(r'<a class="button" href="([^"]+)" hx-get="[^"]+" hx-target="closest li" hx-swap="outerHTML">Show more</a>',
                     first).group(1).replace("&amp;", "&")
    assert more == "/calendar?view=agenda&date=2026-12-01&offset=4"
    fragment = client.get(more, headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and 'class="cal-agenda-day' in fragment and "cal-nav" not in fragment
    assert len(re.findall('class="cal-entry-title"', fragment)) == 4 and "offset=8" in fragment
    plain = client.get(more).get_data(as_text=True)
    assert "<html" in plain and "Entries 5–8 of" in plain and "From the first" in plain


def test_the_json_window_is_cut_at_its_limit_on_a_day(busy_day, client_as):
    client = client_as("oobc_staff")
    whole = client.get("/calendar/entries.json?start=2026-12-01&end=2027-01-01").get_json()
    assert whole["truncated"] is False and whole["next"] is None
    cut = client.get("/calendar/entries.json?start=2026-12-01&end=2027-01-01&limit=5").get_json()
    assert cut["truncated"] is True and len(cut["entries"]) <= 5
    following = date.fromisoformat(cut["next"])
    assert all(date.fromisoformat(e["start"][:10]) < following for e in cut["entries"])
    rest = client.get(f"/calendar/entries.json?start={cut['next']}&end=2027-01-01&limit=5000").get_json()
    ids = {e["id"] for e in cut["entries"]} | {e["id"] for e in rest["entries"]}
    assert ids == {e["id"] for e in whole["entries"]}


def test_a_day_with_more_than_the_limit_is_cut_at_the_limit(busy_day, users):
    with current_app.test_request_context():
        entries, following = window_entries(Window(date(2026, 12, 10), date(2026, 12, 11)), users["oobc_staff"],
                                            Filters(), 3)
    assert len(entries) == 3 and following == date(2026, 12, 11)


@pytest.mark.parametrize("url", ["/calendar?view=month&date=2026-12-01", "/calendar?view=week&date=2026-12-09",
                                 "/calendar?view=agenda&date=2026-12-01",
                                 "/calendar?view=agenda&date=2026-12-01&offset=3",
                                 "/calendar/entries.json?start=2026-12-01&end=2027-01-04"])
@pytest.mark.parametrize("username", ["oobc_staff", "moa_staff"])
def test_every_view_reads_in_five_statements_with_the_users(busy_day, client_as, count_queries, url, username):
    client = client_as(username)
    client.get(url)  # warm: the first request loads what every request shares
    with count_queries() as q:
        assert client.get(url).status_code == 200
    assert q.count <= 5, q.statements
    with count_queries() as q:
        assert client.get(url, headers=HX).status_code == 200
    assert q.count <= 5, q.statements


def test_a_bad_offset_or_limit_is_read_as_none(busy_day, client_as):
    client = client_as("oobc_staff")
    for value in ("-1", "x", "²", "99999999"):
        assert client.get(f"/calendar?view=agenda&date=2026-12-01&offset={value}").status_code == 200
        assert client.get(f"/calendar/entries.json?start=2026-12-01&end=2026-12-08&limit={value}").status_code == 200


def test_the_window_days_are_every_day_once():
    assert Window(date(2026, 12, 30), date(2027, 1, 2)).days() == [date(2026, 12, 30), date(2026, 12, 31),
                                                                   date(2027, 1, 1)]
    assert datetime  # the module's imports are all used
