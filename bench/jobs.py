"""Benchmark of the background jobs of issue 12 on the 1,000-PPA portfolio.

    python -m bench.jobs [--ppas 1000] [--new-ppas 1000] [--one-by-one 200] [--my-tasks 2000] [--seed 7] [--only STEP]

PostgreSQL when DATABASE_URL is set (a dedicated database: its tables are dropped and created again), else
SQLite in a temporary file. The portfolio is bench.ppas's (PPAS tracked PPAs, 131 work items each). Each step
is a function in STEPS taking a Context and returning its figures; add a step by writing one and listing it.
Prints ONE JSON object: meta, each step's figures, the targets and whether they are met.

generate_ppa_budget_cycle: NEW_PPAS new PPAs (untracked, as a PPA is when it is created) created in one
transaction get their ppa_budget_cycle tasks in one generate_tasks run (obcms.tasking.generation, the job's
service), committed: ms and SQL statements per PPA (the statements do not grow with the number of PPAs).
generate_ppa_budget_cycle_one_by_one: ONE_BY_ONE new PPAs each created on its own, so one run per PPA: the
median ms and statements of one run.
my_tasks_page: GET /tasks for a user with MY_TASKS open tasks assigned (due dates spread over four months).
"""
import argparse
import json
import platform
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import database_url, log
from bench.ppas import QC, analyze, build_portfolio, make_app


@dataclass
class Context:
    """What every step may use: the app (its context is pushed), db, the portfolio and the arguments."""

    app: object
    db: object
    args: argparse.Namespace
    user_id: int
    ppa_ids: list
    facts: dict = field(default_factory=dict)


def per_item(times, queries, **extra):
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "statements": int(statistics.median(queries)), "n": len(times), **extra}


def new_ppas(ctx, n, prefix):
    """N new PPAs as the PPA form makes them (untracked, a start date), inserted without triggering anything."""
    from obcms.auth.models import Organization
    from obcms.ppas.models import Ppa

    rng = random.Random(ctx.args.seed)
    moas = ctx.db.session.scalars(sa.select(Organization.id).where(Organization.kind == "moa")).all()
    rows = [dict(title=f"New PPA {i + 1}", code=f"{prefix}-{i + 1:05d}", category=rng.choice(("moa_ppa", "oobc_ppa")),
                 summary="", fiscal_year=2027, implementing_moa_id=rng.choice(moas), milestones=[], outcome_framework=[],
                 start_date=date(2027, 1, 1) + timedelta(days=rng.randrange(90)), created_by_id=ctx.user_id)
            for i in range(n)]
    ctx.db.session.execute(sa.insert(Ppa), rows)
    ids = ctx.db.session.scalars(sa.select(Ppa.id).where(Ppa.code.like(f"{prefix}-%")).order_by(Ppa.id)).all()
    ctx.db.session.commit()
    return ids


def _seeded(ctx):
    from obcms.tasking.seed import seed_templates

    seed_templates()
    ctx.db.session.commit()


def generate_ppa_budget_cycle(ctx):
    """NEW_PPAS new PPAs created in one transaction (an import, the demo) → one generate_tasks run for all of
    them, committed; then the same run again (everything generated already: nothing is written)."""
    from obcms.tasking.generation import generate_tasks

    _seeded(ctx)
    ids = new_ppas(ctx, ctx.args.new_ppas, "NEW")
    q0, t0 = QC.n, time.perf_counter()
    outcome = generate_tasks([("ppa", ppa_id) for ppa_id in ids])
    ctx.db.session.commit()
    total_ms, statements = (time.perf_counter() - t0) * 1000, QC.n - q0
    t1 = time.perf_counter()
    again = generate_tasks([("ppa", ppa_id) for ppa_id in ids]).counts
    ctx.db.session.rollback()
    return {"ms_per_ppa": round(total_ms / len(ids), 2), "total_ms": round(total_ms, 1), "statements": statements,
            "statements_per_ppa": round(statements / len(ids), 3), "n": len(ids), "tasks": outcome.counts["tasks"],
            "rerun_all_ms": round((time.perf_counter() - t1) * 1000, 1), "rerun_generated": again["generated"]}


