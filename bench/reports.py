"""Benchmark of the three oversight reports (issue 13, "Speed and memory") on the generated portfolio.

    python -m bench.reports [--ppas 1000] [--seed 7] [--small]

The portfolio is bench.ppas's: N PPAs of fiscal year 2026 over 5 MOAs and the 6 sectors, each with three funding
tranches and a 131-node execution tree (--small: 20 PPAs, for a quick proof that it works). SQLite in a
temporary file by default; PostgreSQL when DATABASE_URL is set (a dedicated database: its tables are dropped and
created again). The per-node financial entries of issue 13 do not exist yet: the reports read the tranches and
the tree's actual expenditure (obcms/reports/queries.py node_obligations / node_disbursements).

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

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import log
from bench.ppas import QC, analyze, build_portfolio, make_app

KINDS = ("mfbm_budget_execution", "bpda_development_alignment", "coa_budget_variance")
TARGETS = {"mfbm_budget_execution": {"seconds": 2, "queries": 10, "peak_mb": 200},
           "bpda_development_alignment": {"seconds": 2, "queries": 10, "peak_mb": 200},
           "coa_budget_variance": {"seconds": 10, "queries": 10, "peak_mb": 200}}


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="20 PPAs: prove that it works")
    args = parser.parse_args()
    n_ppas = 20 if args.small else args.ppas

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='obcms-bench-reports-')}/bench.db"
    app = make_app(url)
    from obcms.auth.models import User
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        t0 = time.perf_counter()
        user_id, _, _ = build_portfolio(db, n_ppas, args.seed, True)
        analyze(db)
        build_s = time.perf_counter() - t0
        log(f"portfolio of {n_ppas} PPAs built in {build_s:.1f} s on {backend}")
        user = db.session.get(User, user_id)
        nodes = db.session.scalar(sa.text("SELECT count(*) FROM work_items"))
        reports = {}
        with tempfile.TemporaryDirectory(prefix="obcms-bench-reports-") as directory:
            for kind in KINDS:
                log(f"{kind}…")
                reports[kind] = measure(kind, user, directory)
    meets = {kind: all(reports[kind][k] < limit if k != "queries" else reports[kind][k] <= limit
                       for k, limit in TARGETS[kind].items()) for kind in KINDS}
    print(json.dumps({
        "meta": {"backend": backend, "ppas": n_ppas + 1, "work_items": nodes, "build_s": round(build_s, 1),
                 "python": platform.python_version(),
                 "timing": "write_report (queries, rows, workbook saved to a file) as an oobc_staff user"},
        "reports": reports, "targets": TARGETS, "meets_targets": meets,
    }, indent=1))


if __name__ == "__main__":
    main()
