"""Maintenance mode: `flask obcms maintenance on|off|status` switches one database row (audited); while it is
on every request but a signed-in admin's, /health, the sign-in page and static files is a 503 with the message
and Retry-After (a page, an htmx fragment, a JSON problem under /api/), admins see a banner, and no new
background job starts (inline or in an RQ worker) until it is off; across two real gunicorn workers too."""
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from config import TestingConfig
from obcms import create_app
from obcms.api.tokens import create_token
from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue, runner
from obcms.jobqueue.queue import rq_queue
from obcms.jobqueue.worker import StoppableWorker
from obcms.ops.maintenance import (
    OFF,
    MaintenanceState,
    forget_maintenance_state,
    maintenance_state,
    remember_maintenance_state,
)
from tests.conftest import TEST_PASSWORD
from tests.databases import create_database, drop_database
from tests.jobs.test_jobs import rq_config  # noqa: F401  (the fixture: REDIS_URL and a queue of the test's own)
from tests.ops.test_metrics import ROOT, _free_port

MESSAGE = "Upgrading obcms to 0.2; back at 18:00."


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["obcms", "maintenance", *args])


@pytest.fixture
def maintenance_on(app):
    result = cli(app, "on", "--message", MESSAGE, "--retry-after", "600", "--by", "ops-lead")
    assert result.exit_code == 0, result.output
    return result


def job_runs():
    db.session.expire_all()
    return db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()


# The switch -----------------------------------------------------------------------------------------------

def test_cli_on_status_off_and_every_switch_is_audited(app, maintenance_on):
    assert maintenance_on.output.startswith(f'Maintenance mode is on: "{MESSAGE}" (Retry-After: 600 s).')
    status = cli(app, "status")
    assert status.exit_code == 0
    assert "Maintenance mode is on since" in status.output
    assert f'turned on by cli:maintenance (ops-lead): "{MESSAGE}" (Retry-After: 600 s)' in status.output

    off = cli(app, "off", "--by", "ops-lead")
    assert off.exit_code == 0 and off.output.strip() == "Maintenance mode is off."
    assert cli(app, "status").output.strip() == "Maintenance mode is off."
    assert db.session.get(MaintenanceState, 1).enabled is False

    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "maintenance_state")
                                 .order_by(AuditEntry.id)).all()
    changes = [(e.action, e.field, e.old_value, e.new_value) for e in entries if e.field in ("enabled", "message")]
    assert ("create", "message", None, MESSAGE) in changes
    assert ("create", "enabled", None, "true") in changes and ("update", "enabled", "true", "false") in changes
    assert {e.actor_label for e in entries} == {"cli:maintenance (ops-lead)"}


def test_on_without_a_message_says_the_default_and_bad_options_are_refused(app):
    result = cli(app, "on")
    assert result.exit_code == 0
    assert maintenance_state().message == "obcms is being updated. Please try again in a few minutes."
    assert maintenance_state().retry_after == 300
    assert cli(app, "on", "--retry-after", "-5").exit_code == 2
    assert cli(app, "on", "--message", "x" * 501).exit_code == 2
    assert maintenance_state().retry_after == 300


def test_each_process_reads_the_row_once_per_cache_period(app, client_as, count_queries, monkeypatch):
    """An ordinary page reads the switch only when this process's copy is older than
    MAINTENANCE_CACHE_SECONDS: most requests cost no statement (pinned counts stay exact)."""
    staff = client_as("oobc_staff")
    staff.get("/")

    def switch_reads():
        with count_queries() as q:
            assert staff.get("/").status_code == 200
        return sum("maintenance_state" in statement for statement in q.statements)

    assert switch_reads() == 0
    forget_maintenance_state(app)
    assert switch_reads() == 1
    assert switch_reads() == 0
    monkeypatch.setitem(app.config, "MAINTENANCE_CACHE_SECONDS", 0)  # every copy is too old at once
    forget_maintenance_state(app)
    assert [switch_reads(), switch_reads()] == [1, 1]


@pytest.mark.committed
def test_a_switch_reaches_another_process_within_the_cache_period(tmp_path):
    """Two apps (two gunicorn workers, or two hosts) over one database: one switches, the other sees it once
    its copy is older than MAINTENANCE_CACHE_SECONDS."""
    url = create_database("obcms_maintenance")
    first = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAINTENANCE_CACHE_SECONDS=0.2)
    second = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, MAINTENANCE_CACHE_SECONDS=0.2)
    try:
        with first.app_context():
            db.create_all()
        assert second.test_client().get("/login").status_code == 200
        assert second.test_client().get("/").status_code == 302  # to the sign-in page
        assert cli(first, "on", "--message", MESSAGE).exit_code == 0
        time.sleep(0.3)  # the second process's copy is now older than its cache period
        response = second.test_client().get("/")
        assert response.status_code == 503 and MESSAGE in response.get_data(as_text=True)
        assert cli(first, "off").exit_code == 0
        time.sleep(0.3)
        assert second.test_client().get("/").status_code == 302
    finally:
        for app in (first, second):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop_database(url)


