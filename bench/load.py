"""Load run: gunicorn on PostgreSQL with the 1,000-PPA portfolio, driven over HTTP, with outages.

    python -m bench.load [--ppas 1000] [--seconds 30] [--concurrency 8] [--no-outages] [--keep]

Everything it needs is private and thrown away afterwards (--keep leaves it in the temporary folder): a
PostgreSQL cluster started with pg_ctl on its own port (stock settings: fsync and synchronous_commit on), a
redis-server with an append-only file, gunicorn (2 workers x 4 threads, OBCMS_ENV=production) and one RQ
worker. The schema comes from the migrations; the portfolio is bench.ppas's (N PPAs with 131-item trees).

The driver is one asyncio process with aiohttp: CONCURRENCY virtual users, each signed in through the login
form with its own session, each sending its next request when the last one answered (closed loop). Phases:

- reads: the tree fragment (the work-items tab as htmx asks for it), the PPA list, a PPA's detail page and
  the allocation tree JSON, in equal shares;
- mixed: the same with 10 % writes, half work-item edits (title and progress through the edit form, as
  htmx posts it) and half moves (a task to another place among its siblings, through the move form); the
  forms are fetched first, as a browser would (counted as "work_item_form");
- outages (unless --no-outages): the mixed load while jobs are queued, Redis is stopped for 10 s and
  started again, and PostgreSQL is restarted once. /health is polled every 0.5 s throughout.

Afterwards: the nested-set invariants of every tree (tree.check_integrity), every container's roll-up
(rollup_trees finds nothing to change), the last accepted title of every edited item is the stored one, and
every job queued before the outage ran to "succeeded" once. Prints ONE JSON object; progress goes to stderr.
A 409 (a colleague saved first) is a right answer under concurrent edits and is counted apart from errors.
"""
import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.request import urlopen

import aiohttp
import sqlalchemy as sa

from bench.common import log

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench-password-0123456789"  # bench.ppas.build_portfolio's user
READS = ("tree_fragment", "ppa_list", "ppa_detail", "allocation_tree_json")
WRITE_SHARE = 0.10
CLIENT_TIMEOUT_S = 40  # above gunicorn's 30 s worker timeout: a hang shows as a long request, not a timeout
TARGETS = {"read_p95_ms": 50, "read_rps": 300, "errors": 0}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------- services
class PrivatePostgres:
    """A throw-away cluster under `root`, run as the postgres user when we are root (initdb refuses root)."""

    def __init__(self, root, port):
        self.data, self.port = Path(root) / "pg", port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/obcms_load"

    def _run(self, *args):
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd="/tmp")

    def start(self):
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._pg_ctl("start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "obcms_load")

    def _pg_ctl(self, action):
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-m", "fast",
                  "-o", options, action)

    def restart(self):
        self._pg_ctl("restart")

    @property
    def pid(self):
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self):
        try:
            self._pg_ctl("stop")
        except subprocess.CalledProcessError:
            pass


class PrivateRedis:
    """redis-server with an append-only file, so what was queued survives a stop and start."""

    def __init__(self, root, port):
        self.dir, self.port, self.process = Path(root) / "redis", port, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        self.dir.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--appendonly", "yes", "--save", "", "--logfile", str(self.dir / "redis.log")])
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", "redis")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean shutdown: the append-only file is flushed
            self.process.wait(timeout=20)


def wait_for(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up within {timeout} s")


def _cpu_of(pid):
    """User + system CPU seconds of one process (and its waited-for children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds spent by the app (gunicorn and its workers), PostgreSQL (postmaster and backends) and
    this driver, between start() and stop(): where a request's cost goes on this shared machine."""

    def __init__(self, gunicorn_pid, postgres_pid):
        self.groups = {"gunicorn": gunicorn_pid, "postgresql": postgres_pid}

    def _snapshot(self):
        out = {name: sum(_cpu_of(p) for p in [pid, *_children(pid)]) for name, pid in self.groups.items()}
        times = os.times()
        out["driver"] = times.user + times.system
        return out

    def start(self):
        self.before = self._snapshot()

    def stop(self, requests):
        after = self._snapshot()
        spent = {name: after[name] - self.before[name] for name in after}
        return {f"{name}_ms_per_request": round(seconds * 1000 / max(requests, 1), 2)
                for name, seconds in spent.items()}


def app_environment(root, database_url, redis_url):
    return {**os.environ, "OBCMS_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1", "SESSION_COOKIE_SECURE": "0", "DATABASE_URL": database_url,
            "REDIS_URL": redis_url, "OBCMS_INSTANCE_DIR": str(root), "PYTHONUNBUFFERED": "1",
            # every virtual user is the one benchmark account: at the per-user API limit (600 a minute) most
            # allocation-tree reads would be 429s; the limiter still runs, with room for the load
            "API_RATE_LIMIT": "1000000 per minute"}


def start_processes(root, env, port):
    logs = open(Path(root) / "app.log", "ab")
    gunicorn = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", "2", "--threads", "4", "--bind", f"127.0.0.1:{port}",
         "--timeout", "30", "--graceful-timeout", "5", "wsgi:app"], env=env, stdout=logs, stderr=logs)
    worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "wsgi", "obcms", "worker"], env=env,
                              stdout=logs, stderr=logs)
    wait_for(lambda: urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200, "gunicorn")
    return gunicorn, worker


