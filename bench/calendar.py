"""Benchmark of the calendar's views over a large, spread-out calendar.

    python -m bench.calendar [--ppas 1000] [--events 20000] [--recurring 2000] [--bookings 30000] [--reps 15]

PostgreSQL when DATABASE_URL is set (a dedicated database: its tables are dropped and created again), else
SQLite in a temporary file. The data: the 1,000-PPA portfolio of bench.ppas (131 work items each), its dates
spread over 2025–2027 (activities last one to six weeks, tasks fall due inside them); EVENTS calendar events
over the same three years, RECURRING of them weekly or monthly series of 8 to 52 occurrences; 50 resources with
BOOKINGS bookings of one hour. Pages go through the Flask test client signed in as an oobc_staff user (who sees
the whole organization); time is measured around each request and the SQL statements counted. The ICS step is
one person's subscription ("only mine"): an MOA staff member assigned PERSON_TASKS tasks falling due over three
months, taking part in PERSON_EVENTS events of those months (some of them series) and with PERSON_BOOKINGS of
the bookings, fetched as a calendar app does (no session), over the feed's own span.
Prints ONE JSON object: per step {median_ms, min_ms, max_ms, queries, n, …}, plus meta and targets.
"""
import argparse
import json
import os
import platform
import random
import tempfile
import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import log, signed_in_client
from bench.ppas import QC, analyze, build_portfolio, make_app, measure

FIRST_DAY = date(2025, 1, 1)
DAYS = 3 * 365
MONTH = "2026-06-01"
PERSON_MONTHS = (date(2026, 11, 1), date(2027, 2, 1))  # the three months of the person whose feed is measured
PERSON_TASKS, PERSON_EVENTS, PERSON_BOOKINGS = 150, 40, 40


def spread_work_items(db, seed):
    """Activities over one to six weeks somewhere in the three years, their tasks due inside them
    (deterministic, from each row's id); one executemany UPDATE."""
    from obcms.workitems.models import WorkItem

    column = WorkItem.__table__.c
    rows = db.session.execute(sa.select(column.id, column.parent_id, column.work_type)
                              .where(column.work_type.in_(("activity", "task")))).all()
    spans, params = {}, []
    for row in rows:
        if row.work_type == "activity":
            start = FIRST_DAY + timedelta(days=(row.id * 7919 + seed) % DAYS)
            spans[row.id] = (start, start + timedelta(days=7 + (row.id * 31) % 35))
            params.append({"_id": row.id, "_start": spans[row.id][0], "_due": spans[row.id][1]})
    for row in rows:
        if row.work_type == "task" and row.parent_id in spans:
            start, end = spans[row.parent_id]
            params.append({"_id": row.id, "_start": None,
                           "_due": start + timedelta(days=(row.id * 13) % ((end - start).days + 1))})
    db.session.execute(sa.update(WorkItem.__table__).where(column.id == sa.bindparam("_id")).values(
        start_date=sa.bindparam("_start"), due_date=sa.bindparam("_due")), params)
    db.session.commit()
    return len(params)


