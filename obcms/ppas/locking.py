"""The one lock order for a PPA and its execution project: the project's tree (its root row) FIRST, then the PPA
row.

A work-item change locks its tree, and its roll-up then syncs the PPA (UPDATE of the PPA row). So everything
that locks a PPA and may then touch its tree — an approval transition (enacting starts the project), a PPA edit
(a status edit fires the project's transition, a new implementing MOA moves the tree's organization), enabling
or disabling tracking — calls lock_ppa(), which takes the tree first. Two writers then never wait on each other
in opposite orders (on PostgreSQL: no deadlock; on SQLite the database write lock serializes them anyway).

    lock_ppa(ppa)        # before reading-then-writing the PPA; the PPA approval machine's fire() lock
"""
import sqlalchemy as sa

from ..database import is_sqlite, lock_rows
from ..errors import Conflict
from ..extensions import db
from ..workitems import tree


def lock_ppa(ppa, session=None):
    """Lock the PPA's execution project tree (when it has one), then the PPA row: three statements on PostgreSQL
    (read the project, lock its root, lock the PPA re-reading the project), two on SQLite (the first lock takes
    the database write lock). The project is read before any lock is held; if tracking changed it in between,
    a Conflict asks to try again (locking the new tree now would break the order)."""
    session = session or db.session
    session.flush()
    table = type(ppa).__table__
    project = sa.select(table.c.execution_project_id).where(table.c.id == ppa.id)
    root_id = session.scalar(project)
    if root_id is not None:
        tree.lock_trees([root_id], known_trees=True, session=session)
    if is_sqlite(session):
        if root_id is None:
            lock_rows(type(ppa), [ppa.id], session)
        return
    if session.scalar(project.with_for_update()) != root_id:
        raise Conflict(f"{ppa.display_code}'s execution project changed just now (tracking was enabled or "
                       "disabled). Reload and try again.")


def lock_ppas(ppas, session=None):
    """lock_ppa() of many PPAs in the same order and three statements on PostgreSQL (read their projects, lock
    those trees' roots in id order, lock the PPA rows in id order re-reading the projects), one on SQLite."""
    session = session or db.session
    session.flush()
    if not ppas:
        return
    model = type(ppas[0])
    table = model.__table__
    ids = sorted({ppa.id for ppa in ppas})
    if is_sqlite(session):
        lock_rows(model, ids, session)  # the database write lock: every tree and row at once
        return
    projects = sa.select(table.c.id, table.c.execution_project_id).where(table.c.id.in_(ids)).order_by(table.c.id)
    before = dict(session.execute(projects).all())
    roots = sorted({root for root in before.values() if root is not None})
    if roots:
        tree.lock_trees(roots, known_trees=True, session=session)
    after = dict(session.execute(projects.with_for_update()).all())
    moved = [ppa for ppa in ppas if after.get(ppa.id) != before.get(ppa.id)]
    if moved:
        raise Conflict(f"{moved[0].display_code}'s execution project changed just now (tracking was enabled or "
                       "disabled). Reload and try again.")
