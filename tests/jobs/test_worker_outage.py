"""`flask obcms worker` outlives a Redis outage: stopped mid-job, Redis comes back and the worker takes up the
run it was on and what was queued afterwards, without being restarted (a private redis-server, started and
stopped here; the machine's own is never touched)."""
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest

from config import TestingConfig
from obcms import create_app
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from tests.databases import create_database, drop_database

from .test_jobs import ROOT, VENV_BIN

pytestmark = [pytest.mark.committed,
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port, directory):
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                                "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
    until(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                                 text=True).stdout.strip() == "PONG", 10)
    return process


def until(check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_the_worker_outlives_a_redis_outage(tmp_path):
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port, tmp_path)
    url = create_database()
    queue_name = f"obcms_test_{uuid.uuid4().hex[:10]}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url, RQ_QUEUE=queue_name)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "RQ_QUEUE": queue_name}
    env.pop("OBCMS_ENV", None)
    log = open(tmp_path / "worker.log", "w")
    worker = None

    def status(run_id):
        with app.app_context():
            return db.session.get(JobRun, run_id).status

    try:
        with app.app_context():
            db.create_all()
            during = enqueue("ping", message="running when Redis went away", hold_seconds=3).id
            db.session.commit()
        worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "wsgi", "obcms", "worker"], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
        assert until(lambda: "jobs.runner.execute(" in (tmp_path / "worker.log").read_text(), 30)  # it runs
        redis.send_signal(signal.SIGTERM)
        redis.wait(10)
        time.sleep(5)  # longer than the job: it ends while Redis is away
        redis = start_redis(port, tmp_path)
        with app.app_context():
            after = enqueue("ping", message="queued after Redis came back").id
            db.session.commit()

        assert until(lambda: status(during) == "succeeded" and status(after) == "succeeded", 60), \
            (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.poll() is None  # the same process: nobody restarted it
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        redis.send_signal(signal.SIGTERM)
        redis.wait(10)
        log.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop_database(url)
