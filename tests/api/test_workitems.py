"""Work items in the API: a PPA's tree (nested and flat, constant queries), the contract (create → read → stale
update 409 → delete), move, transitions, and the refusals (scope, read-only token, unknown fields)."""
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.extensions import db
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem


@pytest.fixture
def tree(tracked):
    """(ppa, root, [Planning, Implementation, Evaluation]) committed; Implementation holds Phase 1 and 2."""
    db.session.commit()
    return tracked


def body(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_the_tree_nested_and_flat(api, bearer, tree):
    ppa, root, (planning, implementation, evaluation) = tree
    headers = bearer("viewer")
    nested = body(api.get(f"/api/v1/ppas/{ppa.id}/work-items", headers=headers))
    assert nested["execution_project_id"] == root.id and nested["shape"] == "nested"
    [top] = nested["items"]
    assert top["id"] == root.id and [c["title"] for c in top["children"]] == ["Planning", "Implementation", "Evaluation"]
    assert [c["title"] for c in top["children"][1]["children"]] == ["Phase 1", "Phase 2"]
    assert top["allocated_budget"] == "1000000.00" and "lft" not in top
    flat = body(api.get(f"/api/v1/ppas/{ppa.id}/work-items?shape=flat", headers=headers))["items"]
    assert [i["title"] for i in flat] == ["Program", "Planning", "Implementation", "Phase 1", "Phase 2", "Evaluation"]
    assert all("children" not in i for i in flat) and flat[3]["parent_id"] == implementation.id
    assert api.get(f"/api/v1/ppas/{ppa.id}/work-items?shape=round", headers=headers).status_code == 422
    assert api.get(f"/api/v1/ppas/{ppa.id}/work-items", headers=bearer("other_moa_staff")).status_code == 404


def test_each_node_of_the_tree_is_the_work_item_as_its_schema_dumps_it(api, bearer, tree, users):
    """The tree is formatted by hand (for speed): each node, every field set, is what GET /work-items/<id>
    answers (WorkItemSchema's dump), in both shapes."""
    ppa, root, (planning, implementation, evaluation) = tree
    phase = db.session.scalars(sa.select(WorkItem).where(WorkItem.parent_id == implementation.id)
                               .order_by(WorkItem.id)).first()
    phase.description, phase.budget_notes, phase.calendar_color = "Field work", "From the MOOE", "#1f6feb"
    phase.activity_category, phase.estimated_hours = "ppa", Decimal("12.5")
    phase.start_date, phase.due_date = date(2026, 2, 1), date(2026, 3, 1)
    phase.start_time, phase.end_time = time(8, 30), time(17, 0)
    phase.completed_at = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    phase.actual_expenditure = Decimal("1234.5")
    phase.assignees = [users["moa_staff"], users["oobc_staff"]]
    db.session.commit()
    headers = bearer("viewer")
    url = f"/api/v1/ppas/{ppa.id}/work-items"
    flat = body(api.get(f"{url}?shape=flat", headers=headers))["items"]
    nested, pending = [], body(api.get(url, headers=headers))["items"]
    while pending:
        node = pending.pop()
        pending += node.pop("children")
        nested.append(node)
    assert len(flat) == len(nested) == 6
    for node in flat:
        assert node == body(api.get(f"/api/v1/work-items/{node['id']}", headers=headers)), node["title"]
    assert sorted(nested, key=lambda node: node["id"]) == sorted(flat, key=lambda node: node["id"])
    [filled] = [node for node in flat if node["id"] == phase.id]
    assert filled["estimated_hours"] == "12.50" and filled["start_time"] == "08:30:00"
    assert filled["assignee_ids"] == sorted([users["moa_staff"].id, users["oobc_staff"].id])


def test_an_untracked_ppa_has_no_tree(api, bearer, make_ppa):
    ppa = make_ppa()
    db.session.commit()
    assert body(api.get(f"/api/v1/ppas/{ppa.id}/work-items", headers=bearer()))["items"] == []
    refused = api.post(f"/api/v1/ppas/{ppa.id}/work-items", json={"title": "x", "work_type": "activity"},
                       headers=bearer("moa_staff", "write"))
    assert refused.status_code == 422 and "parent_id" in refused.get_json()["errors"]


def test_the_tree_costs_the_same_queries_whatever_its_size(api, bearer, tree, users, count_queries):
    ppa, root, kids = tree
    headers = bearer("moa_staff")
    url = f"/api/v1/ppas/{ppa.id}/work-items"
    api.get(url, headers=headers)
    with count_queries() as small:
        assert len(body(api.get(url, headers=headers))["items"][0]["children"]) == 3
    nodes = [{"title": f"Activity {n}", "work_type": "activity",
              "children": [{"title": f"Task {n}.{m}", "work_type": "task"} for m in range(4)]} for n in range(25)]
    workitem_services.build_tree(nodes, users["oobc_staff"], parent=kids[0])
    db.session.commit()
    with count_queries() as large:
        assert len(body(api.get(f"{url}?shape=flat", headers=headers))["items"]) == 131
    assert small.count == large.count <= 4  # the token's user, the PPA, the rows, their assignees


def test_contract_create_read_stale_update_delete(api, bearer, tree, users, count_queries):
    ppa, root, (planning, implementation, evaluation) = tree
    write = bearer("moa_staff", "write")
    created = api.post(f"/api/v1/ppas/{ppa.id}/work-items", headers=write, json={
        "parent_id": implementation.id, "work_type": "activity", "title": "Phase 3", "start_date": "2026-02-01",
        "due_date": "2026-03-01", "priority": "high"})
    item = body(created, 201)
    assert created.headers["Location"] == f"/api/v1/work-items/{item['id']}" and created.headers["ETag"] == '"1"'
    assert item["parent_id"] == implementation.id and item["ppa_id"] == ppa.id and item["depth"] == 2
    audited = db.session.scalars(sa.select(AuditEntry.actor_label).where(
        AuditEntry.object_type == "work_item", AuditEntry.object_id == item["id"])).all()
    assert audited and set(audited) == {"moa_staff (token:tests write)"}
    url = f"/api/v1/work-items/{item['id']}"
    with count_queries() as read:
        detail = api.get(url, headers=write)
    assert body(detail)["title"] == "Phase 3" and detail.headers["ETag"] == '"1"' and read.count <= 6
    assert api.get(url, headers={**write, "If-None-Match": '"1"'}).status_code == 304
    changed = body(api.patch(url, json={"title": "Phase three", "assignee_ids": [users["moa_staff"].id]},
                             headers={**write, "If-Match": '"1"'}))
    assert changed["title"] == "Phase three" and changed["assignee_ids"] == [users["moa_staff"].id]
    version = changed["version"]
    stale = api.patch(url, json={"priority": "low", "version": 1}, headers=write)
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    problem = stale.get_json()
    assert problem["your_version"] == 1 and problem["current_version"] == version and "title" in problem["changed_fields"]
    assert api.delete(url, headers={**write, "If-Match": '"1"'}).status_code == 409
    gone = body(api.delete(f"{url}?version={version}", headers=write))
    assert gone == {"id": item["id"], "deleted": 1}
    assert api.get(url, headers=write).status_code == 404


def test_create_follows_the_trees_rules(api, bearer, tree, make_tracked_ppa):
    ppa, root, (planning, implementation, evaluation) = tree
    write = bearer("moa_staff", "write")
    url = f"/api/v1/ppas/{ppa.id}/work-items"
    under_root = body(api.post(url, json={"work_type": "sub_project", "title": "Closing"}, headers=write), 201)
    assert under_root["parent_id"] == root.id
    first = body(api.post(url, json={"work_type": "sub_project", "title": "Opening", "before_id": planning.id},
                          headers=write), 201)
    flat = body(api.get(f"{url}?shape=flat", headers=write))["items"]
    assert [i["id"] for i in flat if i["parent_id"] == root.id][:2] == [first["id"], planning.id]
    wrong = api.post(url, json={"work_type": "project", "title": "x", "parent_id": planning.id}, headers=write)
    assert wrong.status_code == 422 and "work_type" in wrong.get_json()["errors"]
    other_ppa, other_root, _ = make_tracked_ppa()
    db.session.commit()
    elsewhere = api.post(url, json={"work_type": "activity", "title": "x", "parent_id": other_root.id}, headers=write)
    assert elsewhere.status_code == 422 and "parent_id" in elsewhere.get_json()["errors"]
    too_much = api.post(url, json={"work_type": "sub_project", "title": "x", "allocated_budget": "2000000"},
                        headers=write)
    assert too_much.status_code == 422


def test_refusals(api, bearer, tree, organizations):
    ppa, root, (planning, implementation, evaluation) = tree
    url = f"/api/v1/work-items/{planning.id}"
    write = bearer("moa_staff", "write")
    read_only = api.patch(url, json={"title": "x", "version": 1}, headers=bearer("moa_staff"))
    assert read_only.status_code == 403 and read_only.mimetype == "application/problem+json"
    assert api.post(f"/api/v1/ppas/{ppa.id}/work-items", json={"title": "x", "work_type": "activity"},
                    headers=bearer("moa_staff")).status_code == 403
    assert api.delete(f"{url}?version=1", headers=bearer("moa_staff")).status_code == 403
    assert api.patch(url, json={"title": "x", "version": 1}, headers=bearer("viewer", "write")).status_code == 403
    unknown = api.patch(url, json={"status": "completed", "version": 1}, headers=write)
    assert unknown.status_code == 422 and unknown.get_json()["errors"]["status"] == ["Unknown field."]
    assert api.post(f"/api/v1/ppas/{ppa.id}/work-items", json={"title": "x", "work_type": "activity", "colour": 1},
                    headers=write).status_code == 422
    other = bearer("other_moa_staff", "write")
    assert api.get(url, headers=other).status_code == 404
    assert api.patch(url, json={"title": "x", "version": 1}, headers=other).status_code == 404
    assert api.delete(f"{url}?version=1", headers=other).status_code == 404
    assert api.post(f"{url}/move", json={"direction": "up", "version": 1}, headers=other).status_code == 404
    assert api.post(f"{url}/transitions/start", json={"version": 1}, headers=other).status_code == 404
    assert api.post(f"/api/v1/ppas/{ppa.id}/work-items", json={"title": "x", "work_type": "activity"},
                    headers=other).status_code == 404
    assert api.patch(url, data="title=x", headers=write).status_code == 415
    db.session.expire_all()
    assert db.session.get(WorkItem, planning.id).version == planning.version


def test_move_and_reorder(api, bearer, tree):
    ppa, root, (planning, implementation, evaluation) = tree
    write = bearer("moa_staff", "write")
    phase2 = db.session.query(WorkItem).filter_by(title="Phase 2").one()
    moved = body(api.post(f"/api/v1/work-items/{phase2.id}/move", json={"parent_id": planning.id},
                          headers={**write, "If-Match": f'"{phase2.version}"'}))
    assert moved["parent_id"] == planning.id and moved["version"] == phase2.version + 1
    stale = api.post(f"/api/v1/work-items/{phase2.id}/move", json={"parent_id": evaluation.id, "version": phase2.version},
                     headers=write)
    assert stale.status_code == 409
    up = body(api.post(f"/api/v1/work-items/{evaluation.id}/move", json={"direction": "up",
                                                                         "version": evaluation.version}, headers=write))
    flat = body(api.get(f"/api/v1/ppas/{ppa.id}/work-items?shape=flat", headers=write))["items"]
    assert [i["title"] for i in flat if i["parent_id"] == root.id] == ["Planning", "Evaluation", "Implementation"]
    assert up["version"] == evaluation.version + 1
    both = api.post(f"/api/v1/work-items/{evaluation.id}/move",
                    json={"direction": "up", "parent_id": None, "version": up["version"]}, headers=write)
    assert both.status_code == 422
    nowhere = api.post(f"/api/v1/work-items/{evaluation.id}/move", json={"version": up["version"]}, headers=write)
    assert nowhere.status_code == 422 and "parent_id" in nowhere.get_json()["errors"]
    missing = api.post(f"/api/v1/work-items/{evaluation.id}/move", json={"parent_id": 999999, "version": up["version"]},
                       headers=write)
    assert missing.status_code == 422 and "parent_id" in missing.get_json()["errors"]


def test_transitions(api, bearer, tree, count_queries):
    ppa, root, (planning, implementation, evaluation) = tree
    url = f"/api/v1/work-items/{evaluation.id}/transitions"
    with count_queries() as listing:
        options = body(api.get(url, headers=bearer("moa_staff")))
    assert listing.count <= 6
    names = {o["name"]: o for o in options["transitions"]}
    assert names["start"]["allowed"] and options["status"] == "not_started"
    viewer = {o["name"]: o for o in body(api.get(url, headers=bearer("viewer")))["transitions"]}
    assert not viewer["start"]["allowed"] and viewer["start"]["reasons"]
    write = bearer("moa_staff", "write")
    version = evaluation.version
    with count_queries() as firing:  # fire(): lock, re-read, statement, audit, the ancestors' roll-ups, the PPA sync
        fired = body(api.post(f"{url}/start", json={"version": version}, headers=write))
    assert firing.count <= 16
    assert fired["from_state"] == "not_started" and fired["to_state"] == "in_progress"
    assert api.post(f"{url}/start", json={"version": fired["version"]}, headers=write).status_code == 409
    assert api.post(f"{url}/complete", json={"version": evaluation.version}, headers=write).status_code == 409
    assert api.post(f"{url}/no_such", json={"version": 1}, headers=write).status_code == 404
    assert api.post(f"{url}/complete", json={"version": fired["version"]},
                    headers=bearer("viewer", "write")).status_code == 403


def test_writes_cost_the_same_whatever_the_trees_size(api, bearer, tree, users, count_queries):
    """The API adds the token's user, the scope check (twice where the body is checked after it) and the
    assignees to what the tree's write call costs (lock, re-read, statement, audit, roll-ups, PPA sync)."""
    ppa, root, (planning, implementation, evaluation) = tree
    write = bearer("moa_staff", "write")
    url, parent_id, target_id = f"/api/v1/ppas/{ppa.id}/work-items", implementation.id, planning.id
    api.get(url, headers=write)  # the token's first use is recorded once

    def costs():
        counts = {}
        with count_queries() as counted:
            item = body(api.post(url, json={"parent_id": parent_id, "work_type": "activity", "title": "New"},
                                 headers=write), 201)
        counts["create"] = counted.count
        item_url = f"/api/v1/work-items/{item['id']}"
        with count_queries() as counted:
            body(api.patch(item_url, json={"title": "Renamed", "version": 1}, headers=write))
        counts["patch"] = counted.count
        with count_queries() as counted:
            body(api.post(f"{item_url}/move", json={"parent_id": target_id, "version": 2}, headers=write))
        counts["move"] = counted.count
        with count_queries() as counted:
            body(api.delete(f"{item_url}?version=3", headers=write))
        counts["delete"] = counted.count
        return counts

    small = costs()
    nodes = [{"title": f"Activity {n}", "work_type": "activity",
              "children": [{"title": f"Task {n}.{m}", "work_type": "task"} for m in range(4)]} for n in range(25)]
    workitem_services.build_tree(nodes, users["oobc_staff"], parent=evaluation)
    db.session.commit()
    assert costs() == small
    assert small["create"] <= 9 and small["patch"] <= 9 and small["move"] <= 13 and small["delete"] <= 7
