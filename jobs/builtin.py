"""Jobs that keep the system itself in order."""
import time

from obcms.db_types import utcnow
from obcms.jobqueue import job


@job("ping")
def ping(run, message="pong", fail_times=0, hold_seconds=0):
    """A tiny job that proves the path (enqueue → queue → worker → JobRun). `fail_times` simulates
    transient failures for the retry tests; `hold_seconds` (at most a minute) keeps the worker busy, for
    outage drills."""
    time.sleep(min(max(float(hold_seconds), 0.0), 60.0))
    if run.attempts <= int(fail_times):
        raise ConnectionError(f"simulated transient failure on attempt {run.attempts}")
    return {"pinged": 1, "message": message, "at": utcnow().isoformat()}
