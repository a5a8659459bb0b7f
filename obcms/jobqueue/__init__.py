"""Background jobs: a JobRun row per run, the registry of named jobs and the one enqueue helper.

    from obcms.jobqueue import enqueue
    enqueue("sync_ppa_progress", requested_by=current_user)   # after commit: RQ, or inline without Redis

Every domain may enqueue; the job functions themselves live in the top-level `jobs` package (they call the
domains' services), each registered with @job("name"), receiving the JobRun as `run` and returning a dict of
counts. This package imports no domain, so a domain importing it makes no cycle.
"""
from .models import JobRun  # noqa: F401
from .registry import JOBS, job  # noqa: F401
from .runner import enqueue  # noqa: F401
