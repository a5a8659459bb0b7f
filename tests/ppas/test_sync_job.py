"""The nightly sync_ppa_progress job: roll-ups, PPA progress and status, notifications, errors, statements."""
import pytest
import sqlalchemy as sa

from jobs.schedule import SCHEDULE
from obcms.extensions import db
from obcms.jobqueue import JOBS
from obcms.notifications.models import Notification
from obcms.ppas import tracking
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem

W = WorkItem.__table__


@pytest.fixture
def tracked(make_ppa, users):
    """tracked(**ppa fields) → a PPA with a `minimal` tree (project → one task), created by oobc_staff."""

    def make(**fields):
        ppa = make_ppa(created_by_id=users["oobc_staff"].id, **fields)
        root = tracking.enable_tracking(ppa, users["oobc_staff"], "minimal", "equal")
        return ppa, root

    return make


def set_task_progress(root, progress):
    """Change the leaf behind the roll-ups' back (as an import or a repair would), leaving the tree stale."""
    db.session.execute(sa.update(W).where(W.c.tree_id == root.id, W.c.parent_id.is_not(None))
                       .values(progress=progress, version=W.c.version + 1))


def run_job(**arguments):
    return JOBS["sync_ppa_progress"](run=None, **arguments)


def test_registered_nightly_at_two():
    assert "sync_ppa_progress" in JOBS
    assert ("0 2 * * *", "sync_ppa_progress") in SCHEDULE


def test_counts_changes_and_notifications(tracked, users):
    moved, _ = tracked(status="planning")
    small, _ = tracked(status="ongoing")
    on_hold, _ = tracked(status="on_hold")
    manual, _ = tracked(status="planning", auto_sync_progress=False, auto_sync_status=False)
    for ppa in (moved, small, on_hold, manual):
        set_task_progress(db.session.get(WorkItem, ppa.execution_project_id), 60)
    set_task_progress(db.session.get(WorkItem, small.execution_project_id), 3)
    counts = run_job()
    assert counts == {"ppas_checked": 2, "ppas_changed": 2, "notifications": 1, "errors": 0, "failures": {}}
    for ppa in (moved, small, on_hold, manual):
        db.session.refresh(ppa)
    assert (moved.progress, moved.status) == (60, "ongoing")  # work at 60 % has started: never "planning"
    assert (small.progress, on_hold.progress, manual.progress) == (3, 0, 0)
    [note] = db.session.scalars(sa.select(Notification).where(Notification.kind == "progress")).all()
    assert note.user_id == users["oobc_staff"].id and note.url == f"/ppas/{moved.id}/work-items"
    assert "from 0 % to 60 %" in note.message
    assert run_job() == {"ppas_checked": 2, "ppas_changed": 0, "notifications": 0, "errors": 0, "failures": {}}


def test_sync_now_for_one_ppa_whatever_its_status(tracked):
    ppa, root = tracked(status="on_hold")
    other, other_root = tracked(status="planning")
    set_task_progress(root, 40)
    set_task_progress(other_root, 40)
    assert run_job(ppa_ids=[ppa.id])["ppas_changed"] == 1
    db.session.refresh(ppa)
    db.session.refresh(other)
    assert (ppa.progress, other.progress) == (40, 0)


def test_an_error_on_one_ppa_does_not_stop_the_others(tracked, monkeypatch):
    good, good_root = tracked(status="planning")
    bad, bad_root = tracked(status="planning")
    set_task_progress(good_root, 50)
    set_task_progress(bad_root, 50)
    real = tracking.rollup.rollup_trees

    def failing(tree_ids, **kwargs):
        if bad_root.id in tree_ids:
            raise ValueError(f"tree #{bad_root.id} is broken")
        return real(tree_ids, **kwargs)

    monkeypatch.setattr(tracking.rollup, "rollup_trees", failing)
    counts = run_job()
    assert counts["ppas_checked"] == 2 and counts["ppas_changed"] == 1 and counts["errors"] == 1
    assert counts["failures"] == {str(bad.id): f"ValueError: tree #{bad_root.id} is broken"}
    db.session.refresh(good)
    assert good.progress == 50


def test_statements_do_not_grow_with_the_number_of_ppas(tracked, count_queries):
    def measure(n):
        for _ in range(n):
            _, root = tracked(status="planning")
            set_task_progress(root, 70)
        with count_queries() as q:
            counts = run_job()
        db.session.execute(sa.update(Ppa.__table__).values(workitem_tracking_enabled=False))
        return counts, q.count

    few, few_statements = measure(2)
    many, many_statements = measure(8)
    assert (few["ppas_changed"], many["ppas_changed"]) == (2, 8)
    assert (few["notifications"], many["notifications"]) == (2, 8)
    assert few_statements == many_statements <= 12
