"""A PPA moved to another implementing MOA takes its work items along: the execution project and the approval
review tasks get the new organization (set-based, versions bumped, audited with the cause), so the new MOA's
staff see them and the old MOA's staff no longer do."""
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.ppas import services, tracking
from obcms.ppas.approval import ApprovalTask
from obcms.workflow import fire
from obcms.workitems.models import WorkItem


def _tracked_and_submitted(ready_ppa, users):
    ppa = ready_ppa()
    tracking.enable_tracking(ppa, users["moa_staff"], "program", "equal")
    fire(ppa, "submit", users["moa_staff"])
    db.session.flush()
    return ppa


def _items(ppa):
    return db.session.execute(sa.select(WorkItem.id, WorkItem.organization_id, WorkItem.version)
                              .where(WorkItem.ppa_id == ppa.id).order_by(WorkItem.id)).all()


def test_the_work_items_follow_a_new_implementing_moa(ready_ppa, users, organizations, count_queries):
    ppa = _tracked_and_submitted(ready_ppa, users)
    review_task = db.session.scalar(sa.select(ApprovalTask.work_item_id).where(ApprovalTask.ppa_id == ppa.id))
    before = _items(ppa)
    assert len(before) == 14 and {row.organization_id for row in before} == {organizations["MSSD"].id}
    assert review_task in {row.id for row in before}

    with count_queries() as q:
        services.update_ppa(ppa, ppa.version, actor=users["oobc_staff"], implementing_moa_id=organizations["MOH"].id)
    updates = [s for s in q.statements if s.lstrip().startswith("UPDATE work_items SET organization_id")]
    assert len(updates) == 1, updates

    db.session.expire_all()
    after = _items(ppa)
    assert {row.organization_id for row in after} == {organizations["MOH"].id}
    assert [row.version for row in after] == [row.version + 1 for row in before]
    causes = set(db.session.scalars(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "work_item", AuditEntry.field == "organization_id", AuditEntry.action == "update")))
    assert causes == {f"the implementing MOA of {ppa.display_code} changed"}


def test_the_new_moa_sees_the_tree_and_the_old_one_no_longer(ready_ppa, users, organizations, client_as):
    ppa = _tracked_and_submitted(ready_ppa, users)
    root_id = ppa.execution_project_id
    services.update_ppa(ppa, ppa.version, actor=users["oobc_staff"], implementing_moa_id=organizations["MOH"].id)
    db.session.flush()

    new_moa, old_moa = client_as("other_moa_staff"), client_as("moa_staff")
    assert new_moa.get(f"/work-items/{root_id}").status_code == 200
    assert new_moa.get(f"/ppas/{ppa.id}/work-items").status_code == 200
    assert old_moa.get(f"/work-items/{root_id}").status_code == 404
    assert old_moa.get(f"/ppas/{ppa.id}").status_code == 404


def test_nothing_to_move_without_work_items(ready_ppa, users, organizations, count_queries):
    ppa = ready_ppa()
    services.update_ppa(ppa, ppa.version, actor=users["oobc_staff"], implementing_moa_id=organizations["MOH"].id)
    assert ppa.implementing_moa_id == organizations["MOH"].id
    assert tracking.follow_ppa_organization(ppa) == 0
