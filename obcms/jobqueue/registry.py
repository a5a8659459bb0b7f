"""The named jobs cron and users may enqueue.

The job functions live in the top-level `jobs` package and register here with @job("name"); importing
`jobs` registers them all (the app factory does).
"""

JOBS = {}


def job(name, transient=()):
    """Register `fn` as the job `name`. `transient` lists extra exception types worth retrying."""

    def decorate(fn):
        fn.job_name = name
        fn.transient_errors = tuple(transient)
        JOBS[name] = fn
        return fn

    return decorate
