"""The one commit point of a request, and side effects after commit.

A write view is decorated with `writes`: it runs the view, then commits when the view answered normally with
a status below 400, and rolls back otherwise (an exception, or an error page the view rendered itself). A
view that shows its form again on a domain error names the function that renders it; the decorator rolls back
first, so that function reads the database as it was:

    def _form_again(error, item_id):
        form = _child_form(_load(item_id))
        form.show_failure(error)
        return render_template("workitems/_child_form.html", form=form), 422

    @bp.post("/<int:item_id>/children")
    @writes(on_error=_form_again)             # ValidationFailed; catch=(ValidationFailed, Conflict) for more
    def create_child(item_id):
        services.create_work_item(_load(item_id), current_user, **values)
        return render_template(...)           # rendered inside the transaction, then committed

Errors the view does not catch are answered by obcms/errors.py (which rolls back too). An answer that must
read what only exists once the transaction committed (a job run inline after commit) is returned as
`respond_after_commit(render)`. Jobs and CLI commands keep their own commit points.

Side effects after commit: jobs, mail and cache invalidation run only once the transaction commits.

    after_commit(lambda: enqueue("send_mail", to=user_id))

A rolled-back transaction drops what was registered, so it leaves no trace.
"""
import functools
import logging
import random
import time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .extensions import db

_KEY = "obcms_after_commit"
log = logging.getLogger(__name__)


class _AfterCommit:
    """A view's answer that is rendered once the transaction committed (see respond_after_commit)."""

    def __init__(self, render):
        self.render = render


def respond_after_commit(render):
    """Return this from a `writes` view whose answer reads what the commit (or its after-commit callbacks, such
    as a job run inline) produced: `render()` makes the response after the commit."""
    return _AfterCommit(render)


def writes(view=None, *, on_error=None, catch=(ValidationFailed,)):
    """Make `view` one unit of work: commit when it returns a response with a status below 400, roll back when
    it raises or answers 400 and above. With `on_error`, an error of the `catch` types is answered by
    `on_error(error, **view_kwargs)` after the rollback (it may re-raise to leave the error to
    obcms/errors.py)."""
    if view is None:
        return functools.partial(writes, on_error=on_error, catch=catch)
    handled = tuple(catch) if on_error is not None else ()

    @functools.wraps(view)
    def unit_of_work(*args, **kwargs):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _run_once(view, args, kwargs, handled, on_error)
            except sa.exc.DBAPIError as error:
                if attempt == ATTEMPTS or not is_transient(error):
                    raise
                log.info("%s: %s, attempt %d of %d", view.__name__, type(error.orig).__name__, attempt, ATTEMPTS)
                time.sleep(random.uniform(0.005, 0.03) * attempt)
        raise AssertionError("unreachable")

    return unit_of_work


# A deadlock or serialization failure undoes the whole transaction, and nothing of it was committed or sent:
# the unit of work runs again (PostgreSQL's advice), up to ATTEMPTS times, before the error is answered.
ATTEMPTS = 3
TRANSIENT_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def is_transient(error):
    """True for a database error that a fresh attempt of the same transaction may not meet again."""
    return getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def _run_once(view, args, kwargs, handled, on_error):
    try:
        answer = view(*args, **kwargs)
    except handled as error:
        db.session.rollback()
        return current_app.make_response(on_error(error, *args, **kwargs))
    except BaseException:
        db.session.rollback()
        raise
    if isinstance(answer, _AfterCommit):
        db.session.commit()
        return current_app.make_response(answer.render())
    response = current_app.make_response(answer)
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


def commit_bookkeeping(record, *args, **kwargs):
    """A small write of its own after the request's unit of work was answered (the API token's last use):
    `record(*args, **kwargs)`, committed whatever the request's outcome."""
    record(*args, **kwargs)
    db.session.commit()


def after_commit(callback, session=None):
    session = session or db.session()
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session):
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:  # the outermost transaction rolled back
        session.info.pop(_KEY, None)
