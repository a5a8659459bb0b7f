"""The tree pages through the test client: lazy rows, open state, inline add/edit/move/delete with their
out-of-band roll-ups, 409/422 inline, scoping, and query counts that do not grow with the tree."""
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.htmx import TREE_CHANGED
from obcms.workitems import outline, services
from obcms.workitems.models import WorkItem
from obcms.workitems.outline import EXPAND_ALL_LIMIT

HX = {"HX-Request": "true"}


def build(actor, organization, fanout=(2, 2), budget="1000.00", title="Road project"):
    """A project with fanout[0] activities, each with fanout[1] tasks (and fanout[2] subtasks each …).
    The project holds `budget`; its children hold nothing, so allocations never get in the way."""
    types = ("activity", "task", "subtask", "subtask")

    def level(depth, prefix):
        if depth >= len(fanout):
            return []
        return [{"title": f"{prefix}{i + 1}", "work_type": types[depth],
                 "children": level(depth + 1, f"{prefix}{i + 1}.")} for i in range(fanout[depth])]

    ids = services.build_tree([{"title": title, "work_type": "project", "allocated_budget": Decimal(budget),
                                "children": level(0, "A")}], actor, organization_id=organization.id)
    db.session.flush()
    return db.session.get(WorkItem, ids[0])


def item(title):
    db.session.expire_all()
    return db.session.scalar(sa.select(WorkItem).where(WorkItem.title == title).order_by(WorkItem.id).limit(1))


@pytest.fixture
def staff(users):
    return users["moa_staff"]


@pytest.fixture
def road(staff, organizations):
    """Road project (₱1,000) → A1 (A1.1, A1.2), A2 (A2.1, A2.2), of MSSD."""
    return build(staff, organizations["MSSD"])


def row_ids(html):
    return [int(i) for i in re.findall(r'<tr id="wi-(\d+)" class="wi-row"', html)]


def post(client, token, url, data, **headers):
    return client.post(url, data={"csrf_token": token, **data}, headers={**HX, **headers})