def add_calendar(db, user_id, n_events, n_recurring, n_bookings, seed):
    from obcms.auth.models import Organization
    from obcms.calendar.models import Booking, CalendarEvent, Resource, new_uid
    from obcms.calendar.recurrence import MANILA
    from obcms.calendar.services import last_end

    rng = random.Random(seed)
    organizations = db.session.scalars(sa.select(Organization.id)).all()
    rows = []
    for i in range(n_events):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        start = datetime(day.year, day.month, day.day, rng.randrange(7, 17), rng.choice((0, 30)), tzinfo=MANILA)
        end = start + timedelta(minutes=rng.choice((30, 60, 90, 120, 240)))
        rrule = None
        if i < n_recurring:
            rrule = rng.choice(("FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2", "FREQ=MONTHLY")) + \
                f";COUNT={rng.randrange(8, 53)}"
        rows.append(dict(uid=new_uid(), title=f"Event {i + 1}", kind=rng.choice(("meeting", "workshop", "training")),
                         visibility=rng.choice(("public", "organization")), all_day=False, starts_at=start,
                         ends_at=end, rrule=rrule, exdates=[], last_ends_at=last_end(start, end, False, rrule),
                         organization_id=rng.choice(organizations), organizer_id=user_id, description="",
                         location="", version=1, created_at=start, updated_at=start))
    db.session.execute(sa.insert(CalendarEvent), rows)
    resources = [Resource(name=f"Bench room {i + 1}", kind="room", capacity=10) for i in range(50)]
    db.session.add_all(resources)
    db.session.flush()
    bookings, taken = [], set()
    while len(bookings) < n_bookings:
        resource = rng.choice(resources).id
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        hour = rng.randrange(7, 18)
        if (resource, day, hour) in taken:
            continue
        taken.add((resource, day, hour))
        start = datetime(day.year, day.month, day.day, hour, tzinfo=MANILA)
        bookings.append(dict(resource_id=resource, title="Booked", starts_at=start, ends_at=start + timedelta(hours=1),
                             status="approved", organization_id=rng.choice(organizations), booked_by_id=user_id,
                             decision_comment="", version=1, created_at=start, updated_at=start))
    db.session.execute(sa.insert(Booking), bookings)
    db.session.commit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--recurring", type=int, default=2000)
    parser.add_argument("--bookings", type=int, default=30000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--reuse", action="store_true",
                        help="measure the calendar an earlier run left in DATABASE_URL instead of building it")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='obcms-bench-calendar-')}/bench.db"
    app = make_app(url)
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        from obcms.auth.models import User

        t0 = time.perf_counter()
        if args.reuse:
            user_id, ppa_ids, dated = reused(db)
        else:
            user_id, ppa_ids, _ = build_portfolio(db, args.ppas, args.seed, True)
            dated = spread_work_items(db, args.seed)
            add_calendar(db, user_id, args.events, args.recurring, args.bookings, args.seed)
            analyze(db)
        build_s = time.perf_counter() - t0

        client = signed_in_client(app, db.session.get(User, user_id))
        db.session.remove()
    log(f"calendar built in {build_s:.1f} s on {backend}")

    def page(url):
        return lambda i: client.get(url)

    views = {"month": f"/calendar?view=month&date={MONTH}",
             "week": "/calendar?view=week&date=2026-06-10",
             "agenda_30_days": f"/calendar?view=agenda&date={MONTH}",
             "json_month": "/calendar/entries.json?start=2026-06-01&end=2026-07-06"}
    steps = {}
    for name, address in views.items():
        steps[name] = measure(page(address), args.reps)
        if name == "json_month":
            body = client.get(address).get_json()
            steps[name].update(entries=len(body["entries"]), truncated=body["truncated"], next=body["next"])
    with app.app_context():
        has_feeds = "calendar.feed" in app.view_functions
    if has_feeds:
        steps["ics_person_feed"] = ics_step(app, db, args.reps, args.reuse)
    targets = {"view_max_queries": 5, "view_max_ms": 100, "ics_max_ms": 200}
    print(json.dumps({
        "meta": {"backend": backend, "ppas": len(ppa_ids), "work_items_dated": dated, "events": args.events,
                 "recurring": args.recurring, "resources": 50, "bookings": args.bookings, "reps": args.reps,
                 "build_s": round(build_s, 1), "python": platform.python_version(),
                 "timing": "around Flask test-client requests, signed in as oobc_staff (sees everything)"},
        "steps": steps, "targets": targets,
        "meets_targets": all(v["queries"] <= 5 and v["median_ms"] < 100
                             for k, v in steps.items() if not k.startswith("ics"))
        and all(v["median_ms"] < 200 for k, v in steps.items() if k.startswith("ics")),
    }, indent=1))


