"""The RQ worker `flask obcms worker` runs, made to outlive a Redis outage.

RQ's Worker.work() retries a lost connection while it waits for a job, but quits when Redis goes away while a
job runs (it polls the job's status). run_worker() then waits for Redis to answer again and starts a new
worker: the runs still queued in Redis are taken up, a run taken off the queue but never started (or lost
with a Redis that keeps nothing) is sent again by recover_lost_runs, and runner.execute never repeats a run
that succeeded. A stop signal ends it as RQ's own would.
"""
import itertools
import logging
import signal
import time

from redis.exceptions import RedisError
from rq import Worker

from ..extensions import db
from .queue import redis_connection, rq_queue
from .runner import recover_lost_runs

log = logging.getLogger(__name__)

WAIT_STEPS = (1, 2, 5, 10)  # seconds between pings while Redis is away
MAINTENANCE_EVERY = 60  # seconds; RQ's default is 10 minutes
WORKER_TTL = MAINTENANCE_EVERY + 15  # an idle worker wakes every WORKER_TTL - 15 s (RQ's dequeue timeout)


class _Stop:
    requested = False


class StoppableWorker(Worker):
    """A Worker that remembers a stop signal, so that run_worker() can tell a stop from a crash, and that
    sends lost runs again (runner.recover_lost_runs) at start and with RQ's maintenance, every minute."""

    stop = None

    def request_stop(self, signum, frame):
        self.stop.requested = True
        super().request_stop(signum, frame)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        try:
            recover_lost_runs()
        except Exception as error:  # the database or Redis away: the next round tries again
            db.session.rollback()
            log.warning("worker: lost runs not checked (%s)", str(error).partition("\n")[0][:200])


def _wait_for_redis(stop, sleep=time.sleep):
    """Ping until Redis answers (True) or a stop signal arrives (False); one log line per failed ping."""
    for attempt in itertools.count():
        if stop.requested:
            return False
        try:
            redis_connection().ping()
            return True
        except RedisError as error:
            pause = WAIT_STEPS[min(attempt, len(WAIT_STEPS) - 1)]
            log.warning("worker: Redis unreachable (%s); trying again in %s s", error, pause)
            sleep(pause)


def run_worker(burst=False, worker_class=StoppableWorker):
    """Run workers on the obcms queue until stopped (or, with burst, until the queue is empty)."""
    stop = _Stop()

    def stop_while_waiting(signum, frame):
        stop.requested = True

    while True:
        signal.signal(signal.SIGTERM, stop_while_waiting)
        signal.signal(signal.SIGINT, stop_while_waiting)
        if not _wait_for_redis(stop):
            return
        connection = redis_connection()
        worker = worker_class([rq_queue(connection)], connection=connection, worker_ttl=WORKER_TTL,
                              maintenance_interval=MAINTENANCE_EVERY)
        worker.stop = stop
        try:
            # The scheduler runs the delayed retries of transient failures (runner.RETRY_INTERVALS).
            worker.work(burst=burst, with_scheduler=True)
        except RedisError as error:  # lost while registering its own death: nothing of it is left to save
            log.warning("worker: stopped by a Redis failure (%s)", error)
        if burst or stop.requested:
            return
        log.warning("worker: the connection to Redis was lost; a new worker starts when Redis answers")
