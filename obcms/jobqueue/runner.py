"""Enqueue a job after commit and execute it with a JobRun row, retries for transient failures.

Inline (no REDIS_URL) a job runs in a fresh app context of the app that enqueued it. With Redis, RQ runs
RQ_ENTRY_POINT (jobs/runner.py) in a worker, which builds or reuses the worker's app and calls execute().

While maintenance mode is on (obcms/ops/maintenance.py) no run starts: the worker waits before taking one off
the queue (obcms/jobqueue/worker.py), and a run that reaches execute() anyway is held, still queued. When
maintenance ends, release_held_runs() starts them (`flask obcms maintenance off` calls it; with Redis the
worker's minutely recover_lost_runs would too).
"""
import logging
import os
import time
import traceback
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from ..audit.context import acting_as, carrying_request_id, current_request_id
from ..db_types import utcnow
from ..errors import Unavailable
from ..extensions import db
from ..ops.logs import jobs_log, log_line
from ..ops.maintenance import maintenance_state
from ..ops.metrics import observe_job, read_when_scraped
from ..transaction import after_commit
from .models import JobRun
from .queue import redis_connection, rq_queue
from .registry import JOBS

log = logging.getLogger(__name__)

# Failures worth another try: the database or Redis went away for a moment, a lock timed out.
TRANSIENT_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, ConnectionError, TimeoutError)
RETRY_INTERVALS = [5, 30, 120]
# A run still queued after this long that Redis does not hold is lost (recover_lost_runs sends it again).
LOST_AFTER = timedelta(seconds=60)
# What an RQ worker runs, by name (kept stable: runs already queued in Redis name it).
RQ_ENTRY_POINT = "jobs.runner.execute"

_worker_app = None
_worker_pid = None


QUEUE_UNAVAILABLE = "The job queue is unavailable; nothing was started. Try again in a few minutes."


def enqueue(name, requested_by=None, **arguments):
    """Record a JobRun and start it once the current transaction commits. Returns the JobRun.

    With REDIS_URL, Redis is asked first: when it cannot be reached, Unavailable (503) — the caller's unit
    of work rolls back, so no JobRun is left queued that nothing would ever run."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}")
    if current_app.config.get("REDIS_URL"):
        try:
            redis_connection().ping()
        except RedisError as error:
            log.warning("job %s not started: the queue is unreachable (%s)", name, error)
            raise Unavailable(QUEUE_UNAVAILABLE) from None
    run = JobRun(name=name, arguments=arguments, status="queued",
                 requested_by_id=getattr(requested_by, "id", None),
                 requested_by_label=getattr(requested_by, "username", None) or "system",
                 request_id=current_request_id())
    db.session.add(run)
    db.session.flush()
    run_id = run.id
    app = current_app._get_current_object()
    after_commit(lambda: _dispatch(app, run_id))
    return run


def rq_job_id(run_id):
    # The queue name is in the id: several installations (or test runs) may share one Redis.
    return f"{current_app.config['RQ_QUEUE']}-jobrun-{run_id}"


def _send(run_id, queue=None):
    """Put the run on the RQ queue (again: the same RQ job id replaces what Redis held of it)."""
    retries = current_app.config.get("JOB_MAX_RETRIES", 3)
    (queue or rq_queue()).enqueue(RQ_ENTRY_POINT, run_id, job_id=rq_job_id(run_id),
                                  retry=Retry(max=retries, interval=RETRY_INTERVALS[:retries]) if retries else None,
                                  result_ttl=3600, failure_ttl=7 * 24 * 3600)


def recover_lost_runs(grace=LOST_AFTER):
    """Send again the runs the database says are queued (for longer than `grace`) that Redis no longer
    holds: lost with a Redis that keeps nothing on disk, or taken off the queue by a worker that died before
    starting them. The JobRun row is the truth, Redis the transport. Returns the ids sent again."""
    if not current_app.config.get("REDIS_URL") or maintenance_state().on:
        return []
    stale = db.session.scalars(sa.select(JobRun.id).where(JobRun.status == "queued",
                                                          JobRun.queued_at < utcnow() - grace)
                               .order_by(JobRun.id)).all()
    db.session.rollback()
    if not stale:
        return []
    queue = rq_queue()
    waiting = set(queue.get_job_ids())
    lost = []
    for run_id in stale:
        job_id = rq_job_id(run_id)
        if job_id in waiting:
            continue
        try:
            status = Job.fetch(job_id, connection=queue.connection).get_status()
        except NoSuchJobError:
            status = None
        # Gone, "queued" but on no queue, or finished while the run is still queued (held during maintenance):
        # nobody will run it.
        if status in (None, JobStatus.QUEUED, JobStatus.FINISHED):
            _send(run_id, queue)
            lost.append(run_id)
    if lost:
        log.warning("job runs %s were lost by the queue and were sent again", ", ".join(map(str, lost)))
    return lost


def release_held_runs(app):
    """After maintenance: start the runs held while it was on. With Redis, the runs the queue no longer holds
    are sent again (those still waiting there are taken as the workers resume); inline, the queued runs run
    here, one after the other. Returns the ids started."""
    if app.config.get("REDIS_URL"):
        return recover_lost_runs(grace=timedelta(0))
    held = db.session.scalars(sa.select(JobRun.id).where(JobRun.status == "queued").order_by(JobRun.id)).all()
    db.session.rollback()
    for run_id in held:
        _dispatch(app, run_id)
    return list(held)


def _dispatch(app, run_id):
    if app.config.get("REDIS_URL"):
        with app.app_context():
            try:
                _send(run_id)
            except RedisError as error:  # Redis went away after the check: the run says so, never stays queued
                log.warning("job run %s not started: the queue is unreachable (%s)", run_id, error)
                db.session.execute(sa.update(JobRun).where(JobRun.id == run_id, JobRun.status == "queued")
                                   .values(status="failed", finished_at=utcnow(), error=QUEUE_UNAVAILABLE))
                db.session.commit()
        return
    # Inline: a fresh app context gives the job its own session and transaction.
    with app.app_context():
        retries = app.config.get("JOB_MAX_RETRIES", 3)
        for attempt in range(retries + 1):
            try:
                execute(run_id)
                return
            except Exception as error:
                if attempt >= retries or not _is_transient(run_id, error):
                    log.warning("job run %s failed: %s", run_id, error)
                    return


def _is_transient(run_id, error):
    fn = JOBS.get(db.session.scalar(sa.select(JobRun.name).where(JobRun.id == run_id)))
    extra = getattr(fn, "transient_errors", ())
    return isinstance(error, TRANSIENT_ERRORS + extra)


def use_app_for_workers(app):
    """Let forked RQ work horses reuse the worker's app instead of building one per job."""
    global _worker_app, _worker_pid
    _worker_app, _worker_pid = app, os.getpid()


