"""Benchmark of global search and bulk operations (issue 14's bench.search_bulk) on a generated portfolio.

    python -m bench.search_bulk [--ppas 1000] [--reps 3] [--seed 7] [--reset] [--small] [--bulk-items 1000]
                                [--events 20000] [--skip-search]

The portfolio is bench.ppas.build_portfolio's (N PPAs over 5 MOAs, each with a 131-node work-item tree: 100
tasks per tree, so 100,000 tasks for 1,000 PPAs), plus --events calendar events and as many bookings
(bench.calendar.add_calendar, set-based), its PPA and work-item titles then renamed from a pool of realistic
titles and place names (so that typos have something to find). SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (a dedicated
database; --reset drops and creates its tables). 20 queries with typos go to the live search as an oobc_staff
user: cold (the cache made stale first) and cached (the same request again), plus the results page cold. Times
are around each test-client request; statements are counted with an engine event. --small: 20 PPAs, 1 rep.
Bulk operations (obcms/bulk/services.py, called directly): the dry run and the apply of a transition (start),
an assign, a priority change and a reschedule (+1 day) over --bulk-items tasks of the portfolio's trees as the
oobc_staff user, and the approval of as many PPAs (technical review → budget review: the reviewer tasks
closed and opened, the submitters told) as an mfbm_analyst (1,000; 100 with --small), each apply rolled back
after it is measured so every rep meets the same items.
Prints ONE JSON object: per step {median_ms, min_ms, max_ms, queries, n}, plus meta.
"""
import argparse
import json
import platform
import random
import time

import sqlalchemy as sa
from sqlalchemy import event

from bench.calendar import add_calendar
from bench.common import database_url, log, signed_in_client
from bench.ppas import QC, analyze, build_portfolio, make_app, summary

SUBJECTS = ("Social pension for indigent senior citizens", "Sustainable livelihood program", "Supplementary feeding",
            "Emergency shelter assistance", "Madrasah teachers' training", "Water system improvement",
            "Scholarship grants", "Solar-powered irrigation", "Halal food processing center",
            "Persons with disability assistance", "Rural health units upgrading", "Maternal care and immunization")
PLACES = ("Cotabato City", "Datu Odin Sinsuat", "Lanao del Sur", "Maguindanao del Norte", "Marawi City",
          "Sultan Kudarat", "Tawi-Tawi", "Basilan", "Sulu", "Upi", "Parang", "Datu Piang")
TYPO_QUERIES = ("livelyhood", "pension senoir", "senior pension", "suplementary feding", "cotabatu",
                "maguindano", "lanao sur", "datu odin sinsuwat", "scolarship", "irrigaton solar", "halal fod",
                "marawi halal", "disabilty persons", "kudarat sultan", "rural helth", "imunization sulu",
                "tawi tawi scholarship", "watr system", "emergancy shelter", "madrasa teachers")


def rename(db, seed):
    """Give the generated PPAs and work items titles worth searching (through UPDATEs, so the indexes follow)."""
    from obcms.ppas.models import Ppa
    from obcms.workitems.models import WorkItem

    rng = random.Random(seed)
    for table in (Ppa.__table__, WorkItem.__table__):
        ids = db.session.scalars(sa.select(table.c.id)).all()
        rows = [{"_id": i, "_title": f"{rng.choice(SUBJECTS)} in {rng.choice(PLACES)}"} for i in ids]
        db.session.execute(sa.update(table).where(table.c.id == sa.bindparam("_id"))
                           .values(title=sa.bindparam("_title")), rows)
    db.session.commit()


