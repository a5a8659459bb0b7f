"""/metrics: Prometheus text with the request, job, sign-in, booking and budget counters and the gauges read
when scraped; open to this machine, an allowed address or the token, a 404 to anyone else; and under gunicorn
the counters of every worker summed (multiprocess mode)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from obcms.extensions import db
from obcms.jobqueue.runner import enqueue

ROOT = Path(__file__).resolve().parents[2]


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found, metric, **labels):
    return found.get((metric, tuple(sorted(labels.items()))), 0)


def scrape(client, **kw):
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.get_data(as_text=True))


def test_requests_jobs_and_sign_in_failures_are_counted(app, client, client_as):
    before = scrape(client)
    staff = client_as("oobc_staff")
    for _ in range(3):
        assert staff.get("/ppas").status_code == 200
    client.post("/login", data={"login": "oobc_staff", "password": "wrong"})  # refused by CSRF or the password
    from obcms.auth.services import authenticate
    assert authenticate("oobc_staff", "not the password") is None
    with app.test_request_context():
        enqueue("ping")
        db.session.commit()  # inline: runs now
    after = scrape(client)
    assert value(after, "obcms_http_requests_total", endpoint="ppas.index", method="GET", status="200") - \
        value(before, "obcms_http_requests_total", endpoint="ppas.index", method="GET", status="200") == 3
    assert value(after, "obcms_http_request_seconds_count", endpoint="ppas.index") >= 3
    assert value(after, "obcms_jobs_total", name="ping", status="succeeded") - \
        value(before, "obcms_jobs_total", name="ping", status="succeeded") == 1
    assert value(after, "obcms_sign_in_failures_total") - value(before, "obcms_sign_in_failures_total") >= 1
    assert ("obcms_job_runs_waiting", ()) in after
    assert value(after, "obcms_db_pool_connections", state="checked_out") >= 0


def test_a_budget_refusal_and_a_booking_conflict_are_counted():
    from obcms.ops import metrics

    budget, bookings = metrics.BUDGET_VALIDATION_ERRORS._value.get(), metrics.BOOKING_CONFLICTS._value.get()
    metrics.observe_request("budget.record_entry", "POST", 422, 0.01)
    metrics.observe_request("ppas.edit", "POST", 422, 0.01)  # not a budget form
    assert metrics.BUDGET_VALIDATION_ERRORS._value.get() == budget + 1
    assert metrics.BOOKING_CONFLICTS._value.get() == bookings  # counted where a booking is refused (tests/calendar)


def test_open_to_this_machine_an_allowed_address_or_the_token_only(app, client):
    far = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=far).status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base=far, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    app.config["METRICS_ALLOW"] = ["203.0.113.0/24"]
    assert client.get("/metrics", environ_base=far).status_code == 200
    app.config["METRICS_ALLOW"] = ["not an address"]
    assert client.get("/metrics", environ_base=far).status_code == 404


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_under_gunicorn_every_workers_counters_are_summed(tmp_path):
    port = _free_port()
    database = f"sqlite:///{tmp_path}/metrics.db"
    env = {**os.environ, "DATABASE_URL": database, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "OBCMS_ENV": "default", "REDIS_URL": ""}
    env.pop("REDIS_URL")
    (tmp_path / "prom").mkdir()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, check=True,
                   env={k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}, capture_output=True)
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", "-w", "2",
                               "--threads", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        for _ in range(20):  # spread over both workers
            urllib.request.urlopen(f"{base}/health", timeout=5)
        for _ in range(6):
            text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
            found = samples(text)
            # every scrape, whichever worker answers it, sees all the requests (21 probes at least)
            assert value(found, "obcms_http_requests_total", endpoint="ops.health", method="GET", status="200") >= 21
        assert len({p.name.rsplit("_", 1)[-1] for p in (tmp_path / "prom").glob("counter_*.db")}) == 2  # 2 workers
    finally:
        server.terminate()
        server.wait(timeout=10)
