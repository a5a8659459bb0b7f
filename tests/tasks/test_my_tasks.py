"""My tasks: the list grouped by due date, the board by status, filters in the URL, quick actions that go
through the work-item state machine (version-checked, rolled up), in a constant number of queries."""
from datetime import date, timedelta

from obcms.extensions import db
from obcms.workflow import fire
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def _task(users, organizations, due, title=None, status=None, work_type="task", assignee="moa_staff", parent=None,
          **fields):
    item = workitems.create_work_item(parent, users["oobc_staff"], assignees=[users[assignee]],
                                      title=title or f"Task due {due}", work_type=work_type, due_date=due,
                                      **({} if parent else {"organization_id": organizations["MSSD"].id}), **fields)
    if status:
        fire(item, status, users["oobc_staff"])
    db.session.commit()
    return item


def _order(html, *titles):
    return [html.index(t) for t in titles] == sorted(html.index(t) for t in titles)


def _heading(name, count):
    return f'{name} <span class="muted">({count})</span>'



def test_the_list_groups_my_open_tasks_by_when_they_fall_due(users, organizations, client_as, count_queries):
    today = date.today()
    overdue = _task(users, organizations, today - timedelta(days=3), "Overdue one")
    due_today = _task(users, organizations, today, "Due today")
    this_week = _task(users, organizations, today + timedelta(days=6), "Within the week")
    later = _task(users, organizations, today + timedelta(days=40), "Much later")
    undated = _task(users, organizations, None, "Whenever")
    _task(users, organizations, today, "Done already", status="complete")
    _task(users, organizations, today, "Someone else's", assignee="viewer")
    _task(users, organizations, today, "An activity", work_type="activity")
    client = client_as("moa_staff")
    with count_queries() as q:
        html = client.get("/tasks").get_data(as_text=True)
    for title in (overdue.title, due_today.title, this_week.title, later.title, undated.title):
        assert title in html
    for title in ("Done already", "Someone else's", "An activity"):
        assert title not in html
    assert _order(html, _heading("Overdue", 1), "Overdue one", _heading("Today", 1), "Due today", _heading("This week", 1), "Within the week",
                  _heading("Later", 1), "Much later", _heading("No due date", 1), "Whenever")
    assert q.count <= 5  # the user, the count and the page of tasks, the PPA filter's options (+ the sign-in check)
    for n in range(5):
        _task(users, organizations, today + timedelta(days=n), f"More {n}")
    with count_queries() as more:
        client.get("/tasks")
    assert more.count == q.count


def test_filters_and_sort_live_in_the_url_and_nonsense_is_ignored(users, organizations, client_as):
    today = date.today()
    _task(users, organizations, today + timedelta(days=9), "Critical later", priority="critical")
    _task(users, organizations, today + timedelta(days=1), "Low soon", priority="low")
    _task(users, organizations, today, "Finished", status="complete")
    client = client_as("moa_staff")
    html = client.get("/tasks?priority=critical", headers=HX).get_data(as_text=True)
    assert "Critical later" in html and "Low soon" not in html and "<html" not in html
    html = client.get("/tasks?sort=priority").get_data(as_text=True)
    assert _order(html, "Critical later", "Low soon")
    assert "Finished" in client.get("/tasks?status=completed").get_data(as_text=True)
    for query in ("priority=%27%20OR%201%3D1", "status=nonsense", "sort=drop", "ppa=-1", "ppa=99999999999999999999", "view=x"):
        response = client.get(f"/tasks?{query}")
        assert response.status_code == 200, query
    assert "No tasks match." in client.get("/tasks?priority=urgent").get_data(as_text=True)


