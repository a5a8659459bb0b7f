"""Benchmark of the PPA pages, endpoints and the nightly sync on a generated portfolio.

    python -m bench.ppas [--ppas 1000] [--reps 15] [--seed 7] [--reset]

SQLite in a temporary file by default; PostgreSQL when DATABASE_URL is set (use a dedicated database: with
--reset its tables are dropped and created again; without it a database that already holds PPAs is refused).

The portfolio: N PPAs over 5 MOAs and the 6 sectors, each with three funding tranches and WorkItem tracking on,
its execution project a program-like tree of 131 work items (project → 5 sub-projects → 5 activities → 4
tasks) with random leaf progress and statuses, built with one bulk insert (tree.insert_many, containers rolled
up in memory) — plus one PPA whose project has 50 tasks for the distribution steps. Pages go through the
Flask test client signed in as an oobc_staff user; the time is measured around each request (server work plus
the test client's small overhead) and the SQL statements sent are counted with an engine event (transaction
control not counted). Prints ONE JSON object: per step {median_ms, min_ms, max_ms, queries, n}, plus meta.

Nightly sync: the whole portfolio through the sync_ppa_progress job's service, once after 20 tasks of every
tree were changed behind the roll-ups' back (every tree is re-rolled, most PPAs move by about 6 points and are
notified), and once more with nothing to do.
"""
import argparse
import json
import platform
import random
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import QueryCounter, database_url, log, signed_in_client

SECTORS = ("economic", "social", "infrastructure", "environment", "governance", "peace_security")
STATUSES = ("not_started", "in_progress", "completed", "at_risk")
FANOUT = (5, 5, 4)
TYPES = ("project", "sub_project", "activity", "task")
CHILDREN_FOR_DISTRIBUTION = 50


QC = QueryCounter()


def summary(times, queries, **extra):
    return {"median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2), "queries": int(statistics.median(queries)), "n": len(times), **extra}


def make_app(database_url):
    from config import Config
    from obcms import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = {}
        WTF_CSRF_ENABLED = False  # the forms are posted by the benchmark itself
        REDIS_URL = None  # "Sync now" and jobs inline

    return create_app(BenchConfig)


# ------------------------------------------------------------------------------------------------- data
def program_tree(rng, budget, start, end):
    """131 nodes: each level splits its parent's budget evenly enough (random weights), leaves get progress."""

    def node(depth, amount, title):
        fields = {"title": title, "work_type": TYPES[depth], "allocated_budget": amount,
                  "start_date": start, "due_date": end}
        if depth == len(FANOUT):
            status = rng.choice(STATUSES)
            fields.update(status=status, progress=100 if status == "completed" else rng.randrange(0, 100))
            fields["children"] = []
            return fields
        n = FANOUT[depth]
        share = (amount / n).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        amounts = [share] * (n - 1) + [amount - share * (n - 1)]
        fields["children"] = [node(depth + 1, a, f"{title}.{i + 1}") for i, a in enumerate(amounts)]
        if depth == 2:
            fields["activity_category"] = "ppa"
        return fields

    return node(0, budget, "Execution project")


def build_portfolio(db, n_ppas, seed, reset, alongside=False):
    """The portfolio described above; with `alongside`, next to the PPAs a database already holds (the backup
    drill's demo data) instead of refusing it. Returns (user id, the N PPAs' ids, the distribution PPA's id)."""
    from obcms.auth import services as auth_services
    from obcms.ppas.models import FundingTranche, Ppa
    from obcms.workitems import rollup, tree
    from obcms.workitems.models import WorkItem

    if reset:
        db.drop_all()
    db.create_all()
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Ppa))
    if existing and not alongside:
        raise SystemExit(f"ppas already holds {existing} rows; use a dedicated database and --reset.")
    rng = random.Random(seed)
    oobc = auth_services.create_organization("Benchmark Office", "BOOBC", "oobc")
    moas = [auth_services.create_organization(f"Benchmark Ministry {i}", f"BM{i}", "moa") for i in range(5)]
    user = auth_services.create_user("bench", "bench@example.gov.ph", "bench-password-0123456789", "oobc_staff",
                                     oobc, full_name="Benchmark")
    db.session.flush()
    user_id = user.id
    rows = []
    for i in range(n_ppas + 1):
        budget = Decimal(rng.randrange(1_000_000, 50_000_000))
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(60))
        rows.append(dict(title=f"Benchmark PPA {i + 1}", code=f"BENCH-{i + 1:05d}", category="moa_ppa",
                         summary="Generated for the benchmark.", status=rng.choice(("planning", "ongoing")),
                         fiscal_year=2026, sector=SECTORS[i % len(SECTORS)], appropriation_class="mooe",
                         funding_source="gaab", implementing_moa_id=moas[i % len(moas)].id,
                         lead_organization_id=oobc.id, budget_ceiling=budget, budget_allocation=budget,
                         start_date=start, target_end_date=start + timedelta(days=300), milestones=[],
                         outcome_framework=[], workitem_tracking_enabled=True, budget_distribution_policy="equal",
                         structure_template="program", created_by_id=user_id))
    db.session.execute(sa.insert(Ppa), rows)
    ppas = db.session.execute(sa.select(Ppa.id, Ppa.budget_allocation, Ppa.start_date, Ppa.target_end_date,
                                        Ppa.implementing_moa_id).where(Ppa.code.like("BENCH-%"))
                              .order_by(Ppa.id)).all()
    tranches = []
    for p in ppas:
        for kind, pct in (("allocation", 100), ("obligation", rng.randrange(40, 100)),
                          ("disbursement", rng.randrange(10, 40))):
            tranches.append(dict(ppa_id=p.id, kind=kind, amount=p.budget_allocation * pct / 100,
                                 tranche_date=date(2026, 2, 1)))
    db.session.execute(sa.insert(FundingTranche), tranches)
    forest = []
    for p in ppas[:-1]:
        root = program_tree(rng, p.budget_allocation, p.start_date, p.target_end_date)
        root.update(title=f"Execution of PPA {p.id}", ppa_id=p.id, organization_id=p.implementing_moa_id)
        forest.append(root)
    last = ppas[-1]  # the distribution PPA: a project with 50 tasks
    share = (last.budget_allocation / CHILDREN_FOR_DISTRIBUTION).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    forest.append({"title": "Distribution project", "work_type": "project", "allocated_budget": last.budget_allocation,
                   "ppa_id": last.id, "organization_id": last.implementing_moa_id,
                   "children": [{"title": f"Task {i + 1}", "work_type": "task", "allocated_budget": share}
                                for i in range(CHILDREN_FOR_DISTRIBUTION)]})
    rollup.derive_structure(forest)
    t0 = time.perf_counter()
    ids = tree.insert_many(forest)
    log(f"inserted {len(ids)} work items in {time.perf_counter() - t0:.1f} s")
    roots = db.session.execute(sa.select(WorkItem.id, WorkItem.ppa_id).where(
        WorkItem.parent_id.is_(None), WorkItem.ppa_id.in_([p.id for p in ppas]))).all()
    db.session.execute(sa.update(Ppa.__table__).where(Ppa.__table__.c.id == sa.bindparam("_id")).values(
        execution_project_id=sa.bindparam("_root")), [{"_id": r.ppa_id, "_root": r.id} for r in roots])
    db.session.commit()
    from obcms.ppas.tracking import sync_tracked_ppas

    sync_tracked_ppas()  # the PPAs start in agreement with their trees
    db.session.commit()
    db.session.remove()
    return user_id, [p.id for p in ppas[:-1]], last.id


