"""The job path: enqueue after commit, a JobRun row per run, retries for transient failures only, the cron
command, and a real Redis with a real `rq worker --burst`."""
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestingConfig
from obcms import create_app
from obcms.db_types import utcnow
from obcms.errors import Unavailable
from obcms.extensions import db
from obcms.jobqueue import JOBS, JobRun, enqueue, runner
from obcms.jobqueue.queue import redis_connection, rq_queue
from tests.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def spy_job(monkeypatch):
    """Register a job 'spy' that records its calls and raises `spy.error` when set."""
    calls = []

    def spy(run, **arguments):
        calls.append(arguments)
        if spy.error:
            raise spy.error
        return {"seen": len(calls)}

    spy.calls, spy.error, spy.transient_errors = calls, None, ()
    monkeypatch.setitem(JOBS, "spy", spy)
    return spy


def job_runs():
    db.session.expire_all()
    return db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()


def test_inline_job_runs_only_after_commit(spy_job):
    run = enqueue("spy", item=7)
    assert run.status == "queued" and spy_job.calls == []
    db.session.commit()
    assert spy_job.calls == [{"item": 7}]
    assert job_runs()[-1].status == "succeeded"


def test_a_rolled_back_transaction_leaves_no_job_run(spy_job):
    enqueue("spy", item=1)
    db.session.rollback()
    db.session.commit()
    assert spy_job.calls == []
    assert job_runs() == []


def test_job_run_row_records_who_what_and_when(users):
    run = enqueue("ping", requested_by=users["admin"], message="hello")
    db.session.commit()
    run = job_runs()[-1]
    assert (run.name, run.requested_by_id, run.requested_by_label) == ("ping", users["admin"].id, "admin")
    assert run.status == "succeeded" and run.attempts == 1 and run.error is None
    assert run.arguments == {"message": "hello"}
    assert run.queued_at <= run.started_at <= run.finished_at
    assert run.started_at.tzinfo is not None and run.duration_ms >= 0
    assert run.counts["pinged"] == 1 and run.counts["message"] == "hello"


def test_transient_failures_are_retried():
    enqueue("ping", fail_times=2)
    db.session.commit()
    run = job_runs()[-1]
    assert run.status == "succeeded" and run.attempts == 3 and run.error is None


def test_transient_failures_beyond_the_retry_budget_fail(app):
    enqueue("ping", fail_times=10)
    db.session.commit()
    run = job_runs()[-1]
    assert run.status == "failed"
    assert run.attempts == app.config["JOB_MAX_RETRIES"] + 1
    assert run.error == f"ConnectionError: simulated transient failure on attempt {run.attempts}"


def test_permanent_failure_is_recorded_and_not_retried(spy_job):
    spy_job.error = ValueError("the PPA has no work items")
    enqueue("spy")
    db.session.commit()
    run = job_runs()[-1]
    assert run.status == "failed" and run.attempts == 1 and len(spy_job.calls) == 1
    assert run.error == "ValueError: the PPA has no work items"
    assert run.finished_at is not None


def test_unknown_job_name_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown job 'nope'; known: .*ping"):
        enqueue("nope")


def test_cli_enqueue_runs_the_job(app):
    result = app.test_cli_runner().invoke(args=["obcms", "jobs", "enqueue", "ping", "--arg", "message=cron"])
    assert result.exit_code == 0, result.output
    run = job_runs()[-1]
    assert result.output.strip() == f"JobRun #{run.id} ping: succeeded"
    assert run.requested_by_label == "system" and run.counts["message"] == "cron"


def test_cli_enqueue_of_a_failing_job_exits_non_zero(app):
    result = app.test_cli_runner().invoke(args=["obcms", "jobs", "enqueue", "ping", "--arg", "fail_times=99"])
    assert result.exit_code == 1
    assert "ping: failed" in result.output