def measure(client, url_of, reps, before=None):
    times, queries = [], []
    for i in range(reps):
        if before:
            before(i)
        q0, t0 = QC.n, time.perf_counter()
        response = client.get(url_of(i), headers={"HX-Request": "true"})
        times.append((time.perf_counter() - t0) * 1000)
        queries.append(QC.n - q0)
        if response.status_code >= 400:
            raise SystemExit(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    return summary(times, queries)


BULK_OPERATIONS = (("task", "transition", {"transition": "start"}), ("task", "assign", {"to": None}),
                   ("task", "priority", {"priority": "high"}), ("task", "reschedule", {"days": "1"}),
                   ("ppa", "approve", {}))


def ppas_in_review(db, user_id, n_items):
    """(an mfbm_analyst's id, n_items PPA ids) with the PPAs put in technical review, submitted by the bench user
    (set-based, as a derived change: the benchmark's setup, not a transition)."""
    from obcms.auth import services as auth_services
    from obcms.auth.models import Organization
    from obcms.ppas.models import Ppa
    from obcms.workflow.guard import derived_status

    oobc = db.session.scalar(sa.select(Organization).where(Organization.kind == "oobc").order_by(Organization.id))
    analyst = auth_services.create_user("bench-analyst", "bench-analyst@example.gov.ph", "bench-password-0123456789",
                                        "mfbm_analyst", oobc, full_name="Benchmark Analyst")
    db.session.flush()
    ids = db.session.scalars(sa.select(Ppa.id).order_by(Ppa.id).limit(n_items)).all()
    table = Ppa.__table__
    with derived_status("benchmark setup"):
        db.session.execute(sa.update(table).where(table.c.id.in_(ids)).values(approval_status="technical_review",
                                                                              submitted_by_id=user_id))
    analyst_id = analyst.id
    db.session.commit()
    return analyst_id, ids


def bulk_steps(app, db, user_id, n_items, reps):
    """{bulk_<kind>_<action>_plan|apply: summary} for n_items open tasks (type task: no task is another's
    ancestor; across many trees) and n_items PPAs in technical review."""
    from obcms.auth.models import User
    from obcms.bulk import services as bulk
    from obcms.workitems.models import WorkItem

    steps = {}
    with app.app_context():
        analyst_id, ppa_ids = ppas_in_review(db, user_id, n_items)
        task_ids = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.work_type == "task",
                                                                   WorkItem.status == "not_started")
                                      .order_by(WorkItem.id).limit(n_items)).all()
        trees = db.session.scalar(sa.select(sa.func.count(sa.distinct(WorkItem.tree_id)))
                                  .where(WorkItem.id.in_(task_ids)))
        for kind, action, params in BULK_OPERATIONS:
            params = {k: (user_id if k == "to" else v) for k, v in params.items()}
            ids, actor_id = (ppa_ids, analyst_id) if kind == "ppa" else (task_ids, user_id)
            for step, run in (("plan", bulk.plan), ("apply", bulk.apply)):
                times, queries = [], []
                for _ in range(reps):
                    db.session.rollback()
                    db.session.expire_all()
                    user = db.session.get(User, actor_id)
                    q0, t0 = QC.n, time.perf_counter()
                    outcome = run(user, kind, action, ids, params)
                    times.append((time.perf_counter() - t0) * 1000)
                    queries.append(QC.n - q0)
                    done = len(outcome.allowed) if step == "plan" else outcome["succeeded"]
                    db.session.rollback()  # the next rep meets the same items
                name = f"bulk_{kind}_{action}_{step}"
                steps[name] = summary(times, queries, items=len(ids), done=done,
                                      **({"trees": trees} if kind == "task" else {}))
                log(f"bulk {kind} {action} {step}: {steps[name]}")
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="passes over the 20 queries")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reset", action="store_true", help="drop and create the tables first (PostgreSQL)")
    parser.add_argument("--small", action="store_true", help="20 PPAs, one pass: proves the benchmark runs")
    parser.add_argument("--bulk-items", type=int, default=1000, help="tasks (and PPAs) per bulk operation")
    parser.add_argument("--events", type=int, default=20000, help="calendar events (and as many bookings)")
    parser.add_argument("--skip-search", action="store_true", help="measure the bulk operations only")
    args = parser.parse_args()
    if args.small:
        args.ppas, args.reps, args.bulk_items, args.events = 20, 1, min(args.bulk_items, 100), min(args.events, 200)

    url, temporary = database_url("obcms-bench-search-")
    app = make_app(url)
    app.config.update(RATELIMIT_ENABLED=False)
    from obcms.extensions import db
    from obcms.search.services import bump_generation

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        t0 = time.perf_counter()
        user_id, ppa_ids, _ = build_portfolio(db, args.ppas, args.seed, args.reset or temporary)
        add_calendar(db, user_id, args.events, args.events // 10, args.events, args.seed)
        rename(db, args.seed)
        build_s = time.perf_counter() - t0
        analyze(db)
        from obcms.auth.models import User
        from obcms.calendar.models import CalendarEvent
        from obcms.workitems.models import WorkItem

        work_items = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem))
        tasks = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem).where(WorkItem.work_type == "task"))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(CalendarEvent))
        client = signed_in_client(app, db.session.get(User, user_id))
        db.session.remove()
    log(f"portfolio of {len(ppa_ids)} PPAs, {work_items} work items ({tasks} tasks) and {events} events built in "
        f"{build_s:.1f} s on {backend}")

    def stale(i):
        with app.app_context():
            bump_generation()

    n = len(TYPO_QUERIES) * args.reps

    def live(i):
        return f"/search/live?q={TYPO_QUERIES[i % len(TYPO_QUERIES)]}"

    steps = {} if args.skip_search else {
        "live_cold": measure(client, live, n, before=stale),
        "live_cached": measure(client, live, n, before=lambda i: client.get(live(i), headers={"HX-Request": "true"})),
        "results_page_cold": measure(client, lambda i: f"/search?q={TYPO_QUERIES[i % len(TYPO_QUERIES)]}", n,
                                     before=stale)}
    steps.update(bulk_steps(app, db, user_id, args.bulk_items, args.reps))
    print(json.dumps({"benchmark": "search_bulk", "backend": backend, "ppas": len(ppa_ids),
                      "work_items": work_items, "tasks": tasks, "events": events, "queries": list(TYPO_QUERIES), "steps": steps,
                      "note": "times include the signed-in user's load and the test client; cache: "
                              + app.config["CACHE_TYPE"],
                      "python": platform.python_version()}, indent=1))


if __name__ == "__main__":
    main()
