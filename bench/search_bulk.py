"""Benchmark of global search and bulk operations (issue 14's bench.search_bulk) on a generated portfolio.

    python -m bench.search_bulk [--ppas 1000] [--reps 3] [--seed 7] [--reset] [--small] [--bulk-items 1000]

The portfolio is bench.ppas.build_portfolio's (N PPAs over 5 MOAs, each with a 131-node work-item tree), its
PPA and work-item titles then renamed from a pool of realistic titles and place names (so that typos have
something to find). SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (a dedicated
database; --reset drops and creates its tables). 20 queries with typos go to the live search as an oobc_staff
user: cold (the cache made stale first) and cached (the same request again), plus the results page cold. Times
are around each test-client request; statements are counted with an engine event. --small: 20 PPAs, 1 rep.
Bulk operations (obcms/bulk/services.py, called directly as the oobc_staff user): the dry run and the apply of
a transition (start), an assign and a reschedule (+1 day) over --bulk-items tasks of the portfolio's trees
(1,000; 100 with --small), each apply rolled back after it is measured so every rep meets the same items.
Prints ONE JSON object: per step {median_ms, min_ms, max_ms, queries, n}, plus meta.
"""
import argparse
import json
import platform
import random
import time

import sqlalchemy as sa
from sqlalchemy import event

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


BULK_OPERATIONS = (("transition", {"transition": "start"}), ("assign", {"to": None}), ("reschedule", {"days": "1"}))


def bulk_steps(app, db, user_id, n_items, reps):
    """{bulk_<action>_plan|apply: summary} for n_items open tasks (type task: no task is another's ancestor)."""
    from obcms.auth.models import User
    from obcms.bulk import services as bulk
    from obcms.workitems.models import WorkItem

    steps = {}
    with app.app_context():
        ids = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.work_type == "task",
                                                              WorkItem.status == "not_started")
                                 .order_by(WorkItem.id).limit(n_items)).all()
        for action, params in BULK_OPERATIONS:
            params = {k: (user_id if k == "to" else v) for k, v in params.items()}
            for step, run in (("plan", bulk.plan), ("apply", bulk.apply)):
                times, queries = [], []
                for _ in range(reps):
                    db.session.rollback()
                    db.session.expire_all()
                    user = db.session.get(User, user_id)
                    q0, t0 = QC.n, time.perf_counter()
                    outcome = run(user, "task", action, ids, params)
                    times.append((time.perf_counter() - t0) * 1000)
                    queries.append(QC.n - q0)
                    done = len(outcome.allowed) if step == "plan" else outcome["succeeded"]
                    db.session.rollback()  # the next rep meets the same items
                steps[f"bulk_{action}_{step}"] = summary(times, queries, items=len(ids), done=done)
                log(f"bulk {action} {step}: {steps[f'bulk_{action}_{step}']}")
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="passes over the 20 queries")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reset", action="store_true", help="drop and create the tables first (PostgreSQL)")
    parser.add_argument("--small", action="store_true", help="20 PPAs, one pass: proves the benchmark runs")
    parser.add_argument("--bulk-items", type=int, default=1000, help="tasks per bulk operation")
    args = parser.parse_args()
    if args.small:
        args.ppas, args.reps, args.bulk_items = 20, 1, min(args.bulk_items, 100)

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
        rename(db, args.seed)
        build_s = time.perf_counter() - t0
        analyze(db)
        from obcms.auth.models import User
        from obcms.workitems.models import WorkItem

        work_items = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem))
        client = signed_in_client(app, db.session.get(User, user_id))
        db.session.remove()
    log(f"portfolio of {len(ppa_ids)} PPAs and {work_items} work items built in {build_s:.1f} s on {backend}")

    def stale(i):
        with app.app_context():
            bump_generation()

    n = len(TYPO_QUERIES) * args.reps

    def live(i):
        return f"/search/live?q={TYPO_QUERIES[i % len(TYPO_QUERIES)]}"

    steps = {"live_cold": measure(client, live, n, before=stale),
             "live_cached": measure(client, live, n, before=lambda i: client.get(live(i), headers={"HX-Request": "true"})),
             "results_page_cold": measure(client, lambda i: f"/search?q={TYPO_QUERIES[i % len(TYPO_QUERIES)]}", n,
                                          before=stale)}
    steps.update(bulk_steps(app, db, user_id, args.bulk_items, args.reps))
    print(json.dumps({"benchmark": "search_bulk", "backend": backend, "ppas": len(ppa_ids),
                      "work_items": work_items, "queries": list(TYPO_QUERIES), "steps": steps,
                      "note": "times include the signed-in user's load and the test client; cache: "
                              + app.config["CACHE_TYPE"],
                      "python": platform.python_version()}, indent=1))


if __name__ == "__main__":
    main()