def test_cli_enqueue_of_an_unknown_job_names_the_known_ones(app):
    result = app.test_cli_runner().invoke(args=["obcms", "jobs", "enqueue", "nope"])
    assert result.exit_code != 0
    assert "Unknown job 'nope'. Known jobs:" in result.output and "ping" in result.output
    assert job_runs() == []


def test_cli_lists_jobs_and_prints_the_cron_schedule(app):
    runner_ = app.test_cli_runner()
    assert "ping" in runner_.invoke(args=["obcms", "jobs", "list"]).output
    lines = runner_.invoke(args=["obcms", "jobs", "schedule", "--env-file", "/srv/obcms.env"]).output.splitlines()
    assert lines and all(". /srv/obcms.env && flask --app wsgi obcms jobs enqueue " in line for line in lines)
    assert any(line.startswith("0 2 * * * ") and line.endswith("enqueue sync_ppa_progress >> "
                                                                "/var/log/obcms-cron.log 2>&1") for line in lines)


# Through a real Redis ------------------------------------------------------------------------------------

def delete_queue_keys(queue_name):
    """Only this test's keys: the queue name is in every key RQ writes for it (job ids include it too)."""
    connection = redis_connection(os.environ["REDIS_URL"])
    for key in connection.scan_iter(f"*{queue_name}*"):
        connection.delete(key)


@pytest.fixture
def rq_config(app, monkeypatch):
    queue_name = f"obcms_test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setitem(app.config, "REDIS_URL", os.environ["REDIS_URL"])
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    yield queue_name
    delete_queue_keys(queue_name)


@pytest.mark.redis
def test_rq_retries_transient_failures_only(app, rq_config, spy_job, monkeypatch):
    """An in-process worker on this test's transaction: transient failures are retried, permanent ones not."""
    from rq import SimpleWorker
    from rq.job import Job, JobStatus

    monkeypatch.setattr(runner, "RETRY_INTERVALS", [0, 0, 0])
    spy_job.error = ValueError("permanent")
    flaky = enqueue("ping", fail_times=2)
    broken = enqueue("spy")
    db.session.commit()
    queue = rq_queue()
    assert queue.count == 2 and spy_job.calls == []  # sent to RQ, not run inline

    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    db.session.expire_all()
    assert (flaky.status, flaky.attempts) == ("succeeded", 3)
    assert (broken.status, broken.attempts, broken.error) == ("failed", 1, "ValueError: permanent")
    rq_job = Job.fetch(f"{rq_config}-jobrun-{broken.id}", connection=queue.connection)
    assert rq_job.get_status() == JobStatus.FAILED and len(spy_job.calls) == 1


@pytest.mark.redis
@pytest.mark.committed
@pytest.mark.parametrize("worker", ["rq", "flask"])
def test_a_real_rq_worker_runs_the_job(worker):
    url = create_database()
    queue_name = f"obcms_test_{uuid.uuid4().hex[:10]}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=os.environ["REDIS_URL"],
                     RQ_QUEUE=queue_name)
    try:
        with app.app_context():
            db.create_all()
            run_id = enqueue("ping", message="through rq").id
            db.session.commit()
            assert db.session.get(JobRun, run_id).status == "queued"
            assert rq_queue().count == 1

        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": os.environ["REDIS_URL"], "RQ_QUEUE": queue_name}
        env.pop("OBCMS_ENV", None)
        command = {
            "rq": [VENV_BIN / "rq", "worker", "--burst", "--with-scheduler", "--url", os.environ["REDIS_URL"],
                   "--path", ROOT, queue_name],
            "flask": [VENV_BIN / "flask", "--app", "wsgi", "obcms", "worker", "--burst"],
        }[worker]
        done = subprocess.run([str(part) for part in command], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]

        with app.app_context():
            run = db.session.get(JobRun, run_id)
            assert run.status == "succeeded", (run.status, run.error, done.stderr[-2000:])
            assert run.attempts == 1 and run.counts["message"] == "through rq"
            assert rq_queue().count == 0
    finally:
        delete_queue_keys(queue_name)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)


