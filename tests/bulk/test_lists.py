"""Bulk operations on the other lists (issue 14): a tree's work items (transition, assign, priority, reschedule,
delete with the subtree — a node under another selected one goes with it), a resource's bookings (approve,
reject, cancel) and the budget alerts (acknowledge, resolve). Each: the dry run in a constant number of
statements, versions checked, one audit entry per item with the operation's id, another organization's ids
read as not found, the bar on the page, and the routes' permissions."""
from datetime import date

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.bulk import services as bulk
from obcms.calendar.models import Booking
from obcms.errors import NotAllowed
from obcms.extensions import db
from obcms.jobqueue import JobRun
from obcms.ppas.variances import BudgetAlert
from obcms.workitems import tree
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def _items(objs):
    return [f"{o.id}:{o.version}" for o in objs]


def _exists(ids):
    return set(db.session.scalars(sa.select(WorkItem.id).where(WorkItem.id.in_(ids))))


def _audited(operation):
    return db.session.execute(sa.select(AuditEntry.object_type, AuditEntry.object_id, AuditEntry.action)
                              .where(AuditEntry.cause.contains(f"bulk {operation}"))).all()


# ------------------------------------------------------------------------------------------------- work items
def test_deleting_a_node_and_its_descendant_says_the_descendant_goes_with_it(project, users):
    root, activities, leaves = project(2, 2)
    chosen = [leaves[0], activities[0], leaves[3]]  # a task of activity 1 listed before activity 1 itself
    found = bulk.plan(users["oobc_staff"], "workitem", "delete", [w.id for w in chosen])
    by_id = {item.id: item for item in found.items}
    assert [item.id for item in found.items] == [activities[0].id, leaves[0].id, leaves[3].id]  # tree order
    assert by_id[activities[0].id].detail == "deleted, with the 2 items under it"
    assert by_id[leaves[0].id].allowed and by_id[leaves[0].id].detail == "goes with “Activity 1” (selected too)"
    assert by_id[leaves[0].id].with_ancestor == activities[0].id
    assert by_id[leaves[3].id].detail == "deleted"
    assert _exists([w.id for w in chosen]) == {w.id for w in chosen}  # a dry run

    everything, kept = [w.id for w in activities + leaves], {activities[1].id, leaves[2].id}
    deleted = {activities[0].id, leaves[3].id}
    result = bulk.apply(users["oobc_staff"], "workitem", "delete", [w.id for w in chosen])
    assert (result["succeeded"], result["failed"], result["rolled_back"]) == (3, 0, False)
    db.session.expire_all()
    assert _exists(everything) == kept
    assert tree.check_integrity(root.id) == []
    audited = {object_id for object_type, object_id, action in _audited(result["operation"]) if action == "delete"}
    assert audited == deleted  # the activity's audit entry names its subtree


def test_a_node_with_posted_money_is_refused_and_all_or_nothing_keeps_everything(project, users):
    root, activities, leaves = project(1, 2)
    table = WorkItem.__table__
    db.session.execute(sa.update(table).where(table.c.id == leaves[1].id).values(obligated=100))
    db.session.commit()
    result = bulk.apply(users["oobc_staff"], "workitem", "delete", [leaves[0].id, leaves[1].id])
    assert result["rolled_back"] and "posted money is never deleted" in result["failures"][leaves[1].id]
    assert _exists([leaves[0].id, leaves[1].id]) == {leaves[0].id, leaves[1].id}
    result = bulk.apply(users["oobc_staff"], "workitem", "delete", [leaves[0].id, leaves[1].id], mode="allowed")
    assert result["succeeded_ids"] == [leaves[0].id]
    db.session.expire_all()
    assert _exists([leaves[0].id, leaves[1].id]) == {leaves[1].id}


