"""The named jobs cron and users may enqueue."""

JOBS = {}


def job(name, transient=()):
    """Register `fn` as the job `name`. `transient` lists extra exception types worth retrying."""

    def decorate(fn):
        fn.job_name = name
        fn.transient_errors = tuple(transient)
        JOBS[name] = fn
        return fn

    return decorate


def load_jobs():
    """Import every module that defines jobs (so the registry is complete in web, CLI and worker)."""
    from . import approval, audit, builtin, ppas  # noqa: F401
