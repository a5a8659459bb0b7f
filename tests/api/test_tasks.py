"""My tasks in the API: the list as the page filters it (scope, team view, paging, constant queries) and
completing a task (version checked, read-only tokens and other MOAs refused)."""
from datetime import date, timedelta

from obcms.extensions import db
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem
from tests.tasks.conftest import same_day_here_and_in_manila  # noqa: F401  (autouse: Manila's day is today's)


def body(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def titles(response):
    return [item["title"] for item in body(response)["items"]]


def test_my_tasks_soonest_first_with_filters(api, bearer, task):
    today = date.today()
    task(today - timedelta(days=2), "Overdue report", priority="high")
    task(today + timedelta(days=3), "Book the venue")
    task(today, "Call the mayor", status="start")
    task(today, "Someone else's", assignee="oobc_staff")
    task(today, "Done already", status="complete")
    headers = bearer("moa_staff")
    listed = body(api.get("/api/v1/tasks", headers=headers))
    assert [i["title"] for i in listed["items"]] == ["Overdue report", "Call the mayor", "Book the venue"]
    assert listed["items"][0]["overdue"] and not listed["items"][1]["overdue"] and listed["total"] == 3
    assert titles(api.get("/api/v1/tasks?priority=high", headers=headers)) == ["Overdue report"]
    assert titles(api.get("/api/v1/tasks?status=in_progress", headers=headers)) == ["Call the mayor"]
    assert titles(api.get("/api/v1/tasks?status=completed", headers=headers)) == ["Done already"]
    assert titles(api.get("/api/v1/tasks?sort=title", headers=headers))[0] == "Book the venue"
    assert api.get("/api/v1/tasks?sort=sideways", headers=headers).status_code == 422
    assert titles(api.get("/api/v1/tasks", headers=bearer("other_moa_staff"))) == []


def test_pages_and_constant_queries(api, bearer, task, count_queries):
    today = date.today()
    task(today, "Task 0")
    headers = bearer("moa_staff")
    api.get("/api/v1/tasks", headers=headers)
    with count_queries() as small:
        assert len(titles(api.get("/api/v1/tasks", headers=headers))) == 1
    for n in range(1, 7):
        task(today + timedelta(days=n), f"Task {n}")
    with count_queries() as large:
        first = body(api.get("/api/v1/tasks?per_page=5", headers=headers))
    assert small.count == large.count <= 3  # the token's user, the count, the page
    assert len(first["items"]) == 5 and first["total"] == 7 and "page=2" in first["next"]
    second = body(api.get(first["next"], headers=headers))
    assert [i["title"] for i in second["items"]] == ["Task 5", "Task 6"] and second["next"] is None


def test_a_leads_team_view(api, bearer, task, users):
    task(date.today(), "Visit the site")
    person = users["moa_staff"].id
    assert titles(api.get(f"/api/v1/tasks?person={person}", headers=bearer("oobc_staff"))) == ["Visit the site"]
    assert api.get(f"/api/v1/tasks?person={person}", headers=bearer("viewer")).status_code == 403
    assert api.get(f"/api/v1/tasks?person={person}", headers=bearer("other_moa_staff")).status_code == 404


def test_complete_a_task(api, bearer, task, count_queries):
    item = task(date.today(), "Print the forms")
    url = f"/api/v1/tasks/{item.id}/complete"
    assert api.post(url, json={"version": item.version}, headers=bearer("moa_staff")).status_code == 403
    assert api.post(url, json={"version": item.version}, headers=bearer("other_moa_staff", "write")).status_code == 404
    assert api.post(url, json={"version": item.version}, headers=bearer("viewer", "write")).status_code == 403
    write = bearer("moa_staff", "write")
    assert api.post(url, json={"version": item.version, "note": "x"}, headers=write).status_code == 422
    done = body(api.post(url, json={}, headers={**write, "If-Match": f'"{item.version}"'}))
    assert done["status"] == "completed" and done["progress"] == 100 and done["completed_at"]
    again = api.post(url, json={"version": done["version"]}, headers=write)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    stale = api.post(url, json={"version": item.version}, headers=write)
    assert stale.status_code == 409 and stale.get_json()["changed_fields"]


def test_only_tasks_complete_here(api, bearer, users, organizations):
    project = workitems.create_work_item(None, users["oobc_staff"], title="Road project", work_type="project",
                                         organization_id=organizations["MSSD"].id)
    db.session.commit()
    response = api.post(f"/api/v1/tasks/{project.id}/complete", json={"version": project.version},
                        headers=bearer("moa_staff", "write"))
    assert response.status_code == 422 and "work_type" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(WorkItem, project.id).status == "not_started"


def test_completing_costs_what_the_transition_costs(api, bearer, task, count_queries):
    """The token's user, the scope check twice (before and after the body is read) and the assignees, on top
    of fire(): lock, re-read, statement, audit, the ancestors' roll-ups and the PPA sync."""
    item = task(date.today(), "Print the forms")
    url, version = f"/api/v1/tasks/{item.id}/complete", item.version
    write = bearer("moa_staff", "write")
    with count_queries() as counted:
        body(api.post(url, json={"version": version}, headers=write))
    assert counted.count <= 16
