"""Benchmark of the three oversight reports (issue 13, "Speed and memory") on the generated portfolio.

    python -m bench.reports [--ppas 1000] [--entries 200000] [--seed 7] [--small]

The portfolio is bench.ppas's: N PPAs of fiscal year 2026 over 5 MOAs and the 6 sectors, each with three funding
tranches and a 131-node execution tree (--small: 20 PPAs, for a quick proof that it works), plus ENTRIES
financial entries on the leaves (an obligation and a smaller disbursement per leaf, as many leaves as it takes,
inserted set-based with every node's obligated/disbursed roll-up recomputed in SQL; no mirror tranches: the
reports read the PPA-level figures from the portfolio's own tranches). SQLite in a temporary file by default;
PostgreSQL when DATABASE_URL is set (a dedicated database: its tables are dropped and created again).

"record_entry": a disbursement of ₱ 1.00 posted through obcms.budget.ledger.record_entry on one of the deepest leaves
(rules, tree lock, roll-ups, mirror tranche, audit), committed as a request would, on REPS different leaves.

Each report is written by the service both paths use (obcms.reports.workbooks.write_report, as an oobc_staff
user, to a temporary file): once to warm up, once timed (wall time, SQL statements sent, transaction control not
counted) and once under tracemalloc (peak Python memory; kept out of the timed run, which it would slow down
several times); with the file's size and rows. Prints ONE JSON object.
"""
import argparse
import json
import os
import platform
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import database_url, log
from bench.ppas import QC, analyze, build_portfolio, make_app

KINDS = ("mfbm_budget_execution", "bpda_development_alignment", "coa_budget_variance")
TARGETS = {"mfbm_budget_execution": {"seconds": 2, "queries": 10, "peak_mb": 200},
           "bpda_development_alignment": {"seconds": 2, "queries": 10, "peak_mb": 200},
           "coa_budget_variance": {"seconds": 10, "queries": 10, "peak_mb": 200}}
RECORD_TARGET = {"ms": 10, "queries": 6}