def test_any_work_type_takes_priority_reschedule_transition_and_assign(project, users):
    root, activities, leaves = project(2, 1)
    ids = [activities[0].id, leaves[1].id]
    assert bulk.apply(users["moa_staff"], "workitem", "priority", ids, {"priority": "urgent"})["succeeded"] == 2
    result = bulk.apply(users["moa_staff"], "workitem", "reschedule", ids, {"days": "3"})
    assert result["succeeded"] == 2
    assert bulk.apply(users["moa_staff"], "workitem", "transition", [leaves[0].id],
                      {"transition": "start"})["succeeded"] == 1
    assert bulk.apply(users["oobc_staff"], "workitem", "assign", ids, {"to": users["moa_staff"].id})["succeeded"] == 2
    db.session.expire_all()
    assert [(w.priority, w.due_date) for w in (activities[0], leaves[1])] == [("urgent", date(2026, 12, 4))] * 2
    assert leaves[0].status == "in_progress"
    assert {tuple(u.username for u in w.assignees) for w in (activities[0], leaves[1])} == {("moa_staff",)}
    assert {object_id for _, object_id, _ in _audited(result["operation"])} == set(ids)


def test_another_organizations_work_items_and_a_stale_one_are_refused(project, users):
    mine = project(1, 1)[2][0]
    theirs = project(1, 1, organization="MOH")[2][0]
    found = bulk.plan(users["moa_staff"], "workitem", "delete", [mine.id, theirs.id],
                      versions={mine.id: mine.version + 1})
    assert [item.reason for item in found.items][1] == bulk.NOT_FOUND and found.items[1].label == f"#{theirs.id}"
    assert "since you loaded the page" in found.items[0].reason


# ------------------------------------------------------------------------------------------------- bookings
def test_bookings_are_approved_rejected_with_a_comment_and_cancelled(van, users):
    pending = van.book(4)
    approver = users["oobc_executive"]
    found = bulk.plan(approver, "booking", "approve", [b.id for b in pending[:2]])
    assert [item.allowed for item in found.items] == [True, True]
    assert found.items[0].label.startswith("Bulk Van, 08:00–10:00 on 1 Dec 2026")
    assert found.items[0].detail == "pending → approved"
    assert bulk.apply(approver, "booking", "approve", [b.id for b in pending[:2]])["succeeded"] == 2
    with pytest.raises(bulk.ValidationFailed) as refused:
        bulk.plan(approver, "booking", "reject", [pending[2].id], {"comment": " "})
    assert "comment" in refused.value.errors
    result = bulk.apply(approver, "booking", "reject", [pending[2].id], {"comment": "The van is in repair"})
    assert result["succeeded"] == 1
    result = bulk.apply(users["moa_staff"], "booking", "cancel", [pending[0].id, pending[3].id])
    assert result["succeeded"] == 2
    db.session.expire_all()
    assert [b.status for b in pending] == ["cancelled", "approved", "rejected", "cancelled"]
    assert pending[2].decision_comment == "The van is in repair"
    assert {object_id for _, object_id, _ in _audited(result["operation"])} == {pending[0].id, pending[3].id}


def test_whoever_booked_may_not_approve_and_another_organization_sees_nothing(van, users):
    mine, theirs = van.book(1)[0], van.book(1, who="other_moa_staff")[0]
    found = bulk.plan(users["moa_staff"], "booking", "approve", [mine.id, theirs.id])
    assert "You booked this" in found.items[0].reason
    assert found.items[1].reason == bulk.NOT_FOUND and "Field visit" not in found.items[1].label
    assert bulk.plan(users["oobc_executive"], "booking", "approve", [theirs.id]).items[0].allowed  # the approver


# ------------------------------------------------------------------------------------------------- alerts
def test_alerts_are_acknowledged_and_resolved(alerts, users):
    made = alerts(3)
    result = bulk.apply(users["mfbm_analyst"], "alert", "acknowledge", [a.id for a in made[:2]])
    assert result["succeeded"] == 2
    found = bulk.plan(users["mfbm_analyst"], "alert", "acknowledge", [a.id for a in made])
    assert [item.allowed for item in found.items] == [False, False, True]
    assert found.items[2].label == f"Overspending alert of {made[2].ppa.display_code}"
    result = bulk.apply(users["mfbm_analyst"], "alert", "resolve", [a.id for a in made])
    assert result["succeeded"] == 3
    db.session.expire_all()
    assert {a.status for a in made} == {"resolved"} and {a.resolved_by_id for a in made} == {users["mfbm_analyst"].id}
    assert len(_audited(result["operation"])) >= 3


