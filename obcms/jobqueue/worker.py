"""The RQ worker `flask obcms worker` runs, made to outlive a Redis outage.

RQ's Worker.work() retries a lost connection while it waits for a job, but quits when Redis goes away while a
job runs (it polls the job's status). run_worker() then waits for Redis to answer again and starts a new
worker: the runs still queued in Redis are taken up, a run taken off the queue but never started (or lost
with a Redis that keeps nothing) is sent again by recover_lost_runs, and runner.execute never repeats a run
that succeeded. A stop signal ends it as RQ's own would. While maintenance mode is on it takes no job (a
burst worker stops; the job in hand, if any, finishes first).
"""
import itertools
import logging
import signal
import time

import sqlalchemy as sa
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus

from ..extensions import db
from ..ops.maintenance import maintenance_state
from .queue import redis_connection, rq_queue
from .runner import recover_lost_runs

log = logging.getLogger(__name__)

WAIT_STEPS = (1, 2, 5, 10)  # seconds between pings while Redis is away
MAINTENANCE_EVERY = 60  # seconds; RQ's default is 10 minutes
WORKER_TTL = MAINTENANCE_EVERY + 15  # an idle worker wakes every WORKER_TTL - 15 s (RQ's dequeue timeout)


def maintenance_is_on():
    """The maintenance switch as this worker sees it (a database away: off, the jobs then retry as usual)."""
    try:
        on = maintenance_state().on
        db.session.rollback()  # no transaction left open while the worker waits
        return on
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        log.warning("worker: maintenance switch not read (%s)", str(error).partition("\n")[0][:200])
        return False


class _Stop:
    requested = False


class StoppableWorker(Worker):
    """A Worker that remembers a stop signal, so that run_worker() can tell a stop from a crash, that sends lost
    runs again (runner.recover_lost_runs) at start and with RQ's maintenance tasks, every minute, and that takes
    no job while maintenance mode is on."""

    stop = None
    maintenance_poll = 5  # seconds between looks at the maintenance switch while it is on

    def check_for_suspension(self, burst):
        """Before taking a job off the queue: `rq suspend`, as RQ does, and maintenance mode — wait while it is
        on (keeping this worker's heartbeat), or stop a burst worker."""
        super().check_for_suspension(burst)
        before = None
        while not self._stop_requested and maintenance_is_on():
            if burst:
                log.info("worker: maintenance mode is on; the queued jobs wait for a worker after it")
                raise StopRequested
            if before is None:
                log.warning("worker: maintenance mode is on; no job is taken until it is off")
                before = self.get_state()
                self.set_state(WorkerStatus.SUSPENDED)
            self.heartbeat()
            self.wait_for_maintenance_to_end()
        if before is not None:
            log.warning("worker: maintenance mode is off; taking jobs again")
            self.set_state(before)

    def wait_for_maintenance_to_end(self):
        time.sleep(self.maintenance_poll)

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