def measure(kind, user, directory):
    """Three runs of the report: a warm-up, a timed one (statements counted), and one under tracemalloc for the
    peak memory (tracemalloc slows Python down several times, so it is kept out of the timed run)."""
    from obcms.db_types import utcnow
    from obcms.extensions import db
    from obcms.reports.queries import ReportFilters
    from obcms.reports.workbooks import write_report

    path = os.path.join(directory, f"{kind}.xlsx")
    filters = ReportFilters(kind=kind, fiscal_year=2026)
    write_report(filters, user, utcnow(), path)  # warm-up (statement caches, imports)
    QC.n = 0
    t0 = time.perf_counter()
    counts = write_report(filters, user, utcnow(), path)
    seconds = time.perf_counter() - t0
    queries = QC.n
    tracemalloc.start()
    write_report(filters, user, utcnow(), path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    return {"seconds": round(seconds, 3), "queries": queries, "peak_mb": round(peak / 2**20, 1),
            "file_kb": os.path.getsize(path) // 1024, **counts}


def add_entries(db, count):
    """`count` entries on the leaves (half obligations, half smaller disbursements), then every node's roll-up."""
    from obcms.budget.models import FinancialEntry
    from obcms.workitems.models import WorkItem

    entries, item = FinancialEntry.__table__, WorkItem.__table__
    child = item.alias("child")
    leaves = (sa.select(item.c.id, item.c.ppa_id, item.c.organization_id)
              .where(item.c.ppa_id.is_not(None), ~sa.exists().where(child.c.parent_id == item.c.id))
              .order_by(item.c.id).limit(count // 2).subquery())
    for kind, base, spread in (("obligation", 100, 1000), ("disbursement", 50, 50)):
        amount = sa.cast(base + leaves.c.id % spread, sa.Numeric(14, 2))
        db.session.execute(entries.insert().from_select(
            ["work_item_id", "ppa_id", "organization_id", "kind", "amount", "entry_date", "reference", "payee",
             "over_allocation", "recorded_at"],
            sa.select(leaves.c.id, leaves.c.ppa_id, leaves.c.organization_id,
                      sa.literal(kind, type_=entries.c.kind.type), amount, sa.literal(date(2026, 3, 2)),
                      sa.literal(f"{kind[:3].upper()}-BENCH"), sa.literal("Bench supplier"), sa.false(),
                      sa.literal(datetime(2026, 3, 2, tzinfo=UTC), type_=entries.c.recorded_at.type))))
    below = item.alias("below")

    def rolled(kinds):
        return sa.func.coalesce(
            sa.select(sa.func.sum(entries.c.amount)).select_from(entries.join(below, below.c.id == entries.c.work_item_id))
            .where(below.c.tree_id == item.c.tree_id, below.c.lft.between(item.c.lft, item.c.rgt),
                   entries.c.kind.in_(kinds)).scalar_subquery(), 0)

    db.session.execute(item.update().values(obligated=rolled(["obligation", "adjustment"]),
                                            disbursed=rolled(["disbursement"]),
                                            actual_expenditure=rolled(["disbursement"])))
    db.session.commit()


def record_entries(db, user, reps):
    """record_entry of a ₱ 1.00 disbursement on `reps` of the deepest leaves, each committed: median ms, statements."""
    import statistics

    from obcms.budget import ledger
    from obcms.workitems.models import WorkItem

    leaves = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.depth == sa.select(sa.func.max(WorkItem.depth)).scalar_subquery(),
                                                          WorkItem.disbursed < WorkItem.obligated)
                                .order_by(WorkItem.id).limit(reps + 2)).all()
    times, queries = [], []
    for n, leaf_id in enumerate(leaves):
        db.session.refresh(user)  # as a request has them before its work (untimed): the signed-in user,
        leaf = db.session.get(WorkItem, leaf_id)  # and the item of the URL
        QC.n = 0
        t0 = time.perf_counter()
        ledger.record_entry(leaf, user, "disbursement", "1.00", date(2026, 4, 1), f"DV-{n}", "Bench payee")
        db.session.commit()
        if n >= 2:  # the first two warm up
            times.append((time.perf_counter() - t0) * 1000)
            queries.append(QC.n)
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "queries": max(queries), "n": len(times)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=20, help="entries recorded one by one (record_entry)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="20 PPAs: prove that it works")
    args = parser.parse_args()
    n_ppas = 20 if args.small else args.ppas

    url, _ = database_url("obcms-bench-reports-")
    app = make_app(url)
    from obcms.auth.models import User
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        t0 = time.perf_counter()
        user_id, _, _ = build_portfolio(db, n_ppas, args.seed, True)
        add_entries(db, 2_000 if args.small else args.entries)
        analyze(db)
        build_s = time.perf_counter() - t0
        log(f"portfolio of {n_ppas} PPAs built in {build_s:.1f} s on {backend}")
        user = db.session.get(User, user_id)
        nodes = db.session.scalar(sa.text("SELECT count(*) FROM work_items"))
        n_entries = db.session.scalar(sa.text("SELECT count(*) FROM financial_entries"))
        log("record_entry…")
        recording = record_entries(db, user, args.reps)
        reports = {}
        with tempfile.TemporaryDirectory(prefix="obcms-bench-reports-") as directory:
            for kind in KINDS:
                log(f"{kind}…")
                reports[kind] = measure(kind, user, directory)
    meets = {kind: all(reports[kind][k] < limit if k != "queries" else reports[kind][k] <= limit
                       for k, limit in TARGETS[kind].items()) for kind in KINDS}
    print(json.dumps({
        "meta": {"backend": backend, "ppas": n_ppas + 1, "work_items": nodes, "financial_entries": n_entries,
                 "build_s": round(build_s, 1),
                 "python": platform.python_version(),
                 "timing": "write_report (queries, rows, workbook saved to a file) as an oobc_staff user"},
        "reports": reports, "record_entry": recording, "targets": {**TARGETS, "record_entry": RECORD_TARGET},
        "meets_targets": {**meets, "record_entry": recording["median_ms"] < RECORD_TARGET["ms"]
                          and recording["queries"] <= RECORD_TARGET["queries"]},
    }, indent=1))


if __name__ == "__main__":
    main()