def test_roles_without_the_bulk_permissions_are_refused(users):
    with pytest.raises(NotAllowed):
        bulk.plan(users["moa_staff"], "alert", "resolve", [1])
    with pytest.raises(NotAllowed):
        bulk.plan(users["viewer"], "booking", "cancel", [1])
    with pytest.raises(NotAllowed):
        bulk.plan(users["mfbm_analyst"], "workitem", "delete", [1])


# ------------------------------------------------------------------------------------------------- statements
@pytest.mark.parametrize(("kind", "action", "params", "user"), [
    ("workitem", "delete", {}, "oobc_staff"),
    ("workitem", "priority", {"priority": "high"}, "oobc_staff"),
    ("booking", "approve", {}, "oobc_executive"),
    ("booking", "reject", {"comment": "No"}, "oobc_executive"),
    ("alert", "acknowledge", {}, "mfbm_analyst"),
])
def test_planning_runs_the_same_number_of_statements_for_5_and_50_items(project, van, alerts, users, count_queries,
                                                                        kind, action, params, user):
    counts = []
    for n in (5, 50):
        if kind == "workitem":
            root, activities, leaves = project(n // 5, 4)
            ids = [w.id for w in activities + leaves][:n]
        elif kind == "booking":
            ids = [b.id for b in van.book(n)]
        else:
            ids = [a.id for a in alerts(n)]
        db.session.expire_all()
        seen = {i: 9 for i in ids[:3]}  # some stale (names who changed them)
        with count_queries() as q:
            found = bulk.plan(users[user], kind, action, ids + [10**9], params, versions=seen)
        assert found.total == n + 1 and len(found.refused) == 4
        counts.append(q.count)
    assert counts[0] == counts[1] and counts[0] <= 6, counts


# ------------------------------------------------------------------------------------------------- pages
def test_the_tree_has_row_boxes_and_a_bulk_bar_for_editors(project, client_as):
    root, activities, leaves = project(1, 1)
    html = client_as("oobc_staff").get(f"/work-items/{root.id}").get_data(as_text=True)
    assert 'id="bulk-workitem"' in html and 'data-select-all="bulk-workitem"' in html and 'id="bulk-dialog"' in html
    assert f'value="{activities[0].id}:{activities[0].version}" form="bulk-workitem"' in html
    assert 'name="filter-tree"' in html and "All 3 matching the filter" in html
    rows = client_as("oobc_staff").get(f"/work-items/{activities[0].id}/children", headers=HX).get_data(as_text=True)
    assert f'value="{leaves[0].id}:{leaves[0].version}" form="bulk-workitem"' in rows  # lazily loaded rows too
    viewer = client_as("viewer").get(f"/work-items/{root.id}").get_data(as_text=True)
    assert 'id="bulk-workitem"' not in viewer and 'name="items"' not in viewer


def test_the_tree_deletes_through_the_dialog(project, signed_in):
    root, activities, leaves = project(2, 1)
    everything, kept = [w.id for w in activities + leaves], {activities[1].id}
    client = signed_in("oobc_staff")
    data = {"action": "delete", "items": _items([activities[0], leaves[0], leaves[1]]), "filter-tree": root.id}
    html = client.post("/bulk/workitem/plan", data=data, headers=HX).get_data(as_text=True)
    assert "3</strong> of 3 allowed" in html and "goes with “Activity 1” (selected too)" in html
    assert "for good" in html
    response = client.post("/bulk/workitem/apply", data={**data, "mode": "all"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "3</strong> of 3 done" in html, html
    assert "obcms:bulk-applied" in response.headers["HX-Trigger"]
    assert f'href="/work-items/{root.id}"' in html  # back to the tree
    assert _exists(everything) == kept


def test_all_of_a_tree_and_a_large_delete_as_a_job(project, signed_in, monkeypatch):
    root, activities, leaves = project(2, 2)
    root_id, everything = root.id, [root.id] + [w.id for w in activities + leaves]
    monkeypatch.setattr(bulk, "JOB_THRESHOLD", 3)
    client = signed_in("oobc_staff")
    data = {"action": "delete", "items": _items(activities + leaves), "filter-tree": root_id}
    response = client.post("/bulk/workitem/apply", data=data, headers=HX)
    assert response.status_code == 200 and "6</strong> of 6 done" in response.get_data(as_text=True)
    run = db.session.scalars(sa.select(JobRun).where(JobRun.name == "bulk_apply").order_by(JobRun.id.desc())).first()
    assert run.status == "succeeded" and run.arguments["kind"] == "workitem"
    assert _exists(everything) == {root_id}
    html = client.post("/bulk/workitem/plan", data={"action": "priority", "priority": "low", "all_matching": "1",
                                                    "filter-tree": root_id}, headers=HX).get_data(as_text=True)
    assert "1</strong> of 1 allowed" in html


def test_the_resource_page_and_the_alerts_page_have_the_bar(van, alerts, client_as, signed_in):
    pending = van.book(2)
    html = client_as("oobc_executive").get(f"/calendar/resources/{van.id}?from=2026-12-01").get_data(as_text=True)
    assert 'id="bulk-booking"' in html and f'value="{pending[0].id}:{pending[0].version}"' in html
    assert "matching the filter" not in html and 'name="comment"' in html
    made = alerts(2)
    html = client_as("mfbm_analyst").get("/alerts").get_data(as_text=True)
    assert 'id="bulk-alert"' in html and f'value="{made[0].id}:{made[0].version}" form="bulk-alert"' in html
    client = signed_in("mfbm_analyst")
    response = client.post("/bulk/alert/apply", data={"action": "resolve", "all_matching": "1"}, headers=HX)
    assert response.status_code == 200 and "2</strong> of 2 done" in response.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(BudgetAlert, a.id).status for a in made} == {"resolved"}
    response = signed_in("oobc_executive").post("/bulk/booking/apply", data={
        "action": "reject", "comment": "", "items": _items(pending)}, headers=HX)
    assert response.status_code == 422 and 'id="bulk-comment-error"' in response.get_data(as_text=True)
    assert {db.session.get(Booking, b.id).status for b in pending} == {"pending"}


@pytest.mark.parametrize("url", ["/bulk/workitem/plan", "/bulk/booking/apply", "/bulk/alert/plan"])
def test_a_role_without_bulk_permission_gets_403(signed_in, url):
    assert signed_in("viewer").post(url, data={"action": "delete", "items": ["1:1"]}).status_code == 403


@pytest.mark.parametrize("data", [
    {"items": ["x:y"], "action": "delete"},
    {"items": ["5:1"], "action": "approve", "filter-tree": "\x00"},
    {"all_matching": "1", "action": "delete", "filter-tree": "²"},
    {"all_matching": "1", "action": "cancel", "filter-resource": "1"},
    {"all_matching": "1", "action": "resolve", "filter-status": "\x00", "filter-ppa": "x"},
])
@pytest.mark.parametrize("kind", ["workitem", "booking", "alert"])
def test_hostile_input_is_a_4xx_never_a_500(signed_in, data, kind):
    for url in (f"/bulk/{kind}/plan", f"/bulk/{kind}/apply"):
        response = signed_in("admin").post(url, data=data, headers=HX)
        body = response.get_data(as_text=True)
        assert 400 <= response.status_code < 500 or (response.status_code == 200 and "refused" in body), body[:300]
        assert "Traceback" not in body
