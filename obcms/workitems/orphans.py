"""Orphaned work items (DOMAIN.md Jobs, `cleanup_orphans`, Sunday 03:00): items whose `ppa_id` names a PPA
that is gone. work_items.ppa_id has a foreign key with ON DELETE CASCADE, so orphans come only from data
that went around it (imports or restores made with the checks off, a database copied in parts).

A dry run (the default: WORKITEM_CLEANUP_DRY_RUN) only reports the topmost orphans — those whose parent is
not an orphan too — with the size of their subtrees; a real run deletes each of them with its subtree
through the tree's one write call (services.delete_work_item: locked, rolled up, audited), each in its own
savepoint, so that one failure is recorded and the others still go.

    report = cleanup_orphans(dry_run=True)      # the job (jobs/workitems.py); never commits
"""
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from . import tree
from .models import WorkItem
from .services import delete_work_item

TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError)
REPORTED_AT_MOST = 500  # items listed in a run's report (the counts cover all)

ppas = sa.table("ppas", sa.column("id"))


@dataclass(frozen=True)
class JobActor:
    """Who a background job's tree writes act as: an administrator that is nobody (the audit names the job,
    obcms.audit.context.acting_as)."""

    id: None = None
    username: None = None
    role: str = "admin"
    is_authenticated: bool = True
    is_active: bool = True


def _gone(column):
    return sa.and_(column.is_not(None), ~sa.exists().where(ppas.c.id == column))


def topmost_orphans(session=None):
    """[(work item, nodes in its subtree)] of the orphaned work items whose parent is not orphaned, in id
    order (one query)."""
    session = session or db.session
    parent = aliased(WorkItem)
    return session.execute(
        sa.select(WorkItem, tree.size_column()).outerjoin(parent, parent.id == WorkItem.parent_id)
        .where(_gone(WorkItem.ppa_id), sa.or_(parent.id.is_(None), ~_gone(parent.ppa_id)))
        .order_by(WorkItem.id)).all()


def cleanup_orphans(dry_run=True, actor=None, session=None):
    """Report (dry run) or delete the orphaned subtrees. Returns counts for the JobRun: dry_run, orphans
    (topmost items), work_items (nodes in their subtrees), deleted, errors, `report` [{id, title, work_type,
    ppa_id, size}] (at most REPORTED_AT_MOST) and `failures` {"<id>": error}."""
    session = session or db.session
    actor = actor or JobActor()
    found = topmost_orphans(session)
    orphans = [item for item, _ in found]
    report = [{"id": item.id, "title": item.title, "work_type": item.work_type, "ppa_id": item.ppa_id,
               "size": size} for item, size in found]
    deleted, failures = 0, {}
    if not dry_run:
        for item in orphans:
            try:
                with session.begin_nested():
                    deleted += delete_work_item(item, actor, item.version)
            except TRANSIENT:
                raise  # the job runner retries the whole run
            except Exception as error:  # recorded per item; the run goes on
                failures[str(item.id)] = f"{type(error).__name__}: {error}"[:500]
    return {"dry_run": bool(dry_run), "orphans": len(orphans), "work_items": sum(r["size"] for r in report),
            "deleted": deleted, "errors": len(failures), "report": report[:REPORTED_AT_MOST],
            "failures": failures}
