"""End to end through HTTP: a PPA is created → after the commit its ten budget-cycle tasks are generated →
tracking is enabled (the task list moves under the execution project) → one task is completed through the
work-item state machine → the PPA's progress moves."""
import sqlalchemy as sa

from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem
from tests.ppas.test_views import form_data
from tests.tasking.conftest import generations, runs, tasks_of

HX = {"HX-Request": "true"}


def test_create_a_ppa_then_complete_a_generated_task_and_the_ppa_moves(client_as, csrf_token, organizations):
    client = client_as("moa_staff")
    token = csrf_token(client)
    response = client.post("/ppas/new", data=form_data(token, organizations, title="Budget story"))
    assert response.status_code == 302
    db.session.expire_all()
    ppa = db.session.scalar(sa.select(Ppa).where(Ppa.title == "Budget story"))
    assert [r.status for r in runs()] == ["succeeded"] and runs()[0].counts["tasks"] == 10
    (generation,) = generations("ppa", ppa.id)
    tasks = tasks_of(generation.work_item_id)
    assert len(tasks) == 10 and tasks[0].title == "Formulate PPA budget proposal"

    response = client.post(f"/ppas/{ppa.id}/tracking/enable", headers=HX,
                           data={"csrf_token": token, "template": "minimal", "policy": "equal"})
    assert response.status_code == 200
    db.session.expire_all()
    ppa = db.session.get(Ppa, ppa.id)
    activity = db.session.get(WorkItem, generation.work_item_id)
    assert activity.parent_id == ppa.execution_project_id and ppa.progress == 0

    task = tasks_of(activity.id)[0]
    response = client.post(f"/workflow/work_item/{task.id}/complete", headers=HX,
                           data={"csrf_token": token, "version": task.version})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(WorkItem, task.id).status == "completed"
    assert db.session.get(WorkItem, activity.id).progress == 10  # one of ten
    # the project: Main Deliverable (0) and the budget cycle (10), equally → 5; the PPA follows its project
    assert db.session.get(Ppa, ppa.id).progress == 5
