"""Concurrency proof on PostgreSQL: 4 processes insert, move and delete in the same two trees (moves within and
across them) for a few seconds; both trees are intact afterwards (exact nested-set invariants) and every
roll-up is consistent (no lost update)."""
import multiprocessing
import random
import time

import pytest
import sqlalchemy as sa

WORKERS = 4
SECONDS = 3.0


def _app(url):
    from config import TestingConfig
    from obcms import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


def _worker(url, root_ids, actor_id, seed, start_at, results):
    """One process: random inserts, moves and deletes in the tree, each its own committed transaction."""
    from obcms.audit.context import acting_as
    from obcms.auth.models import User
    from obcms.errors import DomainError
    from obcms.extensions import db
    from obcms.workitems import services
    from obcms.workitems.models import WorkItem

    rng = random.Random(seed)
    counts = {"insert": 0, "move": 0, "delete": 0, "refused": 0, "retried": 0, "errors": []}
    app = _app(url)
    with app.app_context(), acting_as(f"test:worker{seed}"):
        time.sleep(max(0.0, start_at - time.time()))
        end = time.time() + SECONDS
        while time.time() < end:
            ids = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.tree_id.in_(root_ids))).all()
            actor = db.session.get(User, actor_id)
            node = db.session.get(WorkItem, rng.choice(ids))
            op = rng.choice(["insert", "insert", "move", "move", "delete"])
            if node is None:  # deleted by another process since the ids were read
                db.session.rollback()
                continue
            try:
                if op == "insert" or len(ids) < 40:
                    op = "insert"
                    services.create_work_item(node, actor, title=f"w{seed}", work_type="subtask",
                                              progress=rng.randrange(101))
                elif node.parent_id is None:
                    continue
                elif op == "move":
                    target = db.session.get(WorkItem, rng.choice(ids))
                    if target is None:
                        continue
                    services.move_work_item(node, actor, node.version, parent=target)
                else:
                    services.delete_work_item(node, actor, node.version)
                db.session.commit()
                counts[op] += 1
            except DomainError:  # a rule (depth, under itself) or a node deleted meanwhile
                db.session.rollback()
                counts["refused"] += 1
            except sa.exc.OperationalError:  # e.g. a deadlock between a re-lock and another tree: retry
                db.session.rollback()
                counts["retried"] += 1
            except Exception as error:  # anything else is a failure the test reports
                db.session.rollback()
                counts["errors"].append(repr(error)[:300])
            finally:
                db.session.close()
    results.put(counts)


@pytest.mark.postgres
@pytest.mark.committed
@pytest.mark.slow
def test_four_processes_writing_one_tree_keep_it_intact():
    from obcms.audit.context import acting_as
    from obcms.auth import services as auth_services
    from obcms.extensions import db
    from obcms.workitems import rollup, services, tree
    from tests.databases import create_database, drop_database

    url = create_database("obcms_concurrency")
    try:
        app = _app(url)
        with app.app_context(), acting_as("test:setup"):
            db.create_all()
            org = auth_services.create_organization("Concurrency Office", "CONC", "oobc")
            actor = auth_services.create_user("writer", "writer@example.gov.ph", "a-long-password-123", "oobc_staff",
                                              org)
            db.session.flush()
            structure = [{"title": "P", "work_type": "project", "children": [
                {"title": f"S{i}", "work_type": "subtask", "children": [
                    {"title": f"S{i}.{j}", "work_type": "subtask"} for j in range(4)]} for i in range(5)]}]
            ids = services.build_tree(structure * 2, actor, organization_id=org.id)
            root_ids = [ids[0], ids[len(ids) // 2]]
            actor_id = actor.id
            db.session.commit()

            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            start_at = time.time() + 4.0  # every process imports and connects first, then all start together
            processes = [context.Process(target=_worker, args=(url, root_ids, actor_id, seed, start_at, results))
                         for seed in range(WORKERS)]
            for process in processes:
                process.start()
            counts = [results.get(timeout=60) for _ in processes]
            for process in processes:
                process.join(timeout=30)
                assert process.exitcode == 0

            db.session.expire_all()
            assert [e for c in counts for e in c["errors"]] == []
            writes = sum(c["insert"] + c["move"] + c["delete"] for c in counts)
            assert writes >= 20, counts
            assert all(c["insert"] + c["move"] + c["delete"] > 0 for c in counts), counts
            assert tree.check_integrity() == [], counts
            for root_id in root_ids:
                nodes = tree.descendants(root_id, include_self=True)
                assert (nodes[0].id, nodes[0].lft, nodes[0].rgt) == (root_id, 1, 2 * len(nodes))
            with acting_as("test:check"):
                assert rollup.rollup_trees() == 0, "a roll-up was lost under concurrency"
            db.session.rollback()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