# ------------------------------------------------------------------------------------------- data
def seed(database_url, n_ppas, seed_value, env):
    """Migrate, build the portfolio (bench.ppas), and return the ids the driver needs."""
    subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from bench.ppas import analyze, build_portfolio, make_app

    app = make_app(database_url)
    from obcms.extensions import db
    from obcms.workitems.models import WorkItem

    with app.app_context():
        t0 = time.perf_counter()
        _, ppa_ids, _ = build_portfolio(db, n_ppas, seed_value, reset=False)
        build_s = time.perf_counter() - t0
        analyze(db)
        tasks = db.session.execute(sa.select(WorkItem.id, WorkItem.parent_id)
                                   .where(WorkItem.work_type == "task")).all()
        db.session.remove()
        db.engine.dispose()
    siblings = {}
    for task_id, parent_id in tasks:
        siblings.setdefault(parent_id, []).append(task_id)
    return {"ppa_ids": ppa_ids, "tasks": [t for t, _ in tasks], "parent_of": dict(tasks),
            "siblings": siblings, "build_s": round(build_s, 1)}


# ------------------------------------------------------------------------------------------- driver
class FormFields(HTMLParser):
    """The values a browser would submit from the page's (first) form: inputs, checked boxes, selects (a
    multiple select sends only its selected options, as repeated fields; a single one its first option when
    none is selected)."""

    def __init__(self):
        super().__init__()
        self.fields, self._select, self._multiple, self._textarea = {}, None, False, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "reset"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.setdefault(name, a.get("value", "on"))
            else:
                self.fields.setdefault(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select, self._multiple = name, "multiple" in a
            if self._multiple:
                self.fields.setdefault(name, [])
        elif tag == "option" and self._select and self._multiple:
            if "selected" in a:
                self.fields[self._select].append(a.get("value", ""))
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.fields):
            self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.setdefault(name, "")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def as_form_data(fields):
    """The fields as a browser posts them: a list value is that field repeated."""
    return [(name, value) for name, values in fields.items()
            for value in (values if isinstance(values, list) else [values])]


def form_fields(html):
    parser = FormFields()
    parser.feed(html)
    return parser.fields


class Recorder:
    def __init__(self):
        self.samples = []  # (phase, endpoint, status, ms, finished_at)
        self.phase = None
        self.accepted_titles = {}  # item id -> (finished_at, title) of its last accepted edit

    def add(self, endpoint, status, ms):
        self.samples.append((self.phase, endpoint, status, ms, time.monotonic()))


HTMX = {"HX-Request": "true"}


class Answer:
    def __init__(self, status, text):
        self.status_code, self.text = status, text


async def timed(client, recorder, endpoint, method, url, **kwargs):
    """One request, its time and status recorded; the Answer, or None when nothing came back."""
    t0 = time.perf_counter()
    try:
        async with client.request(method, url, allow_redirects=False, **kwargs) as response:
            answer = Answer(response.status, await response.text())
        status = answer.status_code
    except (TimeoutError, aiohttp.ClientError) as error:
        answer, status = None, type(error).__name__
    recorder.add(endpoint, status, (time.perf_counter() - t0) * 1000)
    return answer


async def read(client, recorder, rng, ids):
    endpoint = rng.choice(READS)
    ppa = rng.choice(ids["ppa_ids"])
    url, headers = {"tree_fragment": (f"/ppas/{ppa}/work-items", HTMX), "ppa_list": ("/ppas", {}),
                    "ppa_detail": (f"/ppas/{ppa}", {}),
                    "allocation_tree_json": (f"/api/v1/ppas/{ppa}/budget-allocation-tree", {})}[endpoint]
    await timed(client, recorder, endpoint, "GET", url, headers=headers)


