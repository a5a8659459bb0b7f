"""Benchmark of the work-breakdown tree: the workload of ../shared/peers/mptt (same forest, same step keys).

    python -m bench.tree [--trees 80] [--fanout 5,5,4] [--seed 42] [--reps 25] [--mut-reps 20] [--bulk-reps 3]

SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (use a dedicated database: its
tables are created when missing and its work items are deleted first). Prints ONE JSON object: per step
{median_ms, min_ms, max_ms, queries, n}, plus meta and integrity. Everything goes through the project's own
services (rules, locks, roll-ups and audit rows included); each write is committed like a request would.

The forest (per tree: project → fanout[0] activities → fanout[1] tasks → fanout[2] subtasks) draws the same
random numbers in the same order as the peer. Two differences the rules force: a container's allocated
budget is its own draw plus what its children are allocated (so nothing is over-allocated), and a project
keeps a reserve of twice that again (so an activity can be moved into it); the inserted subtask is
allocated 1,000.00 (every task's unallocated draw is at least that). Peer statuses map planned→not_started,
active→in_progress, on_hold→blocked, done→completed.
"""
import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import QueryCounter, log

TYPES = ["project", "activity", "task", "subtask"]
PEER_STATUSES = ["planned", "active", "on_hold", "done"]
STATUS_OF = {"planned": "not_started", "active": "in_progress", "on_hold": "blocked", "done": "completed"}


QC = QueryCounter()


def timed(fn, *args):
    q0, t0 = QC.n, time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - t0) * 1000.0, QC.n - q0, result


def summary(times, queries, **extra):
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "queries": int(statistics.median(queries)), "n": len(times), **extra}


# ------------------------------------------------------------------------------------------------- data
def make_forest(trees, fanout, seed):
    """The peer's forest (same draws, same order), as nested dicts of WorkItem fields."""
    rng = random.Random(seed)
    base = date(2025, 1, 1)

    def node(title, depth):
        leaf = depth == len(fanout)
        start = base + timedelta(days=rng.randrange(365))
        fields = {
            "title": title,
            "work_type": TYPES[min(depth, 3)],
            "status": STATUS_OF[rng.choice(PEER_STATUSES)],
            "allocated_budget": Decimal(rng.randrange(100_000, 5_000_000)) / 100,
            "progress": rng.randrange(101) if leaf else 0,
            "start_date": start,
            "due_date": start + timedelta(days=rng.randrange(7, 180)),
        }
        prefix = TYPES[min(depth + 1, 3)][0].upper()
        fields["children"] = [] if leaf else [node(f"{title}.{prefix}{i + 1}", depth + 1)
                                              for i in range(fanout[depth])]
        return fields

    forest = [node(f"P{t + 1}", 0) for t in range(trees)]
    for tree in forest:
        _envelopes(tree, reserve=True)
    return forest


def _envelopes(node, reserve=False):
    """Container budget = own draw + children's allocations (+ twice that as a project's reserve)."""
    below = sum((_envelopes(k) for k in node["children"]), Decimal("0"))
    node["allocated_budget"] += below * (3 if reserve else 1)
    return node["allocated_budget"]


def strip_children(node):
    return {k: v for k, v in node.items() if k != "children"}


# ------------------------------------------------------------------------------------------------- setup
def make_app(database_url):
    from config import Config
    from obcms import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = {}

    return create_app(BenchConfig)


def prepare_database(db, reset):
    from obcms.auth import services as auth_services
    from obcms.auth.models import Organization, User
    from obcms.workitems.models import WorkItem

    db.create_all()
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem))
    if existing and not reset:
        raise SystemExit(f"work_items already holds {existing} rows; use a dedicated database or --reset.")
    clear(db)
    org = db.session.scalar(sa.select(Organization).where(Organization.acronym == "BENCH"))
    if org is None:
        org = auth_services.create_organization("Benchmark Office", "BENCH", "oobc")
    actor = db.session.scalar(sa.select(User).where(User.username == "bench"))
    if actor is None:
        actor = auth_services.create_user("bench", "bench@example.gov.ph", "bench-password-0123456789", "oobc_staff",
                                          org, full_name="Benchmark")
    db.session.commit()
    return actor.id, org.id


def clear(db):
    from obcms.workitems.models import WorkItem

    db.session.execute(sa.delete(WorkItem))
    db.session.commit()


def analyze(db):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE work_items" if db.engine.dialect.name == "postgresql" else "ANALYZE")


