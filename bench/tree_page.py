"""Benchmark of the tree page's server time on one big tree (the first screen must not depend on its size).

    python -m bench.tree_page [--fanout 20,20,24] [--reps 50]

One tree (project → fanout[0] activities → fanout[1] tasks → fanout[2] subtasks …; 20,20,24 = 10,021
nodes) is built with services.build_tree, then the signed-in page is requested through the app (test
client, so the time is the server's: routing, login, queries, templates) `reps` times. SQLite in a
temporary file by default; PostgreSQL when DATABASE_URL is set (use a dedicated database: its tables are
created when missing, and this benchmark's own organization's work items are deleted first).

Prints ONE JSON object: {median_ms, min_ms, max_ms, queries, nodes} for the first screen (root + its
children), plus the same figures under "open" (the page with three nodes open, as after a reload) and
"children" (one lazy expand fragment), and meta.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import TX_CONTROL, signed_in_client

TYPES = ("activity", "task", "subtask", "subtask", "subtask")


def forest(fanout):
    """One project; every node allocated exactly what its children are (leaves 1,000.00 each)."""

    def level(depth, prefix):
        if depth >= len(fanout):
            return []
        nodes = []
        for i in range(fanout[depth]):
            children = level(depth + 1, f"{prefix}.{i + 1}")
            budget = sum((k["allocated_budget"] for k in children), Decimal("0")) or Decimal("1000.00")
            nodes.append({"title": f"{TYPES[depth].title()} {prefix}.{i + 1}".replace(" .", " "),
                          "work_type": TYPES[depth], "allocated_budget": budget, "start_date": date(2025, 1, 6),
                          "due_date": date(2025, 12, 19), "children": children})
        return nodes

    children = level(0, "")
    return [{"title": "Benchmark project", "work_type": "project", "children": children,
             "allocated_budget": sum((k["allocated_budget"] for k in children), Decimal("0"))}]


def count_nodes(nodes):
    return sum(1 + count_nodes(n["children"]) for n in nodes)


def make_app(database_url):
    from config import Config
    from obcms import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = {}
        WTF_CSRF_ENABLED = False

    return create_app(BenchConfig)


def prepare(db, fanout):
    """The bench organization and user, and the tree (rebuilt each run). Returns (user id, root id, nodes)."""
    from obcms.auth import services as auth_services
    from obcms.auth.models import Organization, User
    from obcms.workitems import services
    from obcms.workitems.models import WorkItem

    db.create_all()
    org = db.session.scalar(sa.select(Organization).where(Organization.acronym == "BENCHPAGE"))
    if org is None:
        org = auth_services.create_organization("Tree page benchmark", "BENCHPAGE", "moa")
    user = db.session.scalar(sa.select(User).where(User.username == "bench_tree_page"))
    if user is None:
        user = auth_services.create_user("bench_tree_page", "bench-tree-page@example.gov.ph",
                                         "bench-password-0123456789", "moa_staff", org, full_name="Bench Page")
    db.session.execute(sa.delete(WorkItem).where(WorkItem.organization_id == org.id, WorkItem.parent_id.is_(None)))
    db.session.commit()
    nodes = forest(fanout)
    ids = services.build_tree(nodes, user, organization_id=org.id)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE work_items")
    return user.id, ids[0], count_nodes(nodes)


def measure(client, url, reps, counter, headers=None):
    times, queries = [], []
    client.get(url, headers=headers)  # warm: templates compiled, statements cached
    for _ in range(reps):
        before, t0 = counter["n"], time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        queries.append(counter["n"] - before)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "queries": int(statistics.median(queries)), "n": reps}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fanout", default="20,20,24")
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    fanout = tuple(int(x) for x in args.fanout.split(","))

    url = os.environ.get("DATABASE_URL")
    tmp = None
    if not url:
        tmp = tempfile.NamedTemporaryFile(suffix=".db", delete=False)
        url = f"sqlite:///{tmp.name}"
    app = make_app(url)
    from obcms.auth.models import User
    from obcms.extensions import db
    from obcms.workitems import tree
    from obcms.workitems.models import WorkItem

    try:
        with app.app_context():
            t0 = time.perf_counter()
            user_id, root_id, nodes = prepare(db, fanout)
            build_ms = (time.perf_counter() - t0) * 1000
            user = db.session.get(User, user_id)
            first = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.parent_id == root_id)
                                       .order_by(tree.position()).limit(1)).one()
            second = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.parent_id == first)
                                        .order_by(tree.position()).limit(2)).all()
            client = signed_in_client(app, user)
            engine, backend = db.engine, db.engine.dialect.name
        # Requests run outside this app context, each with its own session, as in production.
        counter = {"n": 0}

        def count(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(TX_CONTROL):
                counter["n"] += 1

        event.listen(engine, "before_cursor_execute", count)
        open_ids = ",".join(map(str, [first, *second]))
        result = measure(client, f"/work-items/{root_id}", args.reps, counter)
        result.update(nodes=nodes, build_ms=round(build_ms, 1),
                      open=measure(client, f"/work-items/{root_id}?open={open_ids}", args.reps, counter),
                      children=measure(client, f"/work-items/{first}/children", args.reps, counter,
                                       headers={"HX-Request": "true"}),
                      meta={"backend": backend, "fanout": list(fanout), "python": platform.python_version()})
        print(json.dumps(result))
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