# ------------------------------------------------------------------------------------------------- reading
def test_the_tree_page_shows_the_root_and_its_children(client_as, road):
    response = client_as("moa_staff").get(f"/work-items/{road.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert row_ids(html) == [road.id, item("A1").id, item("A2").id]
    assert 'role="treegrid"' in html and 'aria-level="2"' in html and 'aria-setsize="2"' in html
    assert f'id="wi-stats-{road.id}"' in html and "₱ 1,000.00" in html
    assert "Add item" in html and "Expand all" in html
    assert 'href="/static/js/tree.js' in html or "js/tree.js" in html


def test_children_fragment_is_lazy(client_as, road):
    a1 = item("A1")
    response = client_as("moa_staff").get(f"/work-items/{a1.id}/children", headers=HX)
    html = response.get_data(as_text=True)
    assert row_ids(html) == [item("A1.1").id, item("A1.2").id]
    assert json.loads(response.headers["X-Tree"]) == {"children_of": a1.id}
    assert "<html" not in html


def test_open_nodes_from_the_url_are_rendered(client_as, road):
    a2 = item("A2")
    html = client_as("moa_staff").get(f"/work-items/{road.id}?open={a2.id},999999,junk").get_data(as_text=True)
    assert row_ids(html) == [road.id, item("A1").id, a2.id, item("A2.1").id, item("A2.2").id]
    assert f'id="wi-{a2.id}" class="wi-row" data-id="{a2.id}" data-level="2" aria-level="2"' in html


def test_an_open_node_under_a_closed_one_stays_hidden(client_as, staff, organizations):
    root = build(staff, organizations["MSSD"], fanout=(1, 1, 1), title="Deep")
    html = client_as("moa_staff").get(f"/work-items/{root.id}?open={item('A1.1').id}").get_data(as_text=True)
    assert row_ids(html) == [root.id, item("A1").id]


def test_htmx_children_request_reads_open_state_from_the_current_url(client_as, road):
    a1 = item("A1")
    response = client_as("moa_staff").get(f"/work-items/{road.id}/children", headers={
        **HX, "HX-Current-URL": f"http://localhost/work-items/{road.id}?open={a1.id}"})
    assert row_ids(response.get_data(as_text=True)) == [a1.id, item("A2").id]  # only the direct children


def test_a_node_url_opens_its_ancestors_and_fills_the_panel(client_as, road):
    task = item("A2.1")
    html = client_as("moa_staff").get(f"/work-items/{task.id}").get_data(as_text=True)
    assert task.id in row_ids(html)
    assert 'aria-label="Breadcrumb of A2.1"' in html and ">Road project</a>" in html


def test_detail_panel_fragment(client_as, road):
    task = item("A1.2")
    response = client_as("moa_staff").get(f"/work-items/{task.id}", headers={**HX, "HX-Target": "wi-panel"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'class="wi-detail"' in html and ">A1</a>" in html and ">Road project</a>" in html


def test_expand_all_renders_the_whole_small_tree(client_as, road):
    html = client_as("moa_staff").get(f"/work-items/{road.id}/all", headers=HX).get_data(as_text=True)
    assert len(row_ids(html)) == 7


def test_expand_all_is_refused_for_big_trees(client_as, staff, organizations):
    root = build(staff, organizations["MSSD"], fanout=(7, 7, 6), title="Big")
    assert (7 + 7 * 7 + 7 * 7 * 6 + 1) > EXPAND_ALL_LIMIT
    client = client_as("moa_staff")
    assert "disabled" in client.get(f"/work-items/{root.id}").get_data(as_text=True).split("Expand all")[0][-80:]
    assert client.get(f"/work-items/{root.id}/all", headers=HX).status_code == 422


def test_the_list_shows_the_trees_in_scope_and_a_new_project_form(client_as, road, users, organizations):
    build(users["other_moa_staff"], organizations["MOH"], title="Clinic project")
    html = client_as("moa_staff").get("/work-items/").get_data(as_text=True)
    assert "Road project" in html and "Clinic project" not in html and "New project" in html
    html = client_as("viewer").get("/work-items/").get_data(as_text=True)
    assert "Road project" in html and "New project" not in html


def test_create_a_project(client_as, csrf_token, organizations):
    client = client_as("moa_staff")
    token = csrf_token(client)
    response = client.post("/work-items/", data={
        "csrf_token": token, "project-title": "Water project", "project-organization_id": organizations["MSSD"].id,
        "project-priority": "high", "project-allocated_budget": "5000", "project-start_date": "2026-01-05",
        "project-due_date": "2026-12-20"})
    assert response.status_code == 303
    root = item("Water project")
    assert response.headers["Location"].endswith(f"/work-items/{root.id}")
    assert (root.work_type, root.allocated_budget, root.organization_id) == (
        "project", Decimal("5000.00"), organizations["MSSD"].id)


def test_moa_staff_cannot_start_a_tree_for_another_organization(client_as, csrf_token, organizations):
    client = client_as("moa_staff")
    response = client.post("/work-items/", data={
        "csrf_token": csrf_token(client), "project-title": "Elsewhere",
        "project-organization_id": organizations["MOH"].id})
    assert response.status_code == 422 and item("Elsewhere") is None


# ------------------------------------------------------------------------------------------------- add
def test_add_a_child_inline_with_roll_ups(client_as, csrf_token, road):
    client = client_as("moa_staff")
    a1 = item("A1")
    form = client.get(f"/work-items/{a1.id}/new", headers=HX).get_data(as_text=True)
    assert f'id="wi-{a1.id}-new"' in form
    assert re.findall(r'<option value="(\w+)"', form.split("Type")[1].split("</select>")[0]) == [
        "sub_activity", "task", "subtask"]
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/children", {
        f"n{a1.id}-title": "Survey", f"n{a1.id}-work_type": "task", f"n{a1.id}-priority": "high",
        f"n{a1.id}-allocated_budget": "0"}, **{"HX-Current-URL": f"http://localhost/work-items/{road.id}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    survey = item("Survey")
    assert survey.parent_id == a1.id and survey.priority == "high"
    assert row_ids(html) == [item("A1.1").id, item("A1.2").id, survey.id]  # the rows shown under A1
    assert json.loads(response.headers["X-Tree"]) == {"children_of": a1.id}
    for node in (a1, road):  # the roll-up cells of the parent and every ancestor, out of band
        assert f'id="wi-{node.id}-progress" class="wi-progress" hx-swap-oob="true"' in html
        assert f'id="wi-{node.id}-unallocated"' in html
    assert f'id="wi-stats-{road.id}" class="cards wi-stats" hx-swap-oob="true"' in html
    assert "obcms:toast" in response.headers["HX-Trigger"]
    assert TREE_CHANGED in json.loads(response.headers["HX-Trigger"])  # a PPA page's header reloads


def test_only_allowed_types_and_over_allocation_are_refused_inline(client_as, csrf_token, road):
    client = client_as("moa_staff")
    token = csrf_token(client)
    task = item("A1.1")
    response = post(client, token, f"/work-items/{task.id}/children", {
        f"n{task.id}-title": "Wrong", f"n{task.id}-work_type": "activity"})
    assert response.status_code == 422
    assert "cannot be placed under" in response.get_data(as_text=True) and item("Wrong") is None
    response = post(client, token, f"/work-items/{road.id}/children", {
        f"n{road.id}-title": "Too rich", f"n{road.id}-work_type": "activity", f"n{road.id}-allocated_budget": "1200"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "₱ 200.00 more than" in html
    assert f'id="wi-{road.id}-new" class="wi-form-row"' in html and 'value="Too rich"' in html
    assert item("Too rich") is None


def test_every_error_of_a_child_form_shows_at_once(client_as, csrf_token, road):
    """A date that is no date (the form's) and an amount that is too large (the service's) in one answer."""
    client = client_as("moa_staff")
    response = post(client, csrf_token(client), f"/work-items/{road.id}/children", {
        f"n{road.id}-title": "Both wrong", f"n{road.id}-work_type": "activity",
        f"n{road.id}-start_date": "31/31/2026", f"n{road.id}-allocated_budget": "1200"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "₱ 200.00 more than" in html and "A date such as 2026-11-26." in html and "31/31/2026" in html
    assert item("Both wrong") is None


# ------------------------------------------------------------------------------------------------- edit
def edit_data(client, node, **changes):
    html = client.get(f"/work-items/{node.id}/edit", headers=HX).get_data(as_text=True)
    version = re.search(rf'name="e{node.id}-version" type="hidden" value="(\d+)"', html).group(1)
    data = {f"e{node.id}-version": version, f"e{node.id}-title": node.title, f"e{node.id}-priority": node.priority,
            f"e{node.id}-progress": str(node.progress), f"e{node.id}-allocated_budget": f"{node.allocated_budget:.2f}"}
    data.update({f"e{node.id}-{k}": v for k, v in changes.items()})
    return data


def test_edit_progress_of_a_leaf_rolls_up_out_of_band(client_as, csrf_token, road):
    client = client_as("moa_staff")
    leaf, a1 = item("A1.1"), item("A1")
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/edit",
                    edit_data(client, leaf, progress="80", title="A1.1 surveyed"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert row_ids(html) == [leaf.id] and "A1.1 surveyed" in html
    assert (item("A1").progress, item("Road project").progress) == (40, 20)
    assert re.search(rf'id="wi-{a1.id}-progress"[^>]*hx-swap-oob="true">.*?40 %', html)
    assert re.search(rf'id="wi-{road.id}-progress"[^>]*hx-swap-oob="true">.*?20 %', html)
    assert re.search(rf'id="wi-stats-{road.id}"[^>]*hx-swap-oob="true"', html)
    assert TREE_CHANGED in json.loads(response.headers["HX-Trigger"])


def test_edit_status_goes_through_the_workflow(client_as, csrf_token, road):
    client = client_as("moa_staff")
    leaf = item("A2.2")
    form = client.get(f"/work-items/{leaf.id}/edit", headers=HX).get_data(as_text=True)
    assert '<option value="start">' in form and '<option value="complete">' in form
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/edit", edit_data(client, leaf, transition="complete"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert item("A2.2").status == "completed" and item("A2.2").completed_at is not None
    assert item("A2").progress == 50


def test_edit_allocations_and_assignees(client_as, csrf_token, road, users):
    client = client_as("moa_staff")
    a1 = item("A1")
    data = edit_data(client, a1, allocated_budget="300")
    data[f"e{a1.id}-assignees"] = [str(users["moa_staff"].id), str(users["oobc_staff"].id)]
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/edit", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert {u.username for u in item("A1").assignees} == {"moa_staff", "oobc_staff"}
    assert re.search(rf'id="wi-{road.id}-unallocated"[^>]*>₱ 700.00<', html)
    assert "Moa Staff" in html and "Oobc Staff" in html


def test_people_of_other_organizations_cannot_be_assigned(client_as, csrf_token, road, users):
    client = client_as("moa_staff")
    a1 = item("A1")
    form = client.get(f"/work-items/{a1.id}/edit", headers=HX).get_data(as_text=True)
    assert f'value="{users["other_moa_staff"].id}"' not in form
    data = edit_data(client, a1)
    data[f"e{a1.id}-assignees"] = [str(users["other_moa_staff"].id)]
    assert post(client, csrf_token(client), f"/work-items/{a1.id}/edit", data).status_code == 422
    assert item("A1").assignees == []


def test_stale_edit_is_a_409_inline_and_changes_nothing(client_as, csrf_token, road, staff):
    client = client_as("moa_staff")
    leaf = item("A1.2")
    data = edit_data(client, leaf, title="Mine")
    services.update_work_item(leaf, leaf.version, staff, title="Theirs")
    db.session.flush()
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/edit", data,
                    **{"HX-Target": f"wi-{leaf.id}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone changed this first" in html and f'id="wi-{leaf.id}" class="wi-form-row"' in html
    assert "HX-Retarget" not in response.headers
    assert item("Theirs").id == leaf.id and item("Mine") is None


def test_over_allocation_on_edit_is_a_422_inline(client_as, csrf_token, road):
    client = client_as("moa_staff")
    a1 = item("A1")
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/edit", edit_data(client, a1, allocated_budget="1000.01"))
    assert response.status_code == 422 and "₱ 0.01 more than" in response.get_data(as_text=True)
    assert item("A1").allocated_budget == Decimal("0.00")


# ------------------------------------------------------------------------------------------------- move
def move_version(client, node):
    html = client.get(f"/work-items/{node.id}/move", headers=HX).get_data(as_text=True)
    return re.search(rf'name="m{node.id}-version" type="hidden" value="(\d+)"', html).group(1), html


def test_move_targets_are_only_valid_places(client_as, road, staff, organizations, users):
    build(users["other_moa_staff"], organizations["MOH"], title="Clinic project")
    build(staff, organizations["MSSD"], title="School project")
    client = client_as("moa_staff")
    a1 = item("A1")
    _, html = move_version(client, a1)
    offered = {int(i) for i in re.findall(rf'name="m{a1.id}-parent" value="(\d+)"', html)}
    assert offered == {road.id, item("School project").id}  # projects only; not the other MOA's tree
    task = item("A1.1")
    html = client.get(f"/work-items/{task.id}/move-targets?m{task.id}-q=A2", headers=HX).get_data(as_text=True)
    offered = {int(i) for i in re.findall(rf'name="m{task.id}-parent" value="(\d+)"', html)}
    a2s = set(db.session.scalars(sa.select(WorkItem.id).where(
        WorkItem.title == "A2", WorkItem.organization_id == organizations["MSSD"].id)))
    assert offered == a2s and len(a2s) == 2  # A2 of both MSSD trees (activities may hold tasks)


def test_move_a_subtree_and_roll_up_both_ends(client_as, csrf_token, road, staff):
    client = client_as("moa_staff")
    leaf = item("A1.1")
    services.update_work_item(leaf, leaf.version, staff, progress=100)
    db.session.flush()
    a1, a2 = item("A1"), item("A2")
    assert (a1.progress, a2.progress) == (50, 0)
    version, _ = move_version(client, leaf)
    positions = client.get(f"/work-items/{leaf.id}/move-positions?m{leaf.id}-parent={a2.id}", headers=HX)
    assert f'<option value="{item("A2.1").id}">Before “A2.1”</option>' in positions.get_data(as_text=True)
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/move", {
        f"m{leaf.id}-version": version, f"m{leaf.id}-parent": str(a2.id), f"m{leaf.id}-before": str(item("A2.1").id)},
        **{"HX-Current-URL": f"http://localhost/work-items/{road.id}?open={a1.id}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert json.loads(response.headers["X-Tree"]) == {"remove": leaf.id, "children_of": a2.id, "if_expanded": True}
    assert TREE_CHANGED in json.loads(response.headers["HX-Trigger"])
    assert row_ids(html) == [leaf.id, item("A2.1").id, item("A2.2").id]
    assert (item("A1").progress, item("A2").progress) == (0, 33)
    for node in (a1, a2, road):
        assert f'id="wi-{node.id}-progress" class="wi-progress" hx-swap-oob="true"' in html


def test_reorder_up_and_down(client_as, csrf_token, road):
    client = client_as("moa_staff")
    second = item("A2")
    version, _ = move_version(client, second)
    response = post(client, csrf_token(client), f"/work-items/{second.id}/reorder",
                    {f"m{second.id}-version": version, "direction": "up"})
    assert response.status_code == 200
    assert [k.title for k in sorted(item("Road project").__class__.query.filter_by(parent_id=road.id),
                                    key=lambda k: k.lft)] == ["A2", "A1"]
    version, _ = move_version(client, item("A2"))
    response = post(client, csrf_token(client), f"/work-items/{second.id}/reorder",
                    {f"m{second.id}-version": version, "direction": "up"})
    assert response.status_code == 422 and "already the first" in response.get_data(as_text=True)


def test_move_under_the_wrong_type_is_a_422_and_changes_nothing(client_as, csrf_token, road):
    client = client_as("moa_staff")
    a1, task = item("A1"), item("A2.1")
    version, _ = move_version(client, a1)
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/move",
                    {f"m{a1.id}-version": version, f"m{a1.id}-parent": str(task.id)})
    assert response.status_code == 422 and "cannot be placed under" in response.get_data(as_text=True)
    assert item("A1").parent_id == road.id


def test_stale_move_is_a_409(client_as, csrf_token, road, staff):
    client = client_as("moa_staff")
    a1 = item("A1")
    version, _ = move_version(client, a1)
    services.update_work_item(a1, a1.version, staff, title="A1 renamed")
    db.session.flush()
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/move",
                    {f"m{a1.id}-version": version, f"m{a1.id}-parent": "root"})
    assert response.status_code == 409 and item("A1 renamed").parent_id == road.id


# ------------------------------------------------------------------------------------------------- delete
def test_delete_asks_with_the_subtree_size_then_deletes(client_as, csrf_token, road):
    client = client_as("moa_staff")
    a1 = item("A1")
    html = client.get(f"/work-items/{a1.id}/delete", headers=HX).get_data(as_text=True)
    assert "<dialog" in html and "Delete 3 items" in html
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/delete", {"version": version})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert json.loads(response.headers["X-Tree"]) == {"remove": a1.id}
    assert item("A1") is None and item("A1.1") is None
    assert f'id="wi-{road.id}-toggle" class="wi-toggle" hx-swap-oob="true"' in body
    assert f'id="wi-stats-{road.id}"' in body and "and 2 items under it" in response.headers["HX-Trigger"]
    assert TREE_CHANGED in json.loads(response.headers["HX-Trigger"])


def test_stale_delete_is_a_409_shown_under_the_row(client_as, csrf_token, road, staff):
    client = client_as("moa_staff")
    a1 = item("A1")
    seen = a1.version
    services.update_work_item(a1, seen, staff, title="A1 renamed")
    db.session.flush()
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/delete", {"version": str(seen)})
    assert response.status_code == 409
    assert "A1 renamed" in response.get_data(as_text=True)  # the 409 names what changed
    assert response.headers["HX-Retarget"] == f"#wi-{a1.id}" and response.headers["HX-Reswap"] == "afterend"
    assert 'class="wi-error-row"' in response.get_data(as_text=True) and item("A1 renamed") is not None


def test_deleting_the_root_goes_back_to_the_list(client_as, csrf_token, road):
    client = client_as("moa_staff")
    response = post(client, csrf_token(client), f"/work-items/{road.id}/delete", {"version": str(item("Road project").version)})
    assert response.headers["HX-Redirect"] == "/work-items/" and item("Road project") is None


# ------------------------------------------------------------------------------------------------- scope
@pytest.mark.parametrize("path", ["", "/children", "/all", "/row", "/edit", "/new", "/move", "/delete"])
def test_other_organizations_trees_are_not_found(client_as, road, path):
    assert client_as("other_moa_staff").get(f"/work-items/{road.id}{path}", headers=HX).status_code == 404


@pytest.mark.parametrize(("path", "data"), [
    ("/children", {"title": "x"}), ("/edit", {}), ("/move", {}), ("/reorder", {"direction": "up"}), ("/delete", {})])
def test_viewers_read_but_may_not_change(client_as, csrf_token, road, path, data):
    client = client_as("viewer")
    html = client.get(f"/work-items/{road.id}").get_data(as_text=True)
    assert "Road project" in html and "Add item" not in html and "Actions for" not in html
    response = post(client, csrf_token(client), f"/work-items/{item('A1').id}{path}", data)
    assert response.status_code == 403
    assert item("A1").title == "A1"


def test_other_moa_staff_may_not_change_either(client_as, csrf_token, road):
    client = client_as("other_moa_staff")
    response = post(client, csrf_token(client), f"/work-items/{item('A1').id}/delete", {"version": "1"})
    assert response.status_code == 404 and item("A1") is not None


# ------------------------------------------------------------------------------------------------- queries
def _queries(count_queries, client, url, headers=None):
    with count_queries() as q:
        response = client.get(url, headers=headers or {})
    assert response.status_code == 200
    return q.count


def test_the_tree_page_runs_the_same_few_queries_whatever_the_size(client_as, count_queries, staff, organizations):
    small = build(staff, organizations["MSSD"], fanout=(5, 5, 4), title="Small")  # 131 nodes
    big = build(staff, organizations["MSSD"], fanout=(8, 10, 12, 2), title="Big")  # 2,089 nodes
    client = client_as("moa_staff")
    pages = [_queries(count_queries, client, f"/work-items/{root.id}") for root in (small, big)]
    assert pages[0] == pages[1] == 4  # user, root (scoped), shown rows, their assignees
    a1 = {root: db.session.scalar(sa.select(WorkItem.id).where(WorkItem.tree_id == root.id, WorkItem.title == "A1"))
          for root in (small, big)}
    opened = [_queries(count_queries, client, f"/work-items/{root.id}?open={a1[root]}") for root in (small, big)]
    assert opened == pages
    fragments = [_queries(count_queries, client, f"/work-items/{a1[root]}/children", HX) for root in (small, big)]
    assert fragments[0] == fragments[1] == 4  # user, node (scoped), rows, assignees


def test_forms_work_as_plain_pages_without_script(client_as, csrf_token, road):
    client = client_as("moa_staff")
    a1 = item("A1")
    for path in ("edit", "new", "move", "delete"):
        response = client.get(f"/work-items/{a1.id}/{path}")
        assert response.status_code == 200 and "<html" in response.get_data(as_text=True), path
    data = edit_data(client, a1, title="A1 plain")
    response = client.post(f"/work-items/{a1.id}/edit", data={"csrf_token": csrf_token(client), **data})
    assert response.status_code == 303 and item("A1 plain") is not None
    response = client.get(f"/work-items/{a1.id}/children")
    assert response.status_code == 302 and f"open={a1.id}" in response.headers["Location"]


def test_move_targets_list_its_own_tree_first_then_the_others_in_tree_order(road, staff, organizations):
    """Each part walks the (tree_id, lft) index and stops at the limit; together: the item's own tree in tree
    order, then the other trees by id, each in tree order."""
    others = [build(staff, organizations["MSSD"], title=f"Tree {n}") for n in range(2)]
    task = item("A1.1")
    places = outline.move_targets(task, staff, limit=50)
    expected = [road.id, item("A1").id, item("A2").id]
    for tree_root in sorted(others, key=lambda root: root.id):
        expected += list(db.session.scalars(
            sa.select(WorkItem.id).where(WorkItem.tree_id == tree_root.id, WorkItem.work_type != "task")
            .order_by(WorkItem.lft)))
    assert [p.id for p in places] == expected
    assert {p.tree_title for p in places[3:]} == {"Tree 0", "Tree 1"}
    assert [p.id for p in outline.move_targets(task, staff, limit=4)] == expected[:4]
    assert [p.id for p in outline.move_targets(task, staff, limit=2)] == expected[:2]
