"""The named jobs cron and users may enqueue.

The job functions live in the top-level `jobs` package and register here with @job("name"); importing
`jobs` registers them all (the app factory does).
"""

JOBS = {}


def job(name, transient=(), subject=None):
    """Register `fn` as the job `name`. `transient` lists extra exception types worth retrying. `subject`
    names what the keys of its counts["failures"] ({id: error}) are ids of ("ppa", "work_item"), so the
    Jobs page links each failure to its object."""

    def decorate(fn):
        fn.job_name = name
        fn.transient_errors = tuple(transient)
        fn.subject = subject
        JOBS[name] = fn
        return fn

    return decorate