def analyze(db):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")


# ------------------------------------------------------------------------------------------------- steps
def measure(call, reps, warmup=2, before=None):
    for i in range(warmup):
        if before:
            before(i)
        call(i)
    times, queries = [], []
    for i in range(reps):
        if before:
            before(warmup + i)
        q0, t0 = QC.n, time.perf_counter()
        response = call(warmup + i)
        times.append((time.perf_counter() - t0) * 1000)
        queries.append(QC.n - q0)
        if response is not None and response.status_code >= 400:
            raise SystemExit(f"{response.status_code} from the benchmark request: {response.get_data(as_text=True)[:500]}")
    return summary(times, queries)


def page(client, url_of, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}

    def call(i):
        return client.get(url_of(i), headers=headers)

    return call


def distribution_steps(app, db, client, ppa_id, reps):
    from obcms.ppas.models import Ppa
    from obcms.workitems import tree
    from obcms.workitems.models import WorkItem

    with app.app_context():
        root = db.session.scalar(sa.select(Ppa.execution_project_id).where(Ppa.id == ppa_id))
        kids = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.parent_id == root)
                                  .order_by(tree.position())).all()
    weight_sets = [{f"weight-{k}": "2.00" for k in kids},
                   {f"weight-{k}": ("2.50" if i < 25 else "1.50") for i, k in enumerate(kids)}]
    versions = {}

    def read_versions(i):
        with app.app_context():
            rows = db.session.execute(sa.select(WorkItem.id, WorkItem.version)
                                      .where(sa.or_(WorkItem.id == root, WorkItem.parent_id == root))).all()
        versions.clear()
        versions.update({f"v-{r.id}": str(r.version) for r in rows})

    def preview(i):
        return client.post(f"/budget/work-items/{root}/distribute/preview", headers={"HX-Request": "true"},
                           data={"method": "weighted", **weight_sets[i % 2]})

    def apply(i):
        return client.post(f"/budget/work-items/{root}/distribute", headers={"HX-Request": "true"},
                           data={"method": "weighted", **weight_sets[i % 2], **versions})

    return measure(preview, reps), measure(apply, reps, before=read_versions)


