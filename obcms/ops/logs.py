"""Structured logs: one JSON line per request and per job run, each carrying the request id.

    {"event": "request", "at": "2026-12-03T09:14:02.511Z", "request_id": "3f9c…", "user": "amina",
     "method": "POST", "path": "/work-items/12/edit", "status": 200, "ms": 14.2, "queries": 6}
    {"event": "job", "at": …, "request_id": "3f9c…", "run_id": 88, "name": "sync_ppa_progress",
     "status": "succeeded", "attempt": 1, "ms": 412.0}

The request id (the caller's X-Request-ID when it is a short plain token, else a new one; obcms/errors.py) is
sent back as X-Request-ID, shown on error pages, written in the audit rows, and stored on the JobRun of every job
the request enqueues, so the job's log line and its audit rows carry it too. Lines go to the `obcms.requests`
and `obcms.jobs` loggers; outside tests each writes them to stderr (gunicorn's error log, journald under
systemd) unless LOG_REQUESTS is off.
"""
import json
import logging
import sys
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import g, has_request_context, request

from ..errors import request_id
from .metrics import observe_request

requests_log = logging.getLogger("obcms.requests")
jobs_log = logging.getLogger("obcms.jobs")


def log_line(logger, event, **fields):
    """Write one JSON line: {"event", "at", …fields}."""
    if logger.isEnabledFor(logging.INFO):
        at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        logger.info(json.dumps({"event": event, "at": at, **fields}, default=str, separators=(", ", ": ")))


def _username(user):
    """The signed-in user's name as loaded, without loading anything (after a commit the object is expired:
    reading an attribute would query it again); "#<id>" when only its identity is at hand."""
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    if state is None:  # nobody signed in (Flask-Login's anonymous user is no mapped object)
        return None
    name = state.dict.get("username")
    return name if name is not None else (f"#{state.identity[0]}" if state.identity else None)


def _count_statement(conn, cursor, statement, parameters, context, executemany):
    if has_request_context():
        g.query_count = g.get("query_count", 0) + 1


def init_app(app):
    if not sa.event.contains(sa.engine.Engine, "before_cursor_execute", _count_statement):
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", _count_statement)

    @app.before_request
    def start_clock():
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        response.headers["X-Request-ID"] = request_id()
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        observe_request(request.endpoint, request.method, response.status_code, seconds)
        log_line(requests_log, "request", request_id=request_id(), user=_username(g.get("_login_user")),
                 method=request.method, path=request.path, status=response.status_code,
                 ms=round(seconds * 1000, 1) if started is not None else None,
                 queries=g.get("query_count", 0))
        return response

    if not app.testing and app.config.get("LOG_REQUESTS", True):
        for logger in (requests_log, jobs_log):
            if not logger.handlers:
                handler = logging.StreamHandler(sys.stderr)
                handler.setFormatter(logging.Formatter("%(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.INFO)
                logger.propagate = False