def app_for_worker(create_app):
    """The app a worker runs jobs in: the one use_app_for_workers() gave, else one `create_app()` builds once."""
    global _worker_app, _worker_pid
    if _worker_app is None:
        use_app_for_workers(create_app())
    elif _worker_pid != os.getpid():
        # A forked work horse must not share the parent's pooled database connections.
        with _worker_app.app_context():
            db.engine.dispose(close=False)
        _worker_pid = os.getpid()
    return _worker_app


def execute(run_id):
    """Run one JobRun in the current app context (inline, or in an RQ worker through RQ_ENTRY_POINT).
    Succeeded runs are not repeated."""
    run = db.session.get(JobRun, run_id)
    if run is None:
        log.warning("job run %s no longer exists", run_id)
        return None
    if run.status == "succeeded":
        return run.counts
    if maintenance_state().on:  # held, still queued, until maintenance ends (release_held_runs)
        log.info("job run %s (%s) held: maintenance mode is on", run_id, run.name)
        run.status = "queued"
        db.session.commit()
        return None
    fn = JOBS[run.name]
    run.status, run.started_at, run.attempts, run.error = "running", utcnow(), run.attempts + 1, None
    db.session.commit()
    line = {"request_id": run.request_id, "run_id": run_id, "name": run.name, "attempt": run.attempts}
    started = time.perf_counter()
    try:
        with acting_as(f"job:{run.name}"), carrying_request_id(run.request_id):
            counts = fn(run=run, **(run.arguments or {})) or {}
        run = db.session.get(JobRun, run_id)
        run.status, run.finished_at, run.counts = "succeeded", utcnow(), counts
        db.session.commit()
        seconds = time.perf_counter() - started
        log_line(jobs_log, "job", **line, status="succeeded", ms=round(seconds * 1000, 1))
        observe_job(run.name, "succeeded", seconds, errors=_errors_of(counts))
        return counts
    except Exception as error:
        db.session.rollback()
        run = db.session.get(JobRun, run_id)
        transient = isinstance(error, TRANSIENT_ERRORS + fn.transient_errors)
        final = not transient or run.attempts > current_app.config.get("JOB_MAX_RETRIES", 3)
        run.status = "failed" if final else "retrying"
        run.finished_at = utcnow()
        run.error = "".join(traceback.format_exception_only(type(error), error)).strip()[:4000]
        db.session.commit()
        seconds = time.perf_counter() - started
        log_line(jobs_log, "job", **line, status=run.status, ms=round(seconds * 1000, 1), error=run.error[:200])
        observe_job(run.name, run.status, seconds)
        if final:
            _stop_rq_retries()
        raise


@read_when_scraped
def queue_gauges():
    """For /metrics: the JobRun rows waiting, and the RQ queue's length (with Redis; left out while it is down)."""
    waiting = GaugeMetricFamily("obcms_job_runs_waiting", "JobRun rows queued or retrying")
    try:
        waiting.add_metric([], db.session.scalar(
            sa.select(sa.func.count()).where(JobRun.status.in_(("queued", "retrying")))))
        db.session.rollback()
        yield waiting
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
    if current_app.config.get("REDIS_URL"):
        queued = GaugeMetricFamily("obcms_queue_jobs", "Jobs waiting on the RQ queue", labels=["queue"])
        try:
            queue = rq_queue()
            queued.add_metric([queue.name], queue.count)
            yield queued
        except RedisError:  # /health says why; the scrape still answers
            pass


def _errors_of(counts):
    errors = counts.get("errors") if isinstance(counts, dict) else None
    return errors if isinstance(errors, int) and errors > 0 else 0


def _stop_rq_retries():
    """RQ's Retry policy retries any exception: a permanent failure (or the last attempt) ends it here."""
    rq_job = get_current_job()
    if rq_job is not None:
        rq_job.retries_left = 0
