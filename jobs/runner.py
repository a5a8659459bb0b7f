"""What an RQ worker runs (obcms.jobqueue.runner.RQ_ENTRY_POINT): one JobRun, in the worker's app.

`flask obcms worker` hands its app to the work horses (use_app_for_workers); a plain `rq worker` gets one
built here on the first job.
"""
from flask import has_app_context

from obcms import create_app
from obcms.jobqueue import runner


def execute(run_id):
    if has_app_context():
        return runner.execute(run_id)
    with runner.app_for_worker(create_app).app_context():
        return runner.execute(run_id)