def nightly(app, db):
    from obcms.audit.context import acting_as
    from obcms.ppas.tracking import sync_tracked_ppas

    results = {}
    for label in ("with_changes", "idle"):
        with app.app_context():
            if label == "with_changes":
                stale_leaves(db)
            q0, t0 = QC.n, time.perf_counter()
            with acting_as("job:sync_ppa_progress"):
                counts = sync_tracked_ppas()
            db.session.commit()
            results[label] = {"ms": round((time.perf_counter() - t0) * 1000, 1), "queries": QC.n - q0,
                              **{k: v for k, v in counts.items() if k != "failures"}}
    return results


def stale_leaves(db):
    """Move the tasks of every tree's first sub-project (20 of 100 tasks, ~20 % of its budget) by 30 points
    and to in_progress with a raw UPDATE, without rolling up: every tree is stale, most PPAs move ~6 points."""
    from obcms.workitems.models import WorkItem

    W = WorkItem.__table__
    firsts = sa.select(sa.func.min(W.c.id)).where(W.c.depth == 1).group_by(W.c.tree_id)  # ids go in tree order
    first_sub_project = sa.and_(W.c.depth == 3, W.c.parent_id.in_(sa.select(W.c.id).where(W.c.parent_id.in_(firsts))))
    with db.engine.begin() as conn:  # straight to the connection: the status guard watches the session only
        conn.execute(sa.update(W).where(first_sub_project).values(
            progress=sa.case((W.c.progress >= 50, W.c.progress - 30), else_=W.c.progress + 30),
            status="in_progress", completed_at=None, version=W.c.version + 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reset", action="store_true", help="drop and create the tables first (PostgreSQL)")
    args = parser.parse_args()

    url, temporary = database_url("obcms-bench-ppas-")
    app = make_app(url)
    from obcms.extensions import db

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", QC)
        backend = db.engine.dialect.name
        t0 = time.perf_counter()
        user_id, ppa_ids, distribution_ppa = build_portfolio(db, args.ppas, args.seed, args.reset or temporary)
        build_s = time.perf_counter() - t0
        analyze(db)
        from obcms.auth.models import User

        user = db.session.get(User, user_id)
        client = signed_in_client(app, user)
        db.session.remove()
    log(f"portfolio of {len(ppa_ids)} PPAs built in {build_s:.1f} s on {backend}")

    rng = random.Random(args.seed)
    sample = [rng.choice(ppa_ids) for _ in range(args.reps + 2)]
    reps = args.reps
    steps = {}
    steps["portfolio_list"] = measure(page(client, lambda i: "/ppas"), reps)
    steps["portfolio_list_filtered"] = measure(page(client, lambda i: f"/ppas?sector={SECTORS[i % 6]}&sort=budget",
                                                    htmx=True), reps)
    steps["dashboard"] = measure(page(client, lambda i: "/ppas/dashboard"), reps)
    steps["ppa_detail"] = measure(page(client, lambda i: f"/ppas/{sample[i]}"), reps)
    steps["work_items_tab"] = measure(page(client, lambda i: f"/ppas/{sample[i]}/work-items", htmx=True), reps)
    steps["work_items_page"] = measure(page(client, lambda i: f"/ppas/{sample[i]}/work-items"), reps)
    with app.app_context():
        has_api = "api.budget_allocation_tree" in app.view_functions
        has_distribution = "budget.preview" in app.view_functions and "budget.apply" in app.view_functions
    if has_api:
        steps["allocation_tree_json"] = measure(
            page(client, lambda i: f"/api/v1/ppas/{sample[i]}/budget-allocation-tree"), reps)
    if has_distribution:
        steps["distribution_preview_50"], steps["distribution_apply_50"] = distribution_steps(
            app, db, client, distribution_ppa, reps)
    steps["nightly_sync"] = nightly(app, db)

    targets = {"page_max_queries": 10, "page_max_ms": 50, "nightly_sync_max_ms": 5000}
    pages = {k: v for k, v in steps.items() if k != "nightly_sync"}
    print(json.dumps({
        "meta": {"backend": backend, "ppas": len(ppa_ids), "work_items_per_ppa": 131,
                 "work_items": len(ppa_ids) * 131 + CHILDREN_FOR_DISTRIBUTION + 1, "reps": reps, "seed": args.seed,
                 "build_s": round(build_s, 1), "python": platform.python_version(),
                 "sqlalchemy": sa.__version__, "timing": "around Flask test-client requests, signed in as oobc_staff"},
        "steps": steps,
        "targets": targets,
        "meets_targets": all(v["queries"] <= 10 and v["median_ms"] < 50 for v in pages.values())
        and steps["nightly_sync"]["with_changes"]["ms"] < 5000,
    }, indent=1))


if __name__ == "__main__":
    main()
