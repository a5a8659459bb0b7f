"""What starts task generation: a new PPA (moa_ppa, oobc_ppa), a new assessment, a new calendar event of kind
meeting / workshop / conference — however it was created (page, API, import, demo). The domains that create
them know nothing of tasks: a session listener notes the new rows at each flush, and when the transaction
commits one generate_tasks job is enqueued for all of them (obcms.jobqueue.enqueue: the JobRun row is written
in the same transaction and the job starts only after the commit — inline without Redis, an RQ worker with
it). A rolled-back transaction enqueues nothing. TASK_GENERATION = False (config) turns the triggers off.

A PPA whose execution project is generated later (tracking enabled) takes its budget-cycle tasks along
(generation.attach_to_execution_project, subscribed to obcms.ppas.tracking.AFTER_EXECUTION_PROJECT).
"""
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..assessments.models import Assessment
from ..calendar.models import CalendarEvent
from ..jobqueue import enqueue
from ..ppas import tracking
from ..ppas.models import Ppa
from .generation import PPA_CATEGORIES, attach_to_execution_project
from .seed import EVENT_TEMPLATES

_KEY = "obcms_task_triggers"
JOB = "generate_tasks"


def trigger_of(obj):
    """(kind, id) when `obj`, just inserted, generates tasks; else None."""
    if isinstance(obj, Ppa) and obj.category in PPA_CATEGORIES:
        return "ppa", obj.id
    if isinstance(obj, Assessment):
        return "assessment", obj.id
    if isinstance(obj, CalendarEvent) and obj.kind in EVENT_TEMPLATES and obj.series_id is None:
        return "event", obj.id
    return None


@event.listens_for(Session, "after_flush")
def _note_new_rows(session, flush_context):
    found = [trigger for trigger in map(trigger_of, session.new) if trigger]
    if found:
        session.info.setdefault(_KEY, []).extend(found)


@event.listens_for(Session, "before_commit")
def _enqueue_generation(session):
    if _KEY not in session.info and not session.new:
        return
    session.flush()  # rows added since the last flush are noted too
    found = session.info.pop(_KEY, None)
    if found and has_app_context() and current_app.config.get("TASK_GENERATION", True):
        enqueue(JOB, triggers=[list(trigger) for trigger in sorted(set(found))])


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_KEY, None)


if attach_to_execution_project not in tracking.AFTER_EXECUTION_PROJECT:
    tracking.AFTER_EXECUTION_PROJECT.append(attach_to_execution_project)