async def edit(client, recorder, rng, ids):
    item = rng.choice(ids["tasks"])
    page = await timed(client, recorder, "work_item_form", "GET", f"/work-items/{item}/edit", headers=HTMX)
    if page is None or page.status_code != 200:
        return
    fields = form_fields(page.text)
    title = f"Task edited under load {rng.randrange(10**9)}"
    fields[f"e{item}-title"] = title
    if f"e{item}-progress" in fields and fields.get(f"e{item}-progress") not in ("100", ""):
        fields[f"e{item}-progress"] = str(rng.randrange(1, 99))
    response = await timed(client, recorder, "work_item_edit", "POST", f"/work-items/{item}/edit",
                           data=as_form_data(fields), headers=HTMX)
    if response is not None and response.status_code == 200:
        done = time.monotonic()
        if recorder.accepted_titles.get(item, (0,))[0] < done:
            recorder.accepted_titles[item] = (done, title)


async def move(client, recorder, rng, ids):
    item = rng.choice(ids["tasks"])
    parent = ids["parent_of"][item]
    page = await timed(client, recorder, "work_item_form", "GET", f"/work-items/{item}/move", headers=HTMX)
    if page is None or page.status_code != 200:
        return
    fields = form_fields(page.text)
    others = [s for s in ids["siblings"][parent] if s != item]
    fields.update({f"m{item}-parent": str(parent), f"m{item}-before": str(rng.choice(others + [""]))})
    fields.pop(f"m{item}-q", None)
    await timed(client, recorder, "work_item_move", "POST", f"/work-items/{item}/move", data=as_form_data(fields),
                headers=HTMX)


def new_client(base):
    """One browser: its own cookies (unsafe=True: aiohttp keeps no cookies for an IP address otherwise) and
    one kept-alive connection."""
    return aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 connector=aiohttp.TCPConnector(limit=1),
                                 timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S))


async def sign_in(base):
    client = new_client(base)
    async with client.get("/login") as page:
        fields = form_fields(await page.text())
    fields.update(login="bench", password=PASSWORD)
    async with client.post("/login", data=fields, allow_redirects=False) as response:
        if response.status not in (302, 303):
            raise SystemExit(f"signing in answered {response.status}")
    return client


async def virtual_user(client, recorder, ids, seed_value, stop, writes):
    rng = random.Random(seed_value)
    while not stop.is_set():
        if writes and rng.random() < WRITE_SHARE:
            await (edit if rng.random() < 0.5 else move)(client, recorder, rng, ids)
        else:
            await read(client, recorder, rng, ids)


async def run_phase(name, clients, recorder, ids, seconds, writes, seed_value, during=None):
    log(f"phase {name}: {len(clients)} users for {seconds} s{' with 10 % writes' if writes else ''}")
    recorder.phase = name
    stop = asyncio.Event()
    users = [asyncio.create_task(virtual_user(c, recorder, ids, seed_value * 1000 + i, stop, writes))
             for i, c in enumerate(clients)]
    t0 = time.monotonic()
    if during is not None:
        await during(t0)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    stop.set()
    await asyncio.gather(*users)
    return time.monotonic() - t0


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(round(q / 100 * (len(sorted_values) - 1))))]


def summarize(samples, seconds):
    by_endpoint = {}
    for _, endpoint, status, ms, _ in samples:
        by_endpoint.setdefault(endpoint, []).append((status, ms))
    out = {}
    for endpoint, rows in sorted(by_endpoint.items()):
        times = sorted(ms for _, ms in rows)
        statuses = {}
        for status, _ in rows:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        out[endpoint] = {"n": len(rows), "rps": round(len(rows) / seconds, 1),
                         "p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1),
                         "p99_ms": round(percentile(times, 99), 1), "max_ms": round(times[-1], 1),
                         "statuses": statuses, "errors": sum(n for s, n in statuses.items() if is_error(s))}
    reads = sorted(ms for _, endpoint, _, ms, _ in samples if endpoint in READS)
    out["all_reads"] = {"n": len(reads), "rps": round(len(reads) / seconds, 1),
                        "p50_ms": round(percentile(reads, 50), 1), "p95_ms": round(percentile(reads, 95), 1),
                        "p99_ms": round(percentile(reads, 99), 1)} if reads else {}
    out["total_rps"] = round(len(samples) / seconds, 1)
    out["errors"] = sum(1 for _, _, status, _, _ in samples if is_error(str(status)))
    return out


