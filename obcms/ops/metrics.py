"""Prometheus metrics at /metrics (prometheus-client's text format).

What is counted, and where:
- obcms_http_requests_total{endpoint, method, status} and obcms_http_request_seconds{endpoint}: every request
  (obcms/ops/logs.py's after_request: the same place as its log line);
- obcms_jobs_total{name, status}, obcms_job_seconds{name}, obcms_job_errors_total{name}: each job run's end
  (obcms/jobqueue/runner.py); job_errors are the items a run could not process (a sync's "errors");
- obcms_budget_validation_errors_total: refused budget forms (a 422 from the Budget pages: distribution,
  ledger, import);
- obcms_booking_conflicts_total: bookings refused because the resource was taken (obcms/calendar/bookings.py);
- obcms_sign_in_failures_total: wrong name or password (obcms/auth/services.py);
- read when scraped: obcms_queue_jobs{queue} (RQ's queue length, with Redis), obcms_job_runs_waiting (JobRun
  rows queued or retrying), obcms_db_pool_connections{state} (this process's pool: checked out / idle).

Under gunicorn each worker is a process: with PROMETHEUS_MULTIPROC_DIR set (an empty folder, cleared at each
start; gunicorn.conf.py marks dead workers) the counters of every worker are summed at each scrape. Without
it (the embedded default, tests) the process's own registry answers.

/metrics is open to a bearer token (METRICS_TOKEN) or to the addresses of METRICS_ALLOW (default: this machine);
anything else is a 404, so the endpoint is not advertised.
"""
import hmac
import ipaddress
import os

from flask import Blueprint, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from ..extensions import db

bp = Blueprint("metrics", __name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUESTS = Counter("obcms_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram("obcms_http_request_seconds", "Time to answer a request", ["endpoint"],
                            buckets=LATENCY_BUCKETS)
JOBS = Counter("obcms_jobs", "Job runs ended", ["name", "status"])
JOB_SECONDS = Histogram("obcms_job_seconds", "Time a job run took", ["name"],
                        buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))
JOB_ERRORS = Counter("obcms_job_errors", "Items a job run could not process (a sync's errors)", ["name"])
BUDGET_VALIDATION_ERRORS = Counter("obcms_budget_validation_errors", "Budget forms refused (422)")
BOOKING_CONFLICTS = Counter("obcms_booking_conflicts", "Bookings refused: the resource was taken")
SIGN_IN_FAILURES = Counter("obcms_sign_in_failures", "Sign-ins refused: wrong name or password")


def observe_request(endpoint, method, status, seconds):
    endpoint = endpoint or "none"  # 404s match no endpoint
    REQUESTS.labels(endpoint, method, str(status)).inc()
    REQUEST_SECONDS.labels(endpoint).observe(seconds)
    if status == 422 and endpoint.startswith("budget."):
        BUDGET_VALIDATION_ERRORS.inc()


def observe_job(name, status, seconds, errors=0):
    JOBS.labels(name, status).inc()
    JOB_SECONDS.labels(name).observe(seconds)
    if errors:
        JOB_ERRORS.labels(name).inc(errors)


# Functions yielding metric families read at each scrape, registered by the package that owns the figures
# (obcms/jobqueue/runner.py: the queue's length and the runs waiting), so that this module imports none.
SCRAPED = []


def read_when_scraped(read):
    SCRAPED.append(read)
    return read


class _ReadWhenScraped:
    """What is read when scraped: the registered figures, and this process's database pool."""

    def collect(self):
        for read in SCRAPED:
            yield from read()
        pool = db.engine.pool
        connections = GaugeMetricFamily("obcms_db_pool_connections", "This process's database connections",
                                        labels=["state"])
        for state, read in (("checked_out", "checkedout"), ("idle", "checkedin")):
            if hasattr(pool, read):
                connections.add_metric([state], getattr(pool, read)())
        yield connections


def _allowed():
    token = current_app.config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for allowed in current_app.config.get("METRICS_ALLOW") or ():
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


@bp.get("/metrics")
def metrics():
    if not _allowed():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)  # every worker's counters, summed
    else:
        counted = REGISTRY
    read_now = CollectorRegistry()  # not auto-described: registering reads nothing
    read_now.register(_ReadWhenScraped())
    body = generate_latest(counted) + generate_latest(read_now)
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
