"""Concurrency proofs on PostgreSQL, each in a committed database of its own:

- 4 processes insert, move and delete in the same two trees (moves within and across them) through the
  services for a few seconds;
- 8 writer and 3 reader processes do the same through the HTTP routes (each its own signed-in test client)
  for longer: no response is a 500, every 409 names what changed.

Both trees are intact afterwards (exact nested-set invariants) and every roll-up is consistent (no lost
update)."""
import collections
import contextlib
import logging
import multiprocessing
import random
import re
import time
import traceback

import pytest
import sqlalchemy as sa

from obcms.auth.sessions import start_sign_in
from obcms.extensions import db

WORKERS = 4
SECONDS = 3.0
HTTP_WRITERS = 8
HTTP_READERS = 3
HTTP_SECONDS = 20.0
MIN_TREE = 40  # a writer inserts while the tree it picked has fewer nodes, so neither tree empties
FINE = {200, 302, 303, 404, 409, 422}  # 302: a node became a tree of its own; 404: gone; 422: a rule refused
CHANGED_FIELD = re.compile(r'<th scope="row">\s*([^<]*?)\s*</th>')


def _app(url):
    from config import TestingConfig
    from obcms import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)


@contextlib.contextmanager
def _committed_database():
    """(app, url) of a new database with the schema, inside an app context; dropped afterwards."""
    from obcms.extensions import db
    from tests.databases import create_database, drop_database

    url, app = create_database("obcms_concurrency"), None
    try:
        app = _app(url)
        with app.app_context():
            db.create_all()
            yield app, url
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop_database(url)


