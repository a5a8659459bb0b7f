"""The team view (task.team: admin, OOBC executive and staff): per person of an organization, open tasks,
overdue ones and the load (estimated hours of open tasks due within 14 days, overdue included), counting only
tasks the lead may see, in a constant number of statements; a person's name opens their tasks in the My tasks
list, where the lead's quick actions answer that person's list again."""
import re
from datetime import date, timedelta

import pytest

from obcms.extensions import db
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def _row(html, name):
    """The team table's cells of `name`'s row, as text: [name + role, open, overdue, load]."""
    row = re.search(rf"<tr>\s*<td[^>]*><a [^>]*>{name}</a>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


@pytest.fixture
def loads(task):
    """oobc_staff: overdue (4 h), due in 3 days (5.5 h), due in 20 days (8 h, beyond the load), no estimate, a
    done one and an activity (neither counted); admin: one due today (2 h); moa_staff: one of MSSD (3 h)."""
    today = date.today()
    task(today - timedelta(days=2), "Late report", assignee="oobc_staff", estimated_hours=4)
    task(today + timedelta(days=3), "Soon", assignee="oobc_staff", estimated_hours="5.5")
    task(today + timedelta(days=20), "Later", assignee="oobc_staff", estimated_hours=8)
    task(today + timedelta(days=1), "No estimate", assignee="oobc_staff")
    task(today, "Done", assignee="oobc_staff", status="complete", estimated_hours=40)
    task(today, "An activity", assignee="oobc_staff", work_type="activity", estimated_hours=40)
    task(today, "Admin's", assignee="admin", estimated_hours=2)
    task(today, "MSSD work", assignee="moa_staff", estimated_hours=3)


def test_the_team_shows_open_overdue_and_load_per_person(loads, task, client_as, count_queries):
    client = client_as("oobc_staff")
    with count_queries() as q:
        html = client.get("/tasks/team").get_data(as_text=True)
    assert _row(html, "Oobc Staff") == ["Oobc Staff OOBC staff", "4", "1 overdue", "9.5 h"]
    assert _row(html, "Admin") == ["Admin Administrator", "1", "0", "2.0 h"]
    assert _row(html, "Oobc Executive") == ["Oobc Executive OOBC executive", "0", "0", "0.0 h"]
    assert "Moa Staff" not in html  # another organization's people: pick it
    assert html.index("Oobc Staff") < html.index("Admin") < html.index("Oobc Executive")  # heaviest first
    assert 'style="width: 11%"' in html  # 9.5 h of 80 h
    assert q.count <= 4  # the user, the organizations, the team (+ the sign-in check)

    for n, name in enumerate(("oobc_executive", "admin", "oobc_staff", "oobc_executive")):  # more work, more people
        task(date.today() + timedelta(days=n), f"More {n}", assignee=name, estimated_hours=1)
    with count_queries() as again:
        html = client.get("/tasks/team?organization=", headers=HX).get_data(as_text=True)
    assert _row(html, "Oobc Executive")[1] == "2"
    assert again.count == q.count


def test_another_organization_is_picked_from_the_filter_and_nonsense_is_ignored(loads, client_as, organizations):
    client = client_as("oobc_executive")
    html = client.get(f"/tasks/team?organization={organizations['MSSD'].id}", headers=HX).get_data(as_text=True)
    assert "<html" not in html
    assert _row(html, "Moa Staff") == ["Moa Staff MOA staff", "1", "0", "3.0 h"]
    assert "Viewer" not in html and "Oobc Staff" not in html  # a viewer holds no tasks (and has none)
    for query in ("organization=abc", "organization=-1", "organization=99999999999999999999", "organization=%00"):
        response = client.get(f"/tasks/team?{query}")
        assert response.status_code in (200, 400), query
        if response.status_code == 200:
            assert "Oobc Staff" in response.get_data(as_text=True), query  # back to the lead's own


def test_a_person_with_open_tasks_shows_even_without_a_holding_role(task, client_as, organizations):
    task(date.today(), "Viewer's chore", assignee="viewer", estimated_hours=1)
    html = client_as("admin").get(f"/tasks/team?organization={organizations['MSSD'].id}").get_data(as_text=True)
    assert _row(html, "Viewer") == ["Viewer Viewer", "1", "0", "1.0 h"]


@pytest.mark.parametrize("username", ["moa_staff", "viewer", "mfbm_analyst", "bpda_planner", "other_moa_staff"])
def test_only_oobc_leads_see_the_team(username, client_as, users):
    client = client_as(username)
    assert client.get("/tasks/team").status_code == 403
    assert client.get("/tasks?view=team").status_code in (303, 403)
    own = users["moa_staff"] if username != "other_moa_staff" else users["other_moa_staff"]
    expected = 403 if username in ("mfbm_analyst", "bpda_planner") or own.organization_id == users[username].organization_id else 404
    assert client.get(f"/tasks/team/{own.id}").status_code == expected
    assert "/tasks/team" not in client.get("/tasks").get_data(as_text=True)  # no Team link either


def test_a_persons_tasks_open_in_the_my_tasks_list_and_actions_answer_that_list(loads, signed_in, users, count_queries):
    lead = signed_in("oobc_staff")
    assert lead.get("/tasks?view=team").headers["Location"] == "/tasks/team"
    person = users["moa_staff"]
    with count_queries() as q:
        html = lead.get(f"/tasks/team/{person.id}").get_data(as_text=True)
    assert "Tasks of Moa Staff" in html and "MSSD work" in html and "Late report" not in html
    assert "Snooze the reminder" not in html  # a snooze is the assignee's own
    assert f'name="person" value="{person.id}"' in html
    assert q.count <= 6  # the user, the person, the count and the page of tasks, the PPA filter (+ sign-in)
    item = db.session.query(WorkItem).filter_by(title="MSSD work").one()
    response = lead.post(f"/tasks/{item.id}/start", data={"version": item.version, "person": person.id}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "MSSD work" in html and "in progress" in html and "Late report" not in html  # their list, not mine
    plain = lead.post(f"/tasks/{item.id}/complete", data={"version": item.version + 1, "person": person.id,
                                                          "view": "board"})
    assert plain.status_code == 303 and plain.headers["Location"] == f"/tasks/team/{person.id}?view=board"
    board = lead.get(f"/tasks/team/{person.id}?view=board").get_data(as_text=True)
    assert "MSSD work" in board  # done this week
    assert lead.get("/tasks/team/99999999").status_code == 404
