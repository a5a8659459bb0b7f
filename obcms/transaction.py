"""Side effects after commit: jobs, mail and cache invalidation run only once the transaction commits.

    after_commit(lambda: enqueue("send_mail", to=user_id))

A rolled-back transaction drops what was registered, so it leaves no trace.
"""
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

_KEY = "obcms_after_commit"


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
