"""Background job functions: idempotent functions of ids, registered with @job("name") (obcms.jobqueue).

    from obcms.jobqueue import enqueue
    enqueue("sync_ppa_progress", requested_by=current_user)   # after commit: RQ, or inline without Redis

Each receives the JobRun as `run` and returns a dict of counts. Importing this package registers them all;
the app factory does. jobs/runner.py is what RQ workers run; jobs/schedule.py is the cron schedule.
"""
from . import approval, audit, builtin, bulk, mail, ppas, reports, tasking, variances, workitems  # noqa: F401  (each registers its jobs)