# ------------------------------------------------------------------------------------------------- steps
def step_build(db, forest, actor, org_id, cap_s):
    """Node by node through create_work_item, level order, each as last child, each committed."""
    from obcms.workitems import services

    times, queries, done = [], [], 0
    user = db.session.get(services.User, actor)
    t0, q0 = time.perf_counter(), QC.n
    for tree in forest:
        queue = [(tree, None)]
        while queue:
            node, parent = queue.pop(0)  # the parent object from its own creation, as in the peer
            fields = strip_children(node)
            if parent is None:
                fields["organization_id"] = org_id

            db.session.refresh(user)  # the signed-in user, loaded before the request's work (untimed)

            def create(fields=fields, parent=parent):
                item = services.create_work_item(parent, user, **fields)
                db.session.commit()
                return item

            dt, q, item = timed(create)
            times.append(dt)
            queries.append(q)
            queue.extend((k, item) for k in node["children"])
        done += 1
        if time.perf_counter() - t0 > cap_s:
            break
    total_ms = (time.perf_counter() - t0) * 1000
    out = summary(times, queries, total_ms=round(total_ms, 1), total_queries=QC.n - q0, trees_done=done)
    if done < len(forest):
        out.update(capped=True, est_full_total_ms=round(total_ms * len(forest) / done, 1))
    return out, done


def step_bulk(db, forest, actor, org_id, reps):
    """The whole forest through build_tree: rules checked, roll-ups in memory, one multi-row INSERT."""
    from obcms.auth.models import User
    from obcms.workitems import services

    times, queries = [], []
    for _ in range(reps):
        clear(db)

        def build():
            ids = services.build_tree(forest, db.session.get(User, actor), organization_id=org_id)
            db.session.commit()
            return ids

        dt, q, _ = timed(build)
        times.append(dt)
        queries.append(q)
        db.session.close()
    return summary(times, queries)


def repeat(db, op, args, warmup=2):
    for a in args[:warmup]:
        op(a)
        db.session.close()
    times, queries = [], []
    for a in args:
        dt, q, _ = timed(op, a)
        times.append(dt)
        queries.append(q)
        db.session.expunge_all()  # the next call loads everything afresh (within one open transaction)
    return summary(times, queries)