# With Redis down ----------------------------------------------------------------------------------------
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: connections are refused at once


def test_with_redis_down_enqueue_is_refused_and_leaves_no_job_run(app, monkeypatch, spy_job):
    monkeypatch.setitem(app.config, "REDIS_URL", DEAD_REDIS)
    with pytest.raises(Unavailable, match="The job queue is unavailable; nothing was started"):
        enqueue("spy", item=1)
    db.session.rollback()
    assert job_runs() == [] and spy_job.calls == []


def test_with_redis_down_cron_prints_one_line_and_exits_non_zero(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", DEAD_REDIS)
    result = app.test_cli_runner().invoke(args=["obcms", "jobs", "enqueue", "ping"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: The job queue is unavailable; nothing was started. Try again in a few minutes."]
    assert job_runs() == []


def test_a_run_whose_queue_went_away_after_the_check_is_failed_not_left_queued(app, monkeypatch, spy_job):
    run = JobRun(name="spy", arguments={"item": 1}, status="queued", requested_by_label="system")
    db.session.add(run)  # committed while Redis answered …
    db.session.commit()
    monkeypatch.setitem(app.config, "REDIS_URL", DEAD_REDIS)  # … then gone when the run is dispatched
    runner._dispatch(app, run.id)
    failed = job_runs()[-1]
    assert (failed.status, failed.error) == ("failed", runner.QUEUE_UNAVAILABLE) and spy_job.calls == []


# Lost runs ----------------------------------------------------------------------------------------------
def queued_long_ago(name="ping", **arguments):
    run = JobRun(name=name, arguments=arguments, status="queued", requested_by_label="system",
                 queued_at=utcnow() - runner.LOST_AFTER - timedelta(seconds=1))
    db.session.add(run)
    db.session.commit()
    return run


@pytest.mark.redis
def test_runs_the_queue_lost_are_sent_again_and_no_other(app, rq_config):
    """The JobRun row is the truth: a run Redis no longer holds (a Redis that keeps nothing restarted), or
    holds as "queued" on no queue (taken by a worker that died before starting it), is sent again; a run
    still waiting, a fresh one and a finished one are left alone."""
    from rq.job import Job

    forgotten = queued_long_ago()
    orphaned = queued_long_ago()
    runner._send(orphaned.id)
    queue = rq_queue()
    queue.connection.lrem(queue.key, 0, runner.rq_job_id(orphaned.id))  # off the queue, as a dequeue does
    waiting = queued_long_ago()
    runner._send(waiting.id)
    fresh = enqueue("ping")
    done = queued_long_ago()
    done.status = "succeeded"
    db.session.commit()

    assert runner.recover_lost_runs() == [forgotten.id, orphaned.id]
    assert set(queue.get_job_ids()) == {runner.rq_job_id(i) for i in (forgotten.id, orphaned.id, waiting.id,
                                                                     fresh.id)}
    assert Job.fetch(runner.rq_job_id(forgotten.id), connection=queue.connection).args == (forgotten.id,)
    assert runner.recover_lost_runs() == []  # nothing twice
    result = app.test_cli_runner().invoke(args=["obcms", "jobs", "recover"])
    assert result.exit_code == 0 and result.output.strip() == "0 lost run(s) sent again"


def test_recovering_without_redis_configured_does_nothing(app):
    queued_long_ago()
    assert runner.recover_lost_runs() == []


@pytest.mark.redis
def test_the_redis_client_is_kept_per_app_and_url(app, rq_config):
    """One client (and connection pool) per URL: a new one per call opened a TCP connection every time."""
    with app.app_context():
        client = redis_connection()
        assert redis_connection() is client and client.ping()
        assert redis_connection("redis://127.0.0.1:1/0") is not client