def test_the_board_shows_columns_by_status_with_what_was_done_this_week(users, organizations, client_as):
    today = date.today()
    _task(users, organizations, today, "Waiting")
    _task(users, organizations, today, "Going", status="start")
    _task(users, organizations, today, "Stuck", status="block")
    done = _task(users, organizations, today, "Done this week", status="complete")
    old = _task(users, organizations, today, "Done long ago", status="complete")
    db.session.execute(WorkItem.__table__.update().where(WorkItem.id == old.id)
                       .values(completed_at=done.completed_at - timedelta(days=30)))
    db.session.commit()
    html = client_as("moa_staff").get("/tasks?view=board").get_data(as_text=True)
    assert _order(html, _heading("Not started", 1), "Waiting", _heading("In progress", 1), "Going", _heading("Blocked", 1), "Stuck",
                  _heading("Completed", 1), "Done this week")
    assert "Done long ago" not in html
    assert _heading("At risk", 0) in html


def test_completing_a_task_from_the_list_rolls_up_to_its_parent(users, organizations, signed_in):
    activity = workitems.create_work_item(None, users["oobc_staff"], title="Outreach", work_type="activity",
                                          organization_id=organizations["MSSD"].id)
    first = _task(users, organizations, date.today(), "Book the venue", parent=activity)
    _task(users, organizations, date.today(), "Print the forms", parent=activity)
    client = signed_in("moa_staff")
    response = client.post(f"/tasks/{first.id}/complete", data={"version": first.version}, headers=HX)
    assert response.status_code == 200
    assert "Book the venue" not in response.get_data(as_text=True)  # no longer open
    assert "completed" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(WorkItem, first.id).status == "completed"
    assert db.session.get(WorkItem, activity.id).progress == 50
    board = client.get("/tasks?view=board").get_data(as_text=True)
    assert "Book the venue" in board  # done this week


def test_a_colleagues_change_first_answers_409_and_changes_nothing(users, organizations, signed_in):
    task = _task(users, organizations, date.today(), "Shared work")
    stale = task.version
    fire(task, "start", users["oobc_staff"])
    db.session.commit()
    client = signed_in("moa_staff")
    response = client.post(f"/tasks/{task.id}/start", data={"version": stale}, headers=HX)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Shared work" in html  # the fresh list, with what happened
    db.session.expire_all()
    assert db.session.get(WorkItem, task.id).status == "in_progress"
    plain = client.post(f"/tasks/{task.id}/start", data={"version": stale})
    assert plain.status_code == 409


def test_quick_actions_refuse_what_they_should(users, organizations, signed_in):
    task = _task(users, organizations, date.today(), "Mine")
    activity = _task(users, organizations, date.today(), "Not a task", work_type="activity")
    client = signed_in("moa_staff")
    assert client.post(f"/tasks/{task.id}/cancel", data={"version": task.version}, headers=HX).status_code == 422
    assert client.post(f"/tasks/{activity.id}/start", data={"version": activity.version},
                       headers=HX).status_code == 422
    assert client.post("/tasks/99999999/start", data={"version": 1}, headers=HX).status_code == 404
    assert signed_in("viewer").post(f"/tasks/{task.id}/start", data={"version": task.version},
                                    headers=HX).status_code == 403
    response = client.post(f"/tasks/{task.id}/start", data={"version": task.version})
    assert response.status_code == 303 and response.headers["Location"].startswith("/tasks")
    db.session.expire_all()
    assert db.session.get(WorkItem, task.id).status == "in_progress"


def test_a_long_list_comes_in_pages_in_a_constant_number_of_queries(users, organizations, client_as, count_queries,
                                                                    monkeypatch):
    from obcms.tasks import queries

    monkeypatch.setattr(queries, "PER_PAGE", 3)
    monkeypatch.setattr(queries.assigned_tasks, "__defaults__", (queries.Filters(), False, 1, 3))
    today = date.today()
    for n in range(7):
        _task(users, organizations, today + timedelta(days=n), f"Paged {n}")
    client = client_as("moa_staff")
    with count_queries() as q:
        first = client.get("/tasks").get_data(as_text=True)
    assert "Paged 0" in first and "Paged 2" in first and "Paged 3" not in first
    assert "1–3 of 7" in first and 'rel="next"' in first
    last = client.get("/tasks?page=3", headers=HX).get_data(as_text=True)
    assert "Paged 6" in last and "Paged 5" not in last and "<html" not in last
    assert client.get("/tasks?page=99").status_code == 200  # past the end: the last page
    assert q.count <= 5