def reused(db):
    """(bench user id, PPA ids, dated work items) of the calendar an earlier run built."""
    from obcms.auth.models import User
    from obcms.ppas.models import Ppa
    from obcms.workitems.models import WorkItem

    user_id = db.session.scalar(sa.select(User.id).where(User.username == "bench"))
    if user_id is None:
        raise SystemExit("--reuse: no benchmark calendar in this database; run once without it.")
    ppa_ids = db.session.scalars(sa.select(Ppa.id).where(Ppa.title != "Benchmark PPA 1001")).all()
    dated = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                              .where(WorkItem.work_type.in_(("activity", "task")), WorkItem.due_date.is_not(None)))
    return user_id, ppa_ids, dated


def add_person(db):
    """An MOA staff member with three months of their own: assigned tasks, events they take part in (series
    among them), bookings they made. Their user id."""
    from obcms.auth import services as auth_services
    from obcms.auth.models import Organization
    from obcms.calendar.models import Booking, CalendarEvent, event_participants
    from obcms.calendar.recurrence import MANILA
    from obcms.workitems.models import WorkItem, work_item_assignees

    first, end = PERSON_MONTHS
    ministry = db.session.scalar(sa.select(Organization).where(Organization.acronym == "BM0"))
    person = auth_services.create_user("bench-person", "person@example.gov.ph", "bench-password-0123456789",
                                       "moa_staff", ministry, full_name="Benchmark Person")
    db.session.flush()
    tasks = db.session.scalars(sa.select(WorkItem.id).where(
        WorkItem.work_type == "task", WorkItem.organization_id == ministry.id, WorkItem.due_date >= first,
        WorkItem.due_date < end).order_by(WorkItem.id).limit(PERSON_TASKS)).all()
    db.session.execute(sa.insert(work_item_assignees), [{"work_item_id": t, "user_id": person.id} for t in tasks])
    starts_at, ends_at = (datetime.combine(day, datetime.min.time(), MANILA) for day in PERSON_MONTHS)
    def events_of_the_months(recurring, n):
        return db.session.scalars(sa.select(CalendarEvent.id).where(
            CalendarEvent.starts_at >= starts_at, CalendarEvent.starts_at < ends_at,
            CalendarEvent.rrule.is_not(None) if recurring else CalendarEvent.rrule.is_(None))
            .order_by(CalendarEvent.id).limit(n)).all()

    events = events_of_the_months(True, 5) + events_of_the_months(False, PERSON_EVENTS - 5)
    db.session.execute(sa.insert(event_participants), [{"event_id": e, "user_id": person.id} for e in events])
    bookings = db.session.scalars(sa.select(Booking.id).where(Booking.starts_at >= starts_at, Booking.starts_at < ends_at)
                                  .order_by(Booking.id).limit(PERSON_BOOKINGS)).all()
    db.session.execute(sa.update(Booking).where(Booking.id.in_(bookings)).values(booked_by_id=person.id,
                                                                                 organization_id=ministry.id))
    db.session.commit()
    return person.id


def ics_step(app, db, reps, reuse):
    """One person's feed ("only mine": what is theirs), subscribed through the service and fetched as a
    calendar app does."""
    from obcms.auth.models import User
    from obcms.calendar import feeds
    from obcms.calendar.queries import Filters

    with app.app_context():
        person_id = db.session.scalar(sa.select(User.id).where(User.username == "bench-person")) if reuse else None
        person = db.session.get(User, person_id or add_person(db))
        _, token = feeds.create_feed(person, "Bench person", Filters(mine=True))
        db.session.commit()
    calendar_app = app.test_client()
    step = measure(lambda i: calendar_app.get(f"/calendar/feeds/{token}.ics"), reps)
    return {**step, "vevents": calendar_app.get(f"/calendar/feeds/{token}.ics").data.count(b"BEGIN:VEVENT")}


if __name__ == "__main__":
    main()