def _two_trees(usernames, branches):
    """Committed: one organization, an oobc_staff user per name, and two project trees of `branches`
    subtasks with `branches` subtasks each. Returns (root ids, {username: user})."""
    from obcms.audit.context import acting_as
    from obcms.auth import services as auth_services
    from obcms.extensions import db
    from obcms.workitems import services

    with acting_as("test:setup"):
        org = auth_services.create_organization("Concurrency Office", "CONC", "oobc")
        users = {name: auth_services.create_user(name, f"{name}@example.gov.ph", "a-long-password-123",
                                                 "oobc_staff", org) for name in usernames}
        db.session.flush()
        structure = [{"title": "P", "work_type": "project", "children": [
            {"title": f"S{i}", "work_type": "subtask", "children": [
                {"title": f"S{i}.{j}", "work_type": "subtask"} for j in range(branches)]} for i in range(branches)]}]
        ids = services.build_tree(structure * 2, users[usernames[0]], organization_id=org.id)
        db.session.commit()
    return [ids[0], ids[len(ids) // 2]], users


def _run_together(target, arguments, timeout):
    """Start one spawned process per argument tuple: target(*arguments, ready, results). Each one sets up
    (imports, connects) and then waits on `ready`, so all start together; returns what each put in results."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ready = context.Barrier(len(arguments) + 1)
    processes = [context.Process(target=target, args=(*args, ready, results)) for args in arguments]
    for process in processes:
        process.start()
    ready.wait(timeout=120)
    counts = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return counts


def _assert_trees_intact(root_ids, counts):
    """Exact nested-set invariants of every tree, the two roots still heading theirs, and no lost roll-up."""
    from obcms.audit.context import acting_as
    from obcms.extensions import db
    from obcms.workitems import rollup, tree

    db.session.expire_all()
    assert tree.check_integrity() == [], counts
    for root_id in root_ids:
        nodes = tree.descendants(root_id, include_self=True)
        assert (nodes[0].id, nodes[0].parent_id, nodes[0].depth) == (root_id, None, 0)
    with acting_as("test:check"):
        assert rollup.rollup_trees() == 0, "a roll-up was lost under concurrency"
    db.session.rollback()


def _worker(url, root_ids, actor_id, seed, ready, results):
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
        ready.wait(timeout=120)
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
    with _committed_database() as (app, url):
        root_ids, users = _two_trees(["writer"], branches=4)
        counts = _run_together(_worker, [(url, root_ids, users["writer"].id, seed) for seed in range(WORKERS)],
                               timeout=60)
        assert [e for c in counts for e in c["errors"]] == []
        writes = sum(c["insert"] + c["move"] + c["delete"] for c in counts)
        assert writes >= 20, counts
        assert all(c["insert"] + c["move"] + c["delete"] > 0 for c in counts), counts
        _assert_trees_intact(root_ids, counts)


# ------------------------------------------------------------------------------------------------- over HTTP
class _Tracebacks(logging.Handler):
    """Keeps what the app logs at ERROR (the 500 handler logs the traceback) to go with a 500's report."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))

    def take(self):
        lines, self.lines = self.lines, []
        return "\n".join(lines)


def _signed_in_client(app, user_key):
    """A test client with the user in its session as Flask-Login puts it (tests/conftest.py sign_in)."""
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": client.environ_base.get("HTTP_USER_AGENT", "")}):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = user_key
        session["_fresh"] = True
        session["_id"] = identifier
    return client


def _pick_write(rng, nodes, root_ids, seed, n):
    """(kind, path, form) of one write on a random node, with the version its page would have shown."""
    node = rng.choice(nodes)
    size = sum(1 for other in nodes if other.tree_id == node.tree_id)
    kind = rng.choice(["create", "create", "move", "move", "delete"])
    if size < MIN_TREE or (kind == "delete" and node.id in root_ids):
        kind = "create"
    if kind == "create":
        prefix = f"n{node.id}-"
        return kind, f"/work-items/{node.id}/children", {
            prefix + "title": f"w{seed}.{n}", prefix + "work_type": "subtask", prefix + "priority": "medium"}
    if kind == "move":
        parent = "root" if rng.random() < 0.03 else str(rng.choice([o for o in nodes if o.id != node.id]).id)
        return kind, f"/work-items/{node.id}/move", {f"m{node.id}-version": node.version,
                                                     f"m{node.id}-parent": parent}
    return kind, f"/work-items/{node.id}/delete", {"version": node.version}


def _pick_read(rng, nodes, root_ids):
    """(kind, path, headers) of one read of a random node (or of a root, for 'expand all')."""
    node_id = rng.choice(nodes).id
    hx = {"HX-Request": "true"}
    return rng.choice([("page", f"/work-items/{node_id}", {}),
                       ("panel", f"/work-items/{node_id}", {**hx, "HX-Target": "wi-panel"}),
                       ("move_form", f"/work-items/{node_id}/move", hx),
                       ("all", f"/work-items/{rng.choice(root_ids)}/all", hx)])


def _http_worker(url, role, root_ids, user_key, seed, ready, results):
    """One process, one signed-in client: writes (role "writer") or reads through the routes until the time
    is up, recording each status; a 5xx, an unexpected status or a 409 naming no changed field is an error."""
    from obcms.extensions import db
    from obcms.workitems.models import WorkItem

    rng = random.Random(seed)
    counts = {"role": role, "seed": seed, "statuses": collections.Counter(), "conflicts": collections.Counter(),
              "writes": 0, "errors": []}
    app = _app(url)
    tracebacks = _Tracebacks()
    logging.getLogger("obcms").addHandler(tracebacks)
    client = _signed_in_client(app, user_key)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    ready.wait(timeout=120)
    end = time.time() + HTTP_SECONDS
    n = 0
    while time.time() < end:
        n += 1
        with app.app_context():
            nodes = db.session.execute(sa.select(WorkItem.id, WorkItem.tree_id, WorkItem.version)
                                       .where(WorkItem.tree_id.in_(root_ids))).all()
        if role == "writer":
            kind, path, form = _pick_write(rng, nodes, root_ids, seed, n)
            method, headers = "POST", {"HX-Request": "true", "X-CSRFToken": token}
        else:
            (kind, path, headers), method, form = _pick_read(rng, nodes, root_ids), "GET", None
        try:
            response = client.open(path, method=method, data=form, headers=headers)
        except Exception:  # the app's 500 handler should stop this; report it like a 500
            counts["statuses"][f"{kind} exception"] += 1
            counts["errors"].append(f"{method} {path} raised:\n{traceback.format_exc()}")
            continue
        status, body = response.status_code, response.get_data(as_text=True)
        counts["statuses"][f"{kind} {status}"] += 1
        if status >= 500 or status not in FINE:
            counts["errors"].append(f"{method} {path} {form} → {status}: {body[:300]}\n{tracebacks.take()}")
        elif status == 409:
            changed = CHANGED_FIELD.findall(body.partition("<tbody>")[2].partition("</tbody>")[0])
            counts["conflicts"].update(changed)
            if not changed:
                counts["errors"].append(f"{method} {path} {form} → 409 naming no changed field: {body[:300]}")
        elif role == "writer" and status in (200, 303):
            counts["writes"] += 1
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    results.put(counts)


@pytest.mark.postgres
@pytest.mark.committed
@pytest.mark.slow
def test_writers_and_readers_over_http_get_no_500_and_keep_trees_intact():
    with _committed_database() as (app, url):
        root_ids, users = _two_trees(["writer", "reader"], branches=6)
        keys = {}
        for name in ("writer", "reader"):  # one sign-in each, its cookie shared by that role's processes
            start_sign_in(users[name], "concurrency test")
            keys[name] = users[name].get_id()
        db.session.commit()
        arguments = [(url, "writer", root_ids, keys["writer"], seed) for seed in range(HTTP_WRITERS)]
        arguments += [(url, "reader", root_ids, keys["reader"], 100 + seed) for seed in range(HTTP_READERS)]
        counts = _run_together(_http_worker, arguments, timeout=HTTP_SECONDS + 120)
        statuses = sum((c["statuses"] for c in counts), collections.Counter())
        print("\nHTTP statuses:", dict(sorted(statuses.items())))
        print("fields named by the 409s:", dict(sum((c["conflicts"] for c in counts), collections.Counter())))
        print("writes per writer:", [c["writes"] for c in counts if c["role"] == "writer"])
        _assert_trees_intact(root_ids, statuses)
        errors = [e for c in counts for e in c["errors"]]
        assert errors == [], "\n\n".join(errors[:20])
        assert all(c["writes"] >= 5 for c in counts if c["role"] == "writer"), counts