@pytest.mark.committed
def test_an_unmigrated_database_means_maintenance_is_off():
    """New code over a database not yet migrated (during a release): no table, no maintenance, no 500."""
    bare = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with bare.app_context():
        assert maintenance_state() == OFF
        db.session.remove()
        db.engine.dispose()


# Requests while it is on ----------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["oobc_staff", "moa_staff", "oobc_executive", "viewer"])
def test_staff_get_the_503_page_with_the_message_and_retry_after(client_as, maintenance_on, username):
    response = client_as(username).get("/ppas")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "600"
    assert "Down for maintenance" in html and MESSAGE in html and "about 10 minutes" in html
    assert "<html" in html and 'aria-label="Main"' not in html  # the layout, without the navigation


def test_anonymous_visitors_get_the_503_page_too(client, maintenance_on):
    response = client.get("/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "600"
    assert MESSAGE in response.get_data(as_text=True)


def test_posts_are_refused_too(client_as, csrf_token, maintenance_on):
    staff = client_as("oobc_staff")
    response = staff.post("/notifications/read-all", headers={"X-CSRFToken": csrf_token(staff)})
    assert response.status_code == 503 and response.headers["Retry-After"] == "600"


def test_htmx_requests_get_the_503_fragment(client_as, maintenance_on):
    response = client_as("oobc_staff").get("/ppas", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "600"
    assert response.headers["HX-Retarget"] == "#errors"
    assert "<html" not in html and 'class="error-panel error-503"' in html and MESSAGE in html


def test_the_api_gets_a_json_problem(app, users, client, maintenance_on):
    _, secret = create_token(users["moa_staff"], "tests")
    db.session.commit()
    response = client.get("/api/v1/ppas/1/budget-allocation-tree", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "600"
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert (body["status"], body["error"], body["detail"]) == (503, "maintenance", MESSAGE)


def test_an_admins_api_token_passes(app, users, client, maintenance_on):
    _, secret = create_token(users["admin"], "tests")
    db.session.commit()
    response = client.get("/api/v1/ppas/999999/budget-allocation-tree", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 404


def test_health_static_and_the_sign_in_page_stay_open(client, maintenance_on):
    assert client.get("/health").status_code == 200
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and "Retry-After" not in static.headers
    static.close()
    login = client.get("/login")
    assert login.status_code == 200 and "Retry-After" not in login.headers


def test_an_admin_can_sign_in_and_works_with_a_banner_on_every_page(app, client, maintenance_on):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = client.post("/login", data={"login": "admin", "password": TEST_PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    for url in ("/", "/ppas", "/jobs", "/admin/"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "Maintenance mode is on" in html and MESSAGE in html, url


def test_no_banner_when_maintenance_is_off(client_as):
    html = client_as("admin").get("/").get_data(as_text=True)
    assert "Maintenance mode is on" not in html


# Background jobs ------------------------------------------------------------------------------------------

def test_inline_jobs_are_held_while_on_and_run_when_it_is_turned_off(app, maintenance_on):
    run = enqueue("ping", message="held")
    db.session.commit()
    assert [(r.id, r.status, r.attempts) for r in job_runs()] == [(run.id, "queued", 0)]

    result = cli(app, "off")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["Maintenance mode is off.", f"1 held job run(s) started: {run.id}"]
    (done,) = job_runs()
    assert (done.status, done.attempts, done.counts["message"]) == ("succeeded", 1, "held")


def test_a_run_that_reaches_execute_is_held_queued(app, maintenance_on):
    run = JobRun(name="ping", arguments={}, status="retrying", attempts=1, requested_by_label="system")
    db.session.add(run)
    db.session.commit()
    assert runner.execute(run.id) is None
    (held,) = job_runs()
    assert (held.status, held.attempts, held.started_at) == ("queued", 1, None)


class InProcessWorker(SimpleWorker, StoppableWorker):
    """The worker `flask obcms worker` runs (StoppableWorker), executing jobs in this process (SimpleWorker's
    execute_job: on this test's transaction)."""

    def wait_for_maintenance_to_end(self):
        self.states_while_waiting = [*getattr(self, "states_while_waiting", []), self.get_state()]
        if len(self.states_while_waiting) == 3:  # the operator turns maintenance off while the worker waits
            remember_maintenance_state(OFF)


@pytest.mark.redis
def test_a_burst_worker_takes_no_job_while_on(app, rq_config, maintenance_on):  # noqa: F811
    run = enqueue("ping", message="later")
    db.session.commit()
    queue = rq_queue()
    assert queue.count == 1

    InProcessWorker([queue], connection=queue.connection).work(burst=True)
    assert queue.count == 1 and job_runs()[0].status == "queued"

    assert cli(app, "off").exit_code == 0
    InProcessWorker([queue], connection=queue.connection).work(burst=True)
    (done,) = job_runs()
    assert (done.id, done.status, done.counts["message"]) == (run.id, "succeeded", "later")


@pytest.mark.redis
def test_a_worker_waits_while_on_then_takes_the_job(app, rq_config, maintenance_on):  # noqa: F811
    enqueue("ping")
    db.session.commit()
    queue = rq_queue()
    worker = InProcessWorker([queue], connection=queue.connection)
    worker.work(burst=False, max_jobs=1)  # returns after one job: the wait ended when maintenance did
    assert worker.states_while_waiting == ["suspended"] * 3
    assert job_runs()[0].status == "succeeded" and queue.count == 0


@pytest.mark.redis
def test_a_run_held_by_a_worker_is_sent_again_when_maintenance_ends(app, rq_config, maintenance_on):  # noqa: F811
    """The race: a worker took the job off the queue just before maintenance began. It is held (still queued,
    the RQ job finished), and `maintenance off` sends it again."""
    run = enqueue("ping")
    db.session.commit()
    queue = rq_queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)  # a plain worker: execute() holds it
    assert queue.count == 0 and job_runs()[0].status == "queued"
    assert runner.recover_lost_runs() == []  # nothing is sent while maintenance is on

    result = cli(app, "off")
    assert result.output.splitlines()[-1] == f"1 held job run(s) started: {run.id}"
    assert queue.count == 1
    InProcessWorker([queue], connection=queue.connection).work(burst=True)
    assert job_runs()[0].status == "succeeded"


# Two gunicorn workers --------------------------------------------------------------------------------------

@pytest.mark.committed
@pytest.mark.slow
def test_two_gunicorn_workers_both_answer_503_then_200(tmp_path):
    """A real gunicorn with two worker processes over one database: `flask obcms maintenance on` (another
    process, as an operator runs it) reaches both workers, and `off` brings both back. The access log names the
    worker (pid) that answered each request."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'obcms.sqlite3'}", "OBCMS_ENV": "default",
           "MAINTENANCE_CACHE_SECONDS": "0.2", "LOG_REQUESTS": "0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    env.pop("REDIS_URL", None)
    (tmp_path / "prom").mkdir()
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    access_log = tmp_path / "access.log"
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "-w", "2",
                               "--threads", "1", "-b", f"127.0.0.1:{port}", "--access-logfile", str(access_log),
                               "--access-logformat", "%(p)s %(s)s %(U)s", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def fetch(path):
        try:
            urllib.request.urlopen(base + path, timeout=10).close()
        except urllib.error.HTTPError as error:
            error.close()

    def statuses_by_worker(path):
        """{worker pid: {statuses}} of rounds of concurrent requests to `path`, until both workers answered."""
        mark = access_log.stat().st_size if access_log.exists() else 0
        answered = {}
        with ThreadPoolExecutor(8) as pool:
            for _ in range(10):
                list(pool.map(fetch, [path] * 16))
                time.sleep(0.2)  # the access log line follows the response
                answered = {}
                with access_log.open() as log:
                    log.seek(mark)
                    for line in log:
                        pid, status, logged_path = line.split()
                        if logged_path == path:
                            answered.setdefault(pid, set()).add(status)
                if len(answered) == 2:
                    break
        return answered

    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        before = statuses_by_worker("/login")
        assert len(before) == 2 and all(s == {"200"} for s in before.values()), before

        switched = subprocess.run([*flask, "obcms", "maintenance", "on", "--message", MESSAGE, "--by", "ops-lead"],
                                  cwd=ROOT, env=env, capture_output=True, text=True)
        assert switched.returncode == 0, switched.stderr
        time.sleep(0.5)  # past each worker's MAINTENANCE_CACHE_SECONDS
        during = statuses_by_worker("/")
        assert len(during) == 2 and all(s == {"503"} for s in during.values()), during
        page = urllib.request.urlopen(f"{base}/health", timeout=5)
        assert page.status == 200  # /health stays open
        page.close()

        switched = subprocess.run([*flask, "obcms", "maintenance", "off"], cwd=ROOT, env=env, capture_output=True,
                                  text=True)
        assert switched.returncode == 0, switched.stderr
        time.sleep(0.5)
        after = statuses_by_worker("/login")
        assert len(after) == 2 and all(s == {"200"} for s in after.values()), after
    finally:
        server.terminate()
        server.wait(timeout=10)