def generate_ppa_budget_cycle_one_by_one(ctx):
    """ONE_BY_ONE new PPAs, each created on its own → one generate_tasks run per PPA, committed: per PPA."""
    from obcms.tasking.generation import generate_tasks

    _seeded(ctx)
    times, queries = [], []
    for ppa_id in new_ppas(ctx, ctx.args.one_by_one, "ONE"):
        q0, t0 = QC.n, time.perf_counter()
        generate_tasks([("ppa", ppa_id)])
        ctx.db.session.commit()
        times.append((time.perf_counter() - t0) * 1000)
        queries.append(QC.n - q0)
    return per_item(times, queries)


def my_tasks_page(ctx):
    """GET /tasks (the list, grouped by due date) for a user with MY_TASKS open tasks assigned, through the
    Flask test client signed in: median ms and SQL statements per request (the user's load included)."""
    from bench.common import signed_in_client
    from bench.ppas import measure
    from obcms.auth.models import User
    from obcms.workitems.models import WorkItem, work_item_assignees

    db, rng = ctx.db, random.Random(ctx.args.seed)
    item = WorkItem.__table__.c
    ids = db.session.scalars(sa.select(item.id).where(item.work_type.in_(("task", "subtask")),
                                                      item.status.in_(("not_started", "in_progress")))
                             .order_by(item.id).limit(ctx.args.my_tasks)).all()
    db.session.execute(sa.insert(work_item_assignees), [{"work_item_id": i, "user_id": ctx.user_id} for i in ids])
    db.session.execute(sa.update(WorkItem.__table__).where(item.id == sa.bindparam("_id")).values(
        due_date=sa.bindparam("_due")), [{"_id": i, "_due": date.today() + timedelta(days=rng.randrange(-30, 90))}
                                         for i in ids])
    db.session.commit()
    client = signed_in_client(ctx.app, db.session.get(User, ctx.user_id))
    db.session.remove()
    figures = measure(lambda i: client.get("/tasks"), 15)
    return {"median_ms": figures["median_ms"], "min_ms": figures["min_ms"], "max_ms": figures["max_ms"],
            "statements": figures["queries"], "n": figures["n"], "open_tasks": len(ids)}


STEPS = {"generate_ppa_budget_cycle": generate_ppa_budget_cycle,
         "generate_ppa_budget_cycle_one_by_one": generate_ppa_budget_cycle_one_by_one,
         "my_tasks_page": my_tasks_page}
TARGETS = {"generate_ppa_budget_cycle": {"ms_per_ppa": 20},
           "generate_ppa_budget_cycle_one_by_one": {"median_ms": 20},
           "my_tasks_page": {"median_ms": 50, "statements": 7}}  # ≤ 6 statements


def meets(figures, target):
    return all(figures[name] < limit for name, limit in target.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--new-ppas", type=int, default=1000)
    parser.add_argument("--one-by-one", type=int, default=200)
    parser.add_argument("--my-tasks", type=int, default=2000, help="open tasks assigned to the My tasks user")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", action="append", choices=sorted(STEPS), help="run only these steps")
    args = parser.parse_args()

    url, _ = database_url("obcms-bench-jobs-")
    app = make_app(url)
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        t0 = time.perf_counter()
        user_id, ppa_ids, _ = build_portfolio(db, args.ppas, args.seed, True)
        analyze(db)
        build_s = time.perf_counter() - t0
        log(f"portfolio built in {build_s:.1f} s on {backend}")
        ctx = Context(app, db, args, user_id, ppa_ids)
        steps = {}
        for name in args.only or STEPS:
            log(f"step {name}…")
            steps[name] = STEPS[name](ctx)
    print(json.dumps({
        "meta": {"backend": backend, "ppas": len(ppa_ids), "new_ppas": args.new_ppas, "one_by_one": args.one_by_one,
                 "build_s": round(build_s, 1),
                 "python": platform.python_version(),
                 "timing": "around the generation service and its commit (a job run's transaction)"},
        "steps": steps, "targets": {name: TARGETS[name] for name in steps if name in TARGETS},
        "meets_targets": all(meets(steps[name], TARGETS[name]) for name in steps if name in TARGETS),
    }, indent=1))


if __name__ == "__main__":
    main()