def run(args):
    from obcms.extensions import db
    from obcms.workitems import rollup, services, tree
    from obcms.workitems.models import WorkItem

    fanout = [int(x) for x in args.fanout.split(",")]
    forest = make_forest(args.trees, fanout, args.seed)
    per_tree = services_count(forest[0])
    res = {"meta": {}}
    backend = db.engine.dialect.name
    with db.engine.connect() as conn:
        db_version = conn.exec_driver_sql("SELECT version()" if backend == "postgresql"
                                          else "SELECT sqlite_version()").scalar()
    actor, org_id = prepare_database(db, args.reset)
    res["meta"] = {"backend": backend, "db_version": db_version, "python": platform.python_version(),
                   "sqlalchemy": sa.__version__, "trees": args.trees, "fanout": fanout,
                   "nodes_per_tree": per_tree, "nodes": per_tree * args.trees, "reps": args.reps,
                   "mut_reps": args.mut_reps, "bulk_reps": args.bulk_reps, "seed": args.seed,
                   "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                   "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                   "notes": "every step through obcms services/tree API; writes committed per operation; "
                            "queries = all data statements incl. the tree lock and audit rows"}
    log(f"[{backend}] {args.trees} trees x {per_tree} nodes = {per_tree * args.trees} nodes")
    event.listen(db.engine, "before_cursor_execute", QC)

    log("build: node by node ...")
    res["build"], done = step_build(db, forest, actor, org_id, args.cap_s)
    integrity = {"after_build": tree.check_integrity() == []}
    log("bulk_build ...")
    res["bulk_build"] = step_bulk(db, forest, actor, org_id, args.bulk_reps)
    integrity["after_bulk_build"] = tree.check_integrity() == []
    db.session.close()
    analyze(db)

    rng = random.Random(args.seed + 1)
    root_ids = list(db.session.scalars(sa.select(WorkItem.id).where(WorkItem.parent_id.is_(None))
                                       .order_by(WorkItem.id)))
    tids = list(range(1, args.trees + 1))

    def root_of(t):
        return root_ids[t - 1]

    sample_roots = [root_of(rng.choice(tids)) for _ in range(args.reps)]
    deep = []
    for _ in range(args.reps):
        candidates = list(db.session.scalars(sa.select(WorkItem.id).where(
            WorkItem.tree_id == root_of(rng.choice(tids)), WorkItem.depth == len(fanout)).order_by(WorkItem.id)))
        deep.append(rng.choice(candidates))
    db.session.close()

    log("read steps ...")
    res["descendants"] = repeat(db, lambda r: tree.descendants(r, include_self=True), sample_roots)
    res["ancestors"] = repeat(db, lambda n: tree.ancestors(n, include_self=True), deep)
    res["render_tree"] = repeat(db, tree.subtree_nested, sample_roots)
    res["budget_rollup"] = repeat(db, rollup.allocation_tree, sample_roots)

    def progress_rollup(_):
        changed = rollup.rollup_trees()
        db.session.commit()
        return changed

    res["progress_rollup"] = repeat(db, progress_rollup, list(range(10)), warmup=1)

    log("write steps ...")
    order = tids[:]
    rng.shuffle(order)
    m = args.mut_reps

    def cyc(i):
        return order[i % len(order)]

    def first_node(tree_number, depth, last=False):
        return db.session.scalar(sa.select(WorkItem).where(WorkItem.tree_id == root_of(tree_number),
                                                           WorkItem.depth == depth)
                                 .order_by(tree.position(descending=last)).limit(1))

    def one_by_one(op, prepare):  # load each target just before its (timed) operation
        times, queries = [], []
        for i in range(m):
            target = prepare(i)
            dt, q, _ = timed(op, target)
            times.append(dt)
            queries.append(q)
            db.session.close()
        return summary(times, queries)

    def actor_user():
        return db.session.get(services.User, actor)

    sizes = {"move_subtree": [], "delete_subtree": []}

    def insert_deep(args_):
        parent, user = args_
        services.create_work_item(parent, user, title=f"{parent.title}.new", work_type="subtask",
                                  allocated_budget=Decimal("1000.00"), start_date=date(2025, 6, 1),
                                  due_date=date(2025, 7, 1))
        db.session.commit()

    def move(args_):
        node, new_parent, user = args_
        services.move_work_item(node, user, node.version, parent=new_parent)
        db.session.commit()

    def delete(args_):
        node, user = args_
        services.delete_work_item(node, user, node.version)
        db.session.commit()

    def move_pair(i):
        src, dst = cyc(m + i), cyc(2 * m + i)
        dst = dst if dst != src else cyc(2 * m + i + 1)
        node = first_node(src, 1)
        sizes["move_subtree"].append(tree.subtree_size(node))
        return node, db.session.get(WorkItem, root_of(dst)), actor_user()

    def delete_target(i):
        node = first_node(cyc(3 * m + i), 1, last=True)
        sizes["delete_subtree"].append(tree.subtree_size(node))
        return node, actor_user()

    res["insert_deep"] = one_by_one(insert_deep, lambda i: (first_node(cyc(i), 2), actor_user()))
    res["move_subtree"] = one_by_one(move, move_pair)
    res["delete_subtree"] = one_by_one(delete, delete_target)
    for key, values in sizes.items():
        res[key]["subtree_nodes"] = statistics.median(values)
    violations = tree.check_integrity()
    integrity["after_workload"] = not violations
    res["integrity"] = all(integrity.values())
    res["integrity_detail"] = {**integrity, "violations": violations[:5]}
    res["meta"].update(loadavg_end=os.getloadavg(), finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    log(table(res))
    return res


def services_count(tree):
    return 1 + sum(services_count(k) for k in tree["children"])


def table(res):
    lines = [f"{'step':18} {'n':>6} {'median_ms':>10} {'min_ms':>9} {'max_ms':>9} {'queries':>7}"]
    for key, v in res.items():
        if isinstance(v, dict) and "median_ms" in v:
            lines.append(f"{key:18} {v['n']:>6} {v['median_ms']:>10.3f} {v['min_ms']:>9.3f} {v['max_ms']:>9.3f} "
                         f"{v['queries']:>7}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", type=int, default=80, help="number of projects (trees)")
    parser.add_argument("--fanout", default="5,5,4", help="children per level: activities,tasks,subtasks")
    parser.add_argument("--reps", type=int, default=25, help="repetitions of read steps")
    parser.add_argument("--mut-reps", type=int, default=20, help="repetitions of insert/move/delete")
    parser.add_argument("--bulk-reps", type=int, default=3, help="repetitions of the bulk build")
    parser.add_argument("--cap-s", type=float, default=300, help="cap of the node-by-node build, seconds")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reset", action="store_true", help="delete existing work items in DATABASE_URL's database")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    temp = None
    if url:
        from config import _database_url

        url = _database_url()
    else:
        temp = tempfile.NamedTemporaryFile(prefix="obcms-bench-", suffix=".sqlite3", delete=False)
        url = f"sqlite:///{temp.name}"
        args.reset = True
    os.environ.setdefault("OBCMS_INSTANCE_DIR", tempfile.gettempdir())
    app = make_app(url)
    try:
        with app.app_context():
            from obcms.audit.context import acting_as

            with acting_as("bench:tree"):
                result = run(args)
    finally:
        if temp is not None:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.remove(temp.name + suffix)
                except FileNotFoundError:
                    pass
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
