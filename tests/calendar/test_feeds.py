"""ICS subscriptions through HTTP: a personal secret URL per calendar filter, stored hashed, listed on the
account page, revocable (then 404), rate limited; the feed parsed back with `icalendar` (VTIMEZONE, RRULE,
EXDATE, RECURRENCE-ID, stable UIDs, SEQUENCE) and expanded by a second library (`recurring-ical-events`) into
exactly the occurrences the calendar itself shows; the .ics download of one event."""
import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa
import time_machine
from flask import current_app

from config import TestingConfig
from obcms import create_app
from obcms.calendar import feeds, services
from obcms.calendar.models import CalendarFeed
from obcms.calendar.queries import MODULES, Filters, Window, calendar_entries
from obcms.calendar.recurrence import MANILA
from obcms.extensions import db
from tests.calendar.conftest import manila

DECEMBER = Window(date(2026, 12, 1), date(2027, 1, 1))
FEED_URL = re.compile(r'id="feed-url" value="http://localhost(/calendar/feeds/([A-Za-z0-9_-]+)\.ics)"')


@pytest.fixture(autouse=True)
def november():
    """The feeds cover 90 days back to 365 ahead of today: fetch them as of 20 November 2026."""
    with time_machine.travel(datetime(2026, 11, 20, 4, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def subscribe(client, csrf_token, query="", name=""):
    """Subscribe through the pages as a person does: the form for the calendar's filter, then its POST.
    Returns (the feed's path, its token)."""
    form = client.get(f"/calendar/feeds/new?{query}")
    assert form.status_code == 200
    fields = {"name": name, "csrf_token": csrf_token(client)}
    for key, value in re.findall(r'<input type="hidden" name="(module|mine|org|filtered)" value="([^"]*)"',
                                 form.get_data(as_text=True)):
        fields.setdefault(key, []).append(value)
    response = client.post("/calendar/feeds", data=fields)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    path, token = FEED_URL.search(response.get_data(as_text=True)).groups()
    return path, token


def fetch(app, path):
    return app.test_client().get(path)  # a calendar app: no session, no cookie


def parse(response):
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.data)


def vevents(ical):
    return list(ical.walk("VEVENT"))


def by_summary(ical):
    return {str(e["SUMMARY"]): e for e in vevents(ical)}


def move_one_occurrence(world, actor):
    """Edit the 14 December occurrence of the weekly series on its own (an override, 11:00–12:00)."""
    weekly, occurrence = world.weekly, manila(2026, 12, 14, 9)
    values = services.form_values(weekly, occurrence)
    return services.update_event(weekly, weekly.version, actor, scope="occurrence", occurrence=occurrence,
                                 **{**values, "title": "Weekly coordination (moved)", "start_time": time(11),
                                    "end_time": time(12)})


def moment(value):
    """A start or end as comparable: a date stays a date, a datetime becomes Manila time."""
    return value.astimezone(MANILA) if isinstance(value, datetime) else value


# ------------------------------------------------------------------------------------------------- subscribing
def test_subscribing_shows_the_url_once_and_stores_only_its_hash(app, calendar_world, client_as, csrf_token, users):
    client = client_as("moa_staff")
    form = client.get("/calendar/feeds/new?modules=planning,staff&mine=1").get_data(as_text=True)
    assert 'value="obcms – Planning, Staff tasks (only mine)"' in form and "Planning, Staff tasks · only mine" in form
    response = client.post("/calendar/feeds", data={"filtered": "1", "module": ["planning", "staff"], "mine": "1",
                                                    "name": "  My   tasks ", "csrf_token": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    path, token = FEED_URL.search(html).groups()
    assert f'value="webcal://localhost{path}"' in html and "shown only this once" in html
    feed = db.session.scalars(sa.select(CalendarFeed).where(CalendarFeed.user_id == users["moa_staff"].id)).one()
    assert feed.name == "My tasks"
    assert feed.filters == {"modules": ["planning", "staff"], "mine": True, "organization_id": None}
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = db.session.execute(sa.select(CalendarFeed.__table__)).one()
    assert not any(token in str(value) for value in row)  # the secret is nowhere in the database
    account = client.get("/account").get_data(as_text=True)
    assert "Calendar subscriptions" in account and "My tasks" in account and "Never" in account
    assert "Planning, Staff tasks · only mine" in account and token not in account
    assert token not in client.get("/calendar/feeds/new").get_data(as_text=True)  # never shown again
    assert len(token) >= 43  # 32 random bytes


def test_the_calendar_offers_to_subscribe_to_what_it_shows(client_as):
    html = client_as("viewer").get("/calendar?view=week&date=2026-12-01&modules=planning&mine=1").get_data(as_text=True)
    assert 'href="/calendar/feeds/new?modules=planning&amp;mine=1">Subscribe…</a>' in html


def test_a_too_long_name_is_refused_with_the_form_again(client_as, csrf_token):
    client = client_as("oobc_staff")
    response = client.post("/calendar/feeds", data={"name": "x" * 101, "csrf_token": csrf_token(client)})
    assert response.status_code == 422 and "At most 100 characters." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0
    assert client.post("/calendar/feeds", data={"name": "no token"}).status_code == 400  # CSRF


# ------------------------------------------------------------------------------------------------- the feed
def test_the_feed_parses_with_timezone_rules_exceptions_and_overrides(app, calendar_world, client_as, csrf_token,
                                                                      users):
    override = move_one_occurrence(calendar_world, users["oobc_staff"])
    path, _ = subscribe(client_as("oobc_staff"), csrf_token, name="Everything")
    response = fetch(app, path)
    ical = parse(response)
    assert str(ical["PRODID"]) == "-//obcms//calendar//EN" and str(ical["X-WR-CALNAME"]) == "Everything"
    assert [str(tz["TZID"]) for tz in ical.walk("VTIMEZONE")] == ["Asia/Manila"]
    events = vevents(ical)
    weekly = calendar_world.weekly
    series = [e for e in events if str(e["UID"]) == weekly.uid]
    master = next(e for e in series if "RECURRENCE-ID" not in e)
    moved = next(e for e in series if "RECURRENCE-ID" in e)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    assert master["DTSTART"].params["TZID"] == "Asia/Manila" and master.decoded("DTSTART") == manila(2026, 12, 7, 9)
    exdates = [d.dt for exdate in _list(master.get("EXDATE")) for d in exdate.dts]
    assert exdates == [manila(2026, 12, 21, 9)]  # the 14th is replaced by its override, not excluded
    assert moved.decoded("RECURRENCE-ID") == manila(2026, 12, 14, 9)
    assert moved.decoded("DTSTART") == manila(2026, 12, 14, 11) and str(moved["SUMMARY"]) == override.title
    summit = by_summary(ical)["Bangsamoro planning summit"]
    assert str(summit["LOCATION"]) == "Cotabato City" and str(summit["UID"]) == calendar_world.public.uid
    assert str(summit["URL"]) == f"http://localhost/calendar/events/{calendar_world.public.id}"
    activity = by_summary(ical)["Community orientation"]
    assert str(activity["UID"]) == f"workitem-{calendar_world.activity.id}@obcms"
    assert activity["DTSTART"].params.get("VALUE") == "DATE"
    assert (activity.decoded("DTSTART"), activity.decoded("DTEND")) == (date(2026, 12, 7), date(2026, 12, 10))
    booking = by_summary(ical)["Conference Room A: Planning workshop"]
    assert booking.decoded("DTSTART") == manila(2026, 12, 8, 9) and str(booking["STATUS"]) == "CONFIRMED"
    assert str(by_summary(ical)["MSSD-CAL-1 milestone: Kits delivered"]["UID"]) == \
        f"ppa-{calendar_world.ppa.id}-milestone0@obcms"


def _list(value):
    return value if isinstance(value, list) else [value] if value is not None else []


@pytest.mark.parametrize(("username", "query"), [
    ("oobc_staff", ""),
    ("oobc_staff", "modules=coordination"),
    ("moa_staff", "mine=1"),
    ("moa_staff", "modules=planning,staff,resources"),
    ("other_moa_staff", ""),
    ("admin", "org=MSSD"),
])
def test_the_expanded_feed_is_exactly_what_the_calendar_shows(app, calendar_world, client_as, csrf_token, users,
                                                              organizations, username, query):
    move_one_occurrence(calendar_world, users["oobc_staff"])
    query = query.replace("org=MSSD", f"org={organizations['MSSD'].id}")
    path, token = subscribe(client_as(username), csrf_token, query)
    ical = parse(fetch(app, path))
    expanded = Counter((str(e["SUMMARY"]), moment(e.decoded("DTSTART")), moment(e.decoded("DTEND")))
                       for e in recurring_ical_events.of(ical).between(DECEMBER.start, DECEMBER.end))
    filters = feeds.filters_from_json(feeds.feed_for_token(token).filters)
    with current_app.test_request_context():
        ours = Counter((e.title, moment(e.start), moment(e.end))
                       for e in calendar_entries(DECEMBER, users[username], filters))
    assert expanded == ours
    assert ours  # the comparison is about something
    if "coordination" in filters.modules and not filters.mine and filters.organization_id is None:
        assert ("Weekly coordination (moved)", manila(2026, 12, 14, 11), manila(2026, 12, 14, 12)) in expanded
        assert not any(start == manila(2026, 12, 21, 9) for _, start, _ in expanded)


def test_uids_are_stable_and_the_sequence_rises_with_an_edit(app, calendar_world, client_as, csrf_token, users):
    path, _ = subscribe(client_as("oobc_staff"), csrf_token)
    first, second = parse(fetch(app, path)), parse(fetch(app, path))
    uids = sorted(str(e["UID"]) for e in vevents(first))
    assert uids == sorted(str(e["UID"]) for e in vevents(second)) and len(set(uids)) == len(uids)
    summit = calendar_world.public
    before = by_summary(first)["Bangsamoro planning summit"]
    assert int(before["SEQUENCE"]) == summit.version - 1
    services.update_event(summit, summit.version, users["oobc_staff"],
                          **{**services.form_values(summit), "title": "Bangsamoro planning summit (day 1)"})
    db.session.commit()
    after = by_summary(parse(fetch(app, path)))["Bangsamoro planning summit (day 1)"]
    assert str(after["UID"]) == str(before["UID"]) and int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("LAST-MODIFIED") >= before.decoded("LAST-MODIFIED")


def test_text_a_user_wrote_cannot_break_out_of_its_property(app, calendar_world, client_as, csrf_token):
    calendar_world.public.title = 'Summit\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil;x,y\\'
    calendar_world.public.description = "Line one\nLine two; with, punctuation"
    db.session.flush()
    path, _ = subscribe(client_as("oobc_staff"), csrf_token)
    ical = parse(fetch(app, path))
    summit = next(e for e in vevents(ical) if str(e["UID"]) == calendar_world.public.uid)
    assert str(summit["SUMMARY"]) == 'Summit\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil;x,y\\'
    assert str(summit["DESCRIPTION"]) == "Line one\nLine two; with, punctuation"
    assert not any(str(e["UID"]).startswith("evil") for e in vevents(ical))


def test_an_moa_users_feed_holds_nothing_of_another_organization(app, calendar_world, client_as, csrf_token):
    path, _ = subscribe(client_as("other_moa_staff"), csrf_token)
    summaries = set(by_summary(parse(fetch(app, path))))
    assert {"Bangsamoro planning summit", "Weekly coordination"} <= summaries
    for hidden in ("MSSD staff meeting", "Budget huddle", "Community orientation", "Print the forms",
                   "Conference Room A: Planning workshop", "MSSD-CAL-1 milestone: Kits delivered",
                   "MSSD-CAL-1 starts: Livelihood program"):
        assert hidden not in summaries, hidden
    mine, _ = subscribe(client_as("moa_staff"), csrf_token, "mine=1")
    assert set(by_summary(parse(fetch(app, mine)))) == {"Print the forms", "Conference Room A: Planning workshop"}


def test_a_feed_follows_its_owner_as_they_are_now(app, calendar_world, client_as, csrf_token, users):
    path, _ = subscribe(client_as("moa_staff"), csrf_token)
    assert "MSSD staff meeting" in by_summary(parse(fetch(app, path)))
    users["moa_staff"].is_active = False
    db.session.flush()
    assert fetch(app, path).status_code == 404


def test_the_feed_notes_its_last_use_at_most_once_a_minute(app, calendar_world, client_as, csrf_token, users,
                                                           november):
    path, token = subscribe(client_as("moa_staff"), csrf_token)
    feed_id = feeds.feed_for_token(token).id

    def last_used():
        db.session.expire_all()
        return db.session.get(CalendarFeed, feed_id).last_used_at

    assert last_used() is None
    fetch(app, path)
    first = last_used()
    assert first == datetime(2026, 11, 20, 4, tzinfo=UTC)
    november.shift(timedelta(seconds=30))
    fetch(app, path)
    assert last_used() == first
    november.shift(timedelta(seconds=40))
    fetch(app, path)
    assert last_used() == first + timedelta(seconds=70)
    assert "20 Nov 2026" in client_as("moa_staff").get("/account").get_data(as_text=True)


def test_the_feed_reads_in_a_constant_number_of_queries(app, calendar_world, client_as, csrf_token, count_queries):
    path, _ = subscribe(client_as("oobc_staff"), csrf_token)
    fetch(app, path)
    with count_queries() as q:
        assert fetch(app, path).status_code == 200
    assert q.count <= 10


# ------------------------------------------------------------------------------------------------- revoking
def test_revoked_and_unknown_feeds_are_a_plain_404(app, calendar_world, client_as, csrf_token, users):
    client = client_as("moa_staff")
    path, token = subscribe(client, csrf_token, name="Soon revoked")
    feed = feeds.feed_for_token(token)
    assert fetch(app, path).status_code == 200
    stranger = client_as("other_moa_staff")
    assert stranger.post(f"/calendar/feeds/{feed.id}/revoke",
                         data={"csrf_token": csrf_token(stranger)}).status_code == 404
    assert fetch(app, path).status_code == 200  # someone else's attempt changed nothing
    response = client.post(f"/calendar/feeds/{feed.id}/revoke", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    revoked, unknown = fetch(app, path), fetch(app, "/calendar/feeds/" + "A" * 43 + ".ics")
    assert revoked.status_code == unknown.status_code == 404
    for answer in (revoked, unknown):  # the same words for both: nothing says which
        assert "There is no calendar here." in answer.get_data(as_text=True)
        assert "revoked" not in answer.get_data(as_text=True).lower()
    account = client.get("/account").get_data(as_text=True)
    assert "<td>Soon revoked</td>" not in account and "“Soon revoked” is revoked" in account
    again = client.post(f"/calendar/feeds/{feed.id}/revoke", data={"csrf_token": csrf_token(client)})
    assert again.status_code == 303  # twice is once
    assert fetch(app, "/calendar/feeds/x.ics").status_code == 404
    assert fetch(app, "/calendar/feeds/" + "x" * 500 + ".ics").status_code == 404


def test_the_rate_limit_answers_429_per_feed(database_url, calendar_world, users):
    limited = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=True,
                         FEED_RATE_LIMIT="3 per hour")
    _, token = feeds.create_feed(users["moa_staff"], "Limited", Filters())
    _, other = feeds.create_feed(users["moa_staff"], "Another", Filters())
    db.session.flush()
    client = limited.test_client()
    for _ in range(3):
        assert client.get(f"/calendar/feeds/{token}.ics").status_code == 200
    response = client.get(f"/calendar/feeds/{token}.ics")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert client.get(f"/calendar/feeds/{other}.ics").status_code == 200  # each feed has its own allowance


# ------------------------------------------------------------------------------------------------- one event
def test_one_event_downloads_as_ics_within_what_the_user_may_see(app, calendar_world, client_as, users):
    override = move_one_occurrence(calendar_world, users["oobc_staff"])
    client = client_as("other_moa_staff")
    weekly = calendar_world.weekly
    response = client.get(f"/calendar/events/{weekly.id}.ics")
    assert response.headers["Content-Disposition"] == f'attachment; filename="event-{weekly.id}.ics"'
    ical = parse(response)
    events = vevents(ical)
    assert {str(e["UID"]) for e in events} == {weekly.uid}
    assert len(events) == 2 and str(ical["X-WR-CALNAME"]) == "Weekly coordination"
    assert any("RRULE" in e for e in events) and any(str(e["SUMMARY"]) == override.title for e in events)
    assert ical.walk("VTIMEZONE")
    assert client.get(f"/calendar/events/{calendar_world.mssd_only.id}.ics").status_code == 404
    assert client.get(f"/calendar/events/{calendar_world.private.id}.ics").status_code == 404
    private = parse(client_as("oobc_staff").get(f"/calendar/events/{calendar_world.private.id}.ics"))
    assert [str(e["SUMMARY"]) for e in vevents(private)] == ["Budget huddle"]
    assert client.get("/calendar/events/999999.ics").status_code == 404


def test_filters_in_words_and_default_names():
    everything = Filters()
    assert feeds.describe(everything) == "Everything" and feeds.default_name(everything) == "obcms – Calendar"
    some = Filters(frozenset({"staff", "planning"}), True, 3)
    assert feeds.describe(some, "MSSD") == "Planning, Staff tasks · only mine · MSSD"
    assert feeds.default_name(some, "MSSD") == "obcms – Planning, Staff tasks (only mine, MSSD)"
    assert feeds.filters_from_json(feeds.filters_to_json(some)) == some
    assert feeds.filters_from_json({"modules": ["nope", "staff"], "mine": "yes", "organization_id": True}) == \
        Filters(frozenset({"staff"}), False, None)
    assert feeds.filters_from_json(None) == Filters(frozenset(MODULES))
