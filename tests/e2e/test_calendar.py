"""The calendar in a real browser: add a weekly meeting from the month view, see its occurrences, move one of
them with the keyboard ("Move to…"), drag another to a new day; book a room and meet the conflict when booking
it again; subscribe and fetch the feed; the views at phone width."""
import re
from datetime import date, datetime, timedelta
from urllib.request import urlopen

from playwright.sync_api import expect

MARCH = "/calendar?view=month&date=2029-03-01"


def cell(page, day):
    return page.locator(f'td.cal-day[data-date="{day}"]')


def test_a_weekly_meeting_added_moved_by_keyboard_and_dragged(signed_in_page):
    page = signed_in_page("staff")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(MARCH)
    expect(page.get_by_role("heading", name="March 2029")).to_be_visible()

    page.get_by_role("link", name="New event").click()
    dialog = page.locator("dialog#event-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill("E2E weekly sync")
    dialog.get_by_label("Starts").fill("2029-03-06")
    dialog.locator("#start_time").fill("10:00")
    dialog.get_by_label("Ends").first.fill("2029-03-06")
    dialog.locator("#end_time").fill("11:00")
    dialog.get_by_label("Repeats").select_option("weekly")
    dialog.locator("#ends").select_option("count")
    dialog.locator("#count").fill("4")
    dialog.get_by_role("button", name="Add to the calendar").click()
    expect(dialog).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("“E2E weekly sync” is on the calendar.")
    for day in ("2029-03-06", "2029-03-13", "2029-03-20", "2029-03-27"):
        expect(cell(page, day)).to_contain_text("E2E weekly sync")

    # The keyboard: open the second occurrence, then "Move to…" with Enter.
    entry = cell(page, "2029-03-13").get_by_role("link", name=re.compile("E2E weekly sync"))
    entry.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="E2E weekly sync")).to_be_visible()
    move = page.get_by_role("link", name="Move to…")
    move.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#event-dialog")
    expect(dialog.get_by_label("New day")).to_have_value("2029-03-13")
    dialog.get_by_label("New day").fill("2029-03-14")
    expect(dialog.get_by_label("Move")).to_have_value("occurrence")
    dialog.get_by_role("button", name="Move").click()
    expect(page).to_have_url(re.compile(r"/calendar\?date=2029-03-14"))
    expect(cell(page, "2029-03-14")).to_contain_text("E2E weekly sync")
    expect(cell(page, "2029-03-13")).not_to_contain_text("E2E weekly sync")

    # The pointer: drag the third occurrence to the Thursday (both on screen: a drag does not scroll).
    page.set_viewport_size({"width": 1440, "height": 1200})
    cell(page, "2029-03-20").get_by_role("link", name=re.compile("E2E weekly sync")).drag_to(cell(page, "2029-03-22"))
    expect(page.locator("#toasts")).to_contain_text("moved to 22 Mar 2029")
    expect(cell(page, "2029-03-22")).to_contain_text("E2E weekly sync")
    expect(cell(page, "2029-03-20")).not_to_contain_text("E2E weekly sync")
    assert errors == []


def test_book_a_room_twice_then_subscribe_and_fetch_the_feed(signed_in_page, live_server):
    page = signed_in_page("staff")
    page.goto("/calendar")
    page.get_by_role("link", name="Rooms and resources").click()
    page.get_by_role("link", name=re.compile("OOBC Conference Room A")).first.click()
    page.get_by_role("link", name="Book this resource").click()
    day = date.today() + timedelta(days=60)  # inside the feed's window (90 days back, a year ahead)
    form = {"title": "E2E planning session", "date": day.isoformat(), "start_time": "09:00", "end_time": "11:00"}
    for field, value in form.items():
        page.locator(f"#{field}").fill(value)
    page.get_by_role("button", name=re.compile("^Book OOBC Conference Room A")).click()
    expect(page.locator("body")).to_contain_text("E2E planning session")

    page.get_by_role("link", name="Book this resource").click()
    for field, value in {**form, "title": "E2E clash", "start_time": "10:00", "end_time": "12:00"}.items():
        page.locator(f"#{field}").fill(value)
    page.get_by_role("button", name=re.compile("^Book OOBC Conference Room A")).click()
    expect(page.locator("body")).to_contain_text("OOBC Conference Room A is booked 09:00–11:00")

    page.goto(f"/calendar?view=month&date={day.isoformat()}&modules=resources")
    page.get_by_role("link", name="Subscribe…").click()
    page.get_by_role("button", name="Create the subscription URL").click()
    feed_url = page.locator("#feed-url").input_value()
    assert "/calendar/feeds/" in feed_url
    body = urlopen(feed_url.replace("http://localhost", live_server.url)).read().decode()  # no sign-in: the token
    assert body.startswith("BEGIN:VCALENDAR") and "E2E planning session" in body and "E2E clash" not in body


def test_the_views_fit_a_phone(signed_in_page):
    page = signed_in_page("staff")
    page.set_viewport_size({"width": 390, "height": 844})
    for view in ("month", "week", "agenda"):
        page.goto(f"/calendar?view={view}&date=2029-03-01")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (view, width)


def test_a_crowded_day_shows_its_first_entries_and_more_that_opens_it(signed_in_page, live_server):
    """Nine meetings on one day: the month cell lists four and "+5 more", which opens that day's agenda (htmx,
    with the URL); screenshots at desktop and phone width in instance/screenshots/ (calendar-more-*.png)."""
    from pathlib import Path

    import sqlalchemy as sa

    from obcms.auth.models import User
    from obcms.calendar.models import CalendarEvent
    from obcms.calendar.recurrence import MANILA
    from obcms.extensions import db

    day = date(2029, 4, 11)
    with live_server.app.app_context():
        staff = db.session.scalar(sa.select(User).where(User.username == "staff"))
        for hour in range(8, 17):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=MANILA)
            db.session.add(CalendarEvent(title=f"Crowded meeting {hour:02d}", visibility="public", kind="meeting",
                                         organization_id=staff.organization_id, organizer_id=staff.id,
                                         starts_at=start, ends_at=start + timedelta(minutes=45),
                                         last_ends_at=start + timedelta(minutes=45)))
        db.session.commit()
    screenshots = Path(__file__).parents[2] / "instance" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page = signed_in_page("staff")
    for size, (width, height) in {"desktop": (1440, 900), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/calendar?view=month&date=2029-04-01")
        crowded = cell(page, day.isoformat())
        expect(crowded.locator(".cal-entry")).to_have_count(4)
        expect(crowded.locator(".cal-more")).to_have_text("+5 more" if size == "desktop" else "+5", use_inner_text=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(screenshots / f"calendar-more-{size}.png"), full_page=True)
    crowded.locator(".cal-more").click()
    expect(page.locator(".cal-agenda-head").first).to_contain_text("Wednesday, 11 Apr 2029")
    expect(page).to_have_url(re.compile(r"view=agenda&date=2029-04-11"))
    expect(page.locator(".cal-agenda-day").first.locator(".cal-entry")).to_have_count(9)