def is_error(status):
    """A 5xx or no answer at all; 409 (a colleague saved first) and 422 are answers the user can act on."""
    return not status.isdigit() or int(status) >= 500


# ------------------------------------------------------------------------------------------- outages
def enqueue_jobs(app, ppa_ids, n_ping, n_sync):
    from obcms.extensions import db
    from obcms.jobqueue.runner import enqueue

    with app.app_context():
        runs = [enqueue("ping", message=f"queued before the outage {i}") for i in range(n_ping)]
        runs += [enqueue("sync_ppa_progress", ppa_ids=[ppa_ids[i]]) for i in range(n_sync)]
        ids = [r.id for r in runs]
        db.session.commit()
        db.session.remove()
    return ids


async def health_monitor(base, events, stop):
    async with new_client(base) as client:
        last = None
        t0 = time.monotonic()
        while not stop.is_set():
            started = time.monotonic()
            try:
                async with client.get("/health") as response:
                    body = json.loads(await response.text())
                state = f"{response.status} database={body.get('database')} redis={body.get('redis')}"
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                state = f"no answer ({type(error).__name__})"
            took = (time.monotonic() - started) * 1000
            if state != last:
                events.append({"t_s": round(started - t0, 1), "health": state, "answered_in_ms": round(took)})
                last = state
            await asyncio.sleep(0.5)


async def outage_phase(clients, recorder, ids, seconds, seed_value, base, redis, postgres, job_app, events):
    stop_monitor = asyncio.Event()
    monitor = asyncio.create_task(health_monitor(base, events, stop_monitor))
    marks = {}

    async def during(t0):
        def note(what):
            marks[what] = time.monotonic()
            events.append({"t_s": round(time.monotonic() - t0, 1), "event": what})
            log(f"  {what}")

        await asyncio.sleep(3)
        job_ids = await asyncio.to_thread(enqueue_jobs, job_app, ids["ppa_ids"], 150, 20)
        marks["job_ids"] = job_ids
        note(f"{len(job_ids)} jobs queued (150 ping, 20 sync_ppa_progress)")
        await asyncio.sleep(0.5)
        await asyncio.to_thread(redis.stop)
        note("redis stopped")
        await asyncio.sleep(10)
        await asyncio.to_thread(redis.start)
        note("redis started again")
        await asyncio.sleep(8)
        note("postgresql restart begins")
        await asyncio.to_thread(postgres.restart)
        note("postgresql restarted")

    elapsed = await run_phase("outages", clients, recorder, ids, seconds, True, seed_value, during)
    stop_monitor.set()
    await monitor
    return elapsed, marks


def window_summary(samples, marks):
    """Answers by window: before, Redis down, between, around the PostgreSQL restart, after."""
    edges = [("before_outage", marks.get("redis stopped")), ("redis_down", marks.get("redis started again")),
             ("redis_back", marks.get("postgresql restart begins")),
             ("postgresql_restart", (marks.get("postgresql restarted") or 0) + 2), ("after", float("inf"))]
    out = {}
    for _, _, status, ms, at in samples:
        name = next(n for n, edge in edges if edge is None or at < edge)
        w = out.setdefault(name, {"n": 0, "statuses": {}, "max_ms": 0, "errors": 0})
        w["n"] += 1
        w["statuses"][str(status)] = w["statuses"].get(str(status), 0) + 1
        w["max_ms"] = max(w["max_ms"], round(ms))
        w["errors"] += is_error(str(status))
    return out


