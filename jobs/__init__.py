"""Background jobs: idempotent functions of ids, one enqueue helper, a JobRun row per run.

    from jobs import enqueue
    enqueue("sync_ppa_progress", requested_by=current_user)   # after commit: RQ, or inline without Redis

Jobs register with @job("name"). Each receives the JobRun as `run` and returns a dict of counts.
"""
from .registry import JOBS, job  # noqa: F401
from .runner import enqueue  # noqa: F401
