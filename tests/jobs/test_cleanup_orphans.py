"""cleanup_orphans (DOMAIN.md Jobs): work items whose PPA is gone — reported by a dry run (the default), deleted
with their subtrees through the tree's write call (audited) when WORKITEM_CLEANUP_DRY_RUN is off; one failing
item is recorded and the others still go; Sunday 03:00."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jobs.schedule import SCHEDULE
from obcms.audit.models import AuditEntry
from obcms.database import is_sqlite
from obcms.extensions import db
from obcms.jobqueue import JobRun, enqueue
from obcms.ppas.models import Ppa
from obcms.workitems import orphans, services, tree
from obcms.workitems.models import WorkItem

GONE = 987_654


def make_tree(actor, organization, ppa_id, title):
    """A project with an activity and two tasks (4 nodes) for `ppa_id`."""
    ids = services.build_tree([{"title": title, "work_type": "project", "children": [
        {"title": f"{title} activity", "work_type": "activity", "children": [
            {"title": f"{title} task 1", "work_type": "task"}, {"title": f"{title} task 2", "work_type": "task"}]}]}],
        actor, organization_id=organization.id, ppa_id=ppa_id)
    return db.session.get(WorkItem, ids[0])


def orphan(root):
    """Point a tree at a PPA that does not exist, going around the foreign key as broken imports did."""
    if is_sqlite():
        db.session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))  # checked at the outer COMMIT: never
    else:
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db.session.execute(sa.text("UPDATE work_items SET ppa_id = :gone WHERE tree_id = :tree"),
                       {"gone": GONE, "tree": root.id})
    if not is_sqlite():
        db.session.execute(sa.text("SET LOCAL session_replication_role = origin"))
    db.session.expire_all()


@pytest.fixture
def trees(users, organizations):
    staff, mssd = users["oobc_staff"], organizations["MSSD"]
    ppa = Ppa(title="Still here", category="moa_ppa", fiscal_year=2026, implementing_moa_id=mssd.id,
              budget_allocation=Decimal("1000.00"))
    db.session.add(ppa)
    db.session.flush()
    kept = make_tree(staff, mssd, ppa.id, "Kept")
    lone = make_tree(staff, mssd, None, "Stand-alone")
    gone = [make_tree(staff, mssd, ppa.id, f"Orphan {n}") for n in (1, 2)]
    for root in gone:
        orphan(root)
    return kept, lone, gone


def titles():
    db.session.expire_all()
    return set(db.session.scalars(sa.select(WorkItem.title).where(WorkItem.parent_id.is_(None))))


def test_a_dry_run_reports_the_topmost_orphans_and_deletes_nothing(trees):
    kept, lone, gone = trees
    counts = orphans.cleanup_orphans()
    assert (counts["dry_run"], counts["orphans"], counts["work_items"], counts["deleted"]) == (True, 2, 8, 0)
    assert counts["report"] == [{"id": root.id, "title": root.title, "work_type": "project", "ppa_id": GONE,
                                 "size": 4} for root in gone]
    assert titles() == {"Kept", "Stand-alone", "Orphan 1", "Orphan 2"}


def test_a_real_run_deletes_whole_subtrees_through_the_tree_write_call(trees):
    kept, lone, gone = trees
    counts = orphans.cleanup_orphans(dry_run=False)
    assert (counts["orphans"], counts["deleted"], counts["errors"]) == (2, 8, 0)
    assert titles() == {"Kept", "Stand-alone"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == 8
    assert tree.check_integrity() == []
    deletions = db.session.scalars(sa.select(AuditEntry.object_id).where(
        AuditEntry.object_type == "work_item", AuditEntry.action == "delete")).all()
    assert set(deletions) >= {root.id for root in gone}


def test_one_failing_item_is_recorded_and_the_others_still_go(trees, monkeypatch):
    kept, lone, gone = trees
    real = orphans.delete_work_item

    def flaky(item, actor, version):
        if item.id == gone[0].id:
            raise ValueError("cannot today")
        return real(item, actor, version)

    monkeypatch.setattr(orphans, "delete_work_item", flaky)
    counts = orphans.cleanup_orphans(dry_run=False)
    assert counts["errors"] == 1 and counts["deleted"] == 4
    assert counts["failures"] == {str(gone[0].id): "ValueError: cannot today"}
    assert titles() == {"Kept", "Stand-alone", "Orphan 1"}


def test_the_job_follows_the_setting_and_stores_its_report(app, trees, monkeypatch):
    assert ("0 3 * * 0", "cleanup_orphans") in SCHEDULE
    assert app.config["WORKITEM_CLEANUP_DRY_RUN"] is True
    enqueue("cleanup_orphans")
    db.session.commit()
    monkeypatch.setitem(app.config, "WORKITEM_CLEANUP_DRY_RUN", False)
    enqueue("cleanup_orphans")
    db.session.commit()
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.name == "cleanup_orphans").order_by(JobRun.id)).all()
    assert [(r.status, r.counts["dry_run"], r.counts["orphans"], r.counts["deleted"]) for r in runs] == [
        ("succeeded", True, 2, 0), ("succeeded", False, 2, 8)]
    assert [item["title"] for item in runs[0].counts["report"]] == ["Orphan 1", "Orphan 2"]
    deleted_by = db.session.scalars(sa.select(AuditEntry.actor_label).where(
        AuditEntry.object_type == "work_item", AuditEntry.action == "delete")).all()
    assert set(deleted_by) == {"job:cleanup_orphans"}
    assert titles() == {"Kept", "Stand-alone"}