def wait_for_jobs(app, job_ids, timeout=180):
    from obcms.extensions import db
    from obcms.jobqueue.models import JobRun

    deadline = time.monotonic() + timeout
    with app.app_context():
        db.engine.dispose()  # its pooled connections did not live through the restart
        while True:
            rows = db.session.execute(sa.select(JobRun.status, JobRun.attempts)
                                      .where(JobRun.id.in_(job_ids))).all()
            db.session.rollback()
            if all(r.status in ("succeeded", "failed") for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(1)
        db.session.remove()
    statuses, attempts = {}, {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
        attempts[str(r.attempts)] = attempts.get(str(r.attempts), 0) + 1
    return {"queued_before_outage": len(job_ids), "rows": len(rows), "statuses": statuses,
            "attempts": attempts}


# ------------------------------------------------------------------------------------------- checks
def integrity(app, accepted_titles):
    from obcms.extensions import db
    from obcms.workitems import rollup
    from obcms.workitems.models import WorkItem
    from obcms.workitems.tree.repair import check_integrity

    with app.app_context():
        db.engine.dispose()
        violations = check_integrity()
        stale = rollup.rollup_trees()
        db.session.rollback()
        stored = dict(db.session.execute(sa.select(WorkItem.id, WorkItem.title)
                                         .where(WorkItem.id.in_(list(accepted_titles)))).all())
        db.session.remove()
    lost = [i for i, (_, title) in accepted_titles.items() if stored.get(i) != title]
    return {"tree_violations": len(violations), "containers_out_of_step": stale,
            "edited_items": len(accepted_titles), "accepted_edits_lost": len(lost)}


# ------------------------------------------------------------------------------------------- main
async def drive(args, base, ids, redis, postgres, job_app, meter):
    clients = await asyncio.gather(*(sign_in(base) for _ in range(args.concurrency)))
    recorder = Recorder()
    await run_phase("warmup", clients, recorder, ids, 5, True, 0)
    results = {}
    for name, writes in (("reads", False), ("mixed", True)):
        meter.start()
        elapsed = await run_phase(name, clients, recorder, ids, args.seconds, writes, args.seed)
        samples = [s for s in recorder.samples if s[0] == name]
        results[name] = summarize(samples, elapsed)
        results[name]["cpu"] = meter.stop(len(samples))
    outage = None
    if not args.no_outages:
        events = []
        elapsed, marks = await outage_phase(clients, recorder, ids, max(args.seconds, 40), args.seed, base,
                                            redis, postgres, job_app, events)
        samples = [s for s in recorder.samples if s[0] == "outages"]
        outage = {"summary": summarize(samples, elapsed), "windows": window_summary(samples, marks),
                  "log": events, "job_ids": marks.get("job_ids", [])}
    await asyncio.gather(*(c.close() for c in clients))
    return results, outage, recorder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ppas", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30, help="length of the reads and mixed phases")
    parser.add_argument("--concurrency", type=int, default=8, help="virtual users")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-outages", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the temporary folder (logs, data)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="obcms-bench-load-"))
    postgres, redis = PrivatePostgres(root, free_port()), PrivateRedis(root, free_port())
    processes = []
    try:
        postgres.start()
        redis.start()
        env = app_environment(root, postgres.url, redis.url)
        log(f"private postgresql :{postgres.port}, redis :{redis.port}, files in {root}")
        ids = seed(postgres.url, args.ppas, args.seed, env)
        log(f"portfolio of {len(ids['ppa_ids'])} PPAs built in {ids['build_s']} s")
        port = free_port()
        processes = start_processes(root, env, port)
        from bench.ppas import make_app

        job_app = make_app(postgres.url)
        job_app.config["REDIS_URL"] = redis.url
        meter = CpuMeter(processes[0].pid, postgres.pid)
        results, outage, recorder = asyncio.run(drive(args, f"http://127.0.0.1:{port}", ids, redis, postgres,
                                                      job_app, meter))
        if outage is not None:
            outage["jobs"] = wait_for_jobs(job_app, outage.pop("job_ids"))
            outage["recovered_without_restart"] = all(p.poll() is None for p in processes) and \
                outage["windows"].get("after", {}).get("errors", 1) == 0
        checks = integrity(job_app, recorder.accepted_titles)
        reads = results["reads"]["all_reads"]
        print(json.dumps({
            "meta": {"backend": "postgresql", "ppas": len(ids["ppa_ids"]), "work_items_per_ppa": 131,
                     "gunicorn": "2 workers x 4 threads", "concurrency": args.concurrency,
                     "seconds_per_phase": args.seconds, "cpus": os.cpu_count(), "python": platform.python_version(),
                     "driver": "asyncio + aiohttp, closed loop, in a separate process on the same machine",
                     "build_s": ids["build_s"]},
            "phases": results,
            "outages": outage,
            "integrity": checks,
            "targets": TARGETS,
            "meets_targets": reads["p95_ms"] < TARGETS["read_p95_ms"] and reads["rps"] >= TARGETS["read_rps"]
            and results["reads"]["errors"] == 0 and results["mixed"]["errors"] == 0
            and checks["tree_violations"] == 0 and checks["containers_out_of_step"] == 0
            and checks["accepted_edits_lost"] == 0,
        }, indent=1))
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.stop()
        postgres.stop()
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
