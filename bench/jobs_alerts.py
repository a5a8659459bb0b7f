"""Benchmark of the variance and reminder jobs on the generated 1,000-PPA portfolio (bench.ppas).

    python -m bench.jobs_alerts [--ppas 1000] [--reps 7] [--seed 7] [--reset]

SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (a dedicated database: with
--reset its tables are dropped and created again).

The portfolio of bench.ppas.build_portfolio: N PPAs (planning/ongoing), each with allocation, obligation and
disbursement tranches (disbursed 10–40 % of the budget) and a 131-node tree holding 100 tasks, due on the
PPA's target end date (spread over 60 days). Then every 20th PPA (5 %) gets its disbursements raised to
111–129 % of its budget (overspending, high or critical), and every task is assigned to the benchmark user.

Steps, each timed around the service call the job makes (statements counted with an engine event):
- detect_budget_variances on 15 June 2026 (some PPAs also underspend): `first` opens every alert (each rep
  rolled back, so each opens them all again), `idle` refreshes them (nothing new).
- send_task_reminders on 27 November 2026 over all tasks (about half the PPAs' tasks overdue, others due in
  2 or 5 days): `first` sends (rolled back per rep), `again` the same day (nothing to send).
Prints ONE JSON object: per step {median_ms, min_ms, max_ms, queries, n} and the job's counts, plus meta.
"""
import argparse
import json
import platform
import statistics
import time
from datetime import date

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import QueryCounter, database_url, log
from bench.ppas import analyze, build_portfolio, make_app

VARIANCE_DAY = date(2026, 6, 15)
REMINDER_DAY = date(2026, 11, 27)
QC = QueryCounter()


def prepare(db, user_id):
    """5 % of the PPAs overspend (111–129 % of the budget disbursed); every task assigned to the user; an MFBM
    analyst to be told of new alerts."""
    from obcms.auth import services as auth_services
    from obcms.ppas.models import FundingTranche, Ppa
    from obcms.workitems.models import WorkItem, work_item_assignees

    tranches, ppas, items = FundingTranche.__table__, Ppa.__table__, WorkItem.__table__
    budget = sa.select(ppas.c.budget_allocation).where(ppas.c.id == tranches.c.ppa_id).scalar_subquery()
    db.session.execute(sa.update(tranches).where(tranches.c.kind == "disbursement", tranches.c.ppa_id % 20 == 0)
                       .values(amount=budget * (sa.literal(111) + (tranches.c.ppa_id % 19)) / 100))
    db.session.execute(sa.insert(work_item_assignees).from_select(
        ["work_item_id", "user_id"], sa.select(items.c.id, sa.literal(user_id)).where(items.c.work_type == "task")))
    auth_services.create_user("bench-mfbm", "bench-mfbm@example.gov.ph", "bench-password-0123456789", "mfbm_analyst",
                              None, full_name="Benchmark analyst")
    db.session.commit()


def timed(app, db, call, reps, rollback):
    """Run `call()` reps times (after one warm-up), each in its own transaction, rolled back or committed."""
    times, queries, counts = [], [], None
    for i in range(reps + 1):
        with app.app_context():
            q0, t0 = QC.n, time.perf_counter()
            counts = call()
            elapsed, sent = (time.perf_counter() - t0) * 1000, QC.n - q0
            db.session.rollback() if rollback else db.session.commit()
        if i:
            times.append(elapsed)
            queries.append(sent)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "queries": int(statistics.median(queries)), "n": len(times),
            "counts": counts}


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("--ppas", 1000), ("--reps", 7), ("--seed", 7)):
        parser.add_argument(name, type=int, default=default)
    parser.add_argument("--reset", action="store_true", help="drop and create the tables first (PostgreSQL)")
    return parser.parse_args()


def setup(args):
    """The app on DATABASE_URL (else a temporary SQLite file) with the prepared portfolio: (app, db, meta)."""
    url, _ = database_url("obcms-bench-jobs-")
    app = make_app(url)
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        t0 = time.perf_counter()
        user_id, ppa_ids, _ = build_portfolio(db, args.ppas, args.seed, args.reset or url.startswith("sqlite"))
        prepare(db, user_id)
        meta = {"backend": db.engine.dialect.name, "ppas": len(ppa_ids), "build_s": round(time.perf_counter() - t0, 1),
                "tasks": db.session.scalar(sa.text("SELECT count(*) FROM work_items WHERE work_type = 'task'"))}
        db.session.remove()
        analyze(db)
    log(f"portfolio of {meta['ppas']} PPAs and {meta['tasks']} tasks built in {meta['build_s']} s on {meta['backend']}")
    return app, db, meta


def main():
    args = arguments()
    app, db, meta = setup(args)
    from obcms.ppas.variances import detect_budget_variances
    from obcms.workitems.reminders import send_task_reminders

    steps = {}
    variances = lambda: detect_budget_variances(today=VARIANCE_DAY)  # noqa: E731
    steps["variances_first"] = timed(app, db, variances, args.reps, rollback=True)
    with app.app_context():
        variances()
        db.session.commit()
    steps["variances_idle"] = timed(app, db, variances, args.reps, rollback=False)
    reminders = lambda: send_task_reminders(today=REMINDER_DAY)  # noqa: E731
    steps["reminders_first"] = timed(app, db, reminders, args.reps, rollback=True)
    with app.app_context():
        reminders()
        db.session.commit()
    steps["reminders_again"] = timed(app, db, reminders, args.reps, rollback=False)

    targets = {"variances_max_ms": 1000, "reminders_max_ms": 2000}
    constant = steps["variances_first"]["queries"] <= 8 and steps["reminders_first"]["queries"] <= 3
    print(json.dumps({
        "meta": {**meta, "overspending_ppas": meta["ppas"] // 20, "reps": args.reps, "seed": args.seed,
                 "variance_day": VARIANCE_DAY.isoformat(), "reminder_day": REMINDER_DAY.isoformat(),
                 "python": platform.python_version(), "sqlalchemy": sa.__version__,
                 "timing": "around the job's service call, one transaction per rep"},
        "steps": steps,
        "targets": targets,
        "meets_targets": constant and steps["variances_first"]["median_ms"] < 1000
        and steps["reminders_first"]["median_ms"] < 2000,
    }, indent=1, default=str))


if __name__ == "__main__":
    main()
