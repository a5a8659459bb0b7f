"""WorkItem's own status machine, end to end (fire, roll-up, guard, generic route)."""
import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.workflow import StatusChangeRefused, fire
from tests.workitems.conftest import add


@pytest.fixture
def project(organizations):
    root = add("Livelihood project", organization_id=organizations["MSSD"].id)
    task = add("Buy seedlings", root, organization_id=organizations["MSSD"].id)
    return root, task


def test_complete_and_reopen_a_task(project, users):
    root, task = project
    fire(task, "start", users["moa_staff"])
    fire(task, "complete", users["moa_staff"])
    assert task.status == "completed" and task.completed_at is not None
    db.session.refresh(root)
    assert root.status == "completed"  # the roll-up ran in the same transaction, as a derived change
    cause = db.session.scalar(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "work_item", AuditEntry.object_id == root.id, AuditEntry.field == "status",
        AuditEntry.action == "update").order_by(AuditEntry.id.desc()).limit(1))
    assert cause == f"complete of child #{task.id} ← transition 'complete'"
    fire(task, "reopen", users["moa_staff"])
    assert task.status == "in_progress" and task.completed_at is None


def test_direct_status_change_of_a_work_item_is_refused(project):
    _, task = project
    task.status = "completed"
    with pytest.raises(StatusChangeRefused):
        db.session.flush()
    db.session.rollback()


def test_generic_route_fires_on_a_work_item(project, client_as, csrf_token):
    _, task = project
    db.session.commit()
    client = client_as("moa_staff")
    response = client.post(f"/workflow/work_item/{task.id}/start", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf_token(client), "version": task.version})
    assert response.status_code == 200 and "status-in_progress" in response.get_data(as_text=True)
    assert client_as("other_moa_staff").get(f"/workflow/work_item/{task.id}").status_code == 404
