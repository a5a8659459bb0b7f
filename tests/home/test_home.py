"""Home: lazy blocks — the approval queue of my role, my tasks due soon or overdue, unread alerts."""
from datetime import date, timedelta

from obcms.extensions import db
from obcms.notifications import notify
from obcms.ppas.queue import approval_queue, waiting_states
from obcms.workflow import fire
from obcms.workitems import services as workitems

HX = {"HX-Request": "true"}



def test_waiting_states_follow_the_machine():
    assert waiting_states("mfbm_analyst") == ("budget_review", "technical_review")
    assert waiting_states("bpda_planner") == ("stakeholder_consultation",)
    assert waiting_states("oobc_executive") == ("approved", "executive_approval")
    assert waiting_states("admin") == ("approved",)
    assert waiting_states("moa_staff") == ("rejected",)
    assert waiting_states("viewer") == ()


def test_the_page_itself_loads_its_blocks_lazily(client_as, count_queries):
    client = client_as("mfbm_analyst")
    with count_queries() as q:
        html = client.get("/").get_data(as_text=True)
    for url in ("/home/tasks", "/home/approvals", "/home/alerts"):
        assert f'hx-get="{url}" hx-trigger="load"' in html
    assert q.count <= 1  # the signed-in user


def test_approval_queue_shows_what_waits_for_my_role_longest_first(ready_ppa, users, organizations):
    first = ready_ppa(title="First in")
    fire(first, "submit", users["moa_staff"])
    second = ready_ppa(title="Second in")
    fire(second, "submit", users["oobc_staff"])
    fire(second, "pass_technical_review", users["mfbm_analyst"])
    ready_ppa(title="Still a draft")
    consult = ready_ppa(title="In consultation", approval_status="stakeholder_consultation")
    assert [p.title for p, _ in approval_queue(users["mfbm_analyst"])] == ["First in", "Second in"]
    assert [p.id for p, _ in approval_queue(users["bpda_planner"])] == [consult.id]
    assert approval_queue(users["viewer"]) == []
    entered = dict((p.id, at) for p, at in approval_queue(users["mfbm_analyst"]))
    assert entered[first.id] is not None


def test_approval_queue_is_scoped_and_leaves_out_my_own_submissions(ready_ppa, users, organizations):
    rejected_here = ready_ppa(title="Ours", approval_status="rejected")
    ready_ppa(title="Theirs", approval_status="rejected", implementing_moa_id=organizations["MOH"].id)
    assert [p.id for p, _ in approval_queue(users["moa_staff"])] == [rejected_here.id]
    ppa = ready_ppa()
    staff = users["oobc_staff"]
    fire(ppa, "submit", staff)
    staff.role = "mfbm_analyst"
    db.session.flush()
    assert ppa.id not in [p.id for p, _ in approval_queue(staff)]
    assert ppa.id in [p.id for p, _ in approval_queue(users["mfbm_analyst"])]


def test_approval_block_runs_a_constant_number_of_queries(ready_ppa, client_as, users, count_queries):
    client = client_as("mfbm_analyst")
    ppa = ready_ppa(title="Only one")
    fire(ppa, "submit", users["moa_staff"])
    with count_queries() as one:
        html = client.get("/home/approvals", headers=HX).get_data(as_text=True)
    assert "Only one" in html and f"/ppas/{ppa.id}/approval" in html and "waiting since" in html
    for n in range(5):
        fire(ready_ppa(title=f"More {n}"), "submit", users["oobc_staff"])
    with count_queries() as six:
        html = client.get("/home/approvals", headers=HX).get_data(as_text=True)
    assert html.count("<li>") == 6
    assert one.count == six.count <= 2


def _task(users, organizations, due, status=None, work_type="task", assignee="moa_staff", **fields):
    item = workitems.create_work_item(None, users["oobc_staff"], assignees=[users[assignee]], title=f"Task due {due}",
                                      work_type=work_type, due_date=due, organization_id=organizations["MSSD"].id,
                                      **fields)
    if status:
        fire(item, status, users["oobc_staff"])
    return item


def test_my_tasks_are_open_tasks_assigned_to_me_due_within_a_week_or_overdue(users, organizations, client_as,
                                                                            count_queries):
    today = date.today()
    overdue = _task(users, organizations, today - timedelta(days=3))
    soon = _task(users, organizations, today + timedelta(days=7))
    _task(users, organizations, today + timedelta(days=8))  # not yet
    _task(users, organizations, today, status="complete")  # done
    _task(users, organizations, today, assignee="viewer")  # not mine
    _task(users, organizations, today, work_type="activity")  # not a task
    sub = _task(users, organizations, today + timedelta(days=1), work_type="subtask")
    client = client_as("moa_staff")
    with count_queries() as q:
        html = client.get("/home/tasks", headers=HX).get_data(as_text=True)
    assert [t in html for t in (overdue.title, sub.title, soon.title)] == [True] * 3
    assert html.index(overdue.title) < html.index(sub.title) < html.index(soon.title)
    assert html.count("<li>") == 3 and html.count("overdue</span>") == 1
    assert q.count <= 2


def test_review_tasks_land_in_the_reviewers_tasks(ready_ppa, users, client_as):
    ppa = ready_ppa(title="Needs review")
    fire(ppa, "submit", users["moa_staff"])
    html = client_as("mfbm_analyst").get("/home/tasks", headers=HX).get_data(as_text=True)
    assert "Conduct technical review for: Needs review" in html


def test_alerts_show_my_unread_notifications(users, client_as, count_queries):
    notify([users["viewer"].id], "approval_reminder", "PPA-1 waits 8 days", url="/ppas/1/approval")
    client = client_as("viewer")
    with count_queries() as q:
        html = client.get("/home/alerts", headers=HX).get_data(as_text=True)
    assert "PPA-1 waits 8 days" in html and 'href="/ppas/1/approval"' in html
    assert q.count <= 2
    assert "No alerts." in client_as("moa_staff").get("/home/alerts", headers=HX).get_data(as_text=True)


def test_portfolio_block_counts_what_i_may_see_in_one_query(make_ppa, organizations, client_as, count_queries):
    make_ppa(title="Mine, ongoing", status="ongoing")
    make_ppa(title="Mine, planning")
    make_ppa(title="Another MOA's", implementing_moa_id=organizations["MOH"].id, status="ongoing")
    moa, staff = client_as("moa_staff"), client_as("oobc_staff")
    with count_queries() as q:
        html = moa.get("/home/portfolio", headers=HX).get_data(as_text=True)
    assert q.count <= 2  # the user, the grouped counts
    assert '<span class="stat">2</span> PPAs · ₱ 2,000,000.00' in html
    assert '<span class="stat">3</span> PPAs · ₱ 3,000,000.00' in staff.get("/home/portfolio", headers=HX).get_data(
        as_text=True)
    assert 'hx-get="/home/portfolio"' in moa.get("/").get_data(as_text=True)
