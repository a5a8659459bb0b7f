"""The bulk engine (obcms/bulk/services.py): the dry run changes nothing, all-or-nothing or the allowed ones,
ids checked (duplicates, too many, out of scope), versions checked, one operation id on every audit row, and a
constant number of statements to plan however many items."""
from datetime import date

import pytest
import sqlalchemy as sa

from obcms.audit.context import acting_as
from obcms.audit.models import AuditEntry
from obcms.bulk import services as bulk
from obcms.errors import NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workflow.models import TransitionLog
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem


def _states(ppas):
    return db.session.execute(sa.select(Ppa.id, Ppa.approval_status, Ppa.version)
                              .where(Ppa.id.in_([p.id for p in ppas])).order_by(Ppa.id)).all()


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_dry_run_says_what_would_happen_to_each_item_and_changes_nothing(review_ppas, users):
    waiting = review_ppas(3)
    elsewhere = review_ppas(1, state="draft")[0]
    before, audit, logs = _states(waiting + [elsewhere]), _count(AuditEntry), _count(TransitionLog)
    found = bulk.plan(users["oobc_executive"], "ppa", "approve", [p.id for p in waiting] + [elsewhere.id])
    assert [item.allowed for item in found.items] == [True, True, True, False]
    assert found.items[0].detail.startswith("executive approval → approved, with its budget allocation of ₱")
    assert found.items[0].step == "approve"
    assert "Not waiting for a review (now draft)" in found.items[3].reason
    assert _states(waiting + [elsewhere]) == before
    assert (_count(AuditEntry), _count(TransitionLog)) == (audit, logs)


def test_all_or_nothing_refuses_everything_when_one_is_refused(review_ppas, users):
    waiting = review_ppas(3)
    elsewhere = review_ppas(1, state="budget_review")[0]
    before = _states(waiting + [elsewhere])
    result = bulk.apply(users["oobc_executive"], "ppa", "approve", [p.id for p in waiting] + [elsewhere.id])
    assert result["rolled_back"] is True
    assert (result["total"], result["succeeded"], result["failed"], result["succeeded_ids"]) == (4, 0, 1, [])
    assert list(result["failures"]) == [elsewhere.id]
    assert _states(waiting + [elsewhere]) == before


def changed_after_planning(monkeypatch, model, item_id):
    """A colleague's write lands between the plan and the write: the item's version moves on."""
    real_plan = bulk.plan

    def planned_then_changed(*args, **kwargs):
        found = real_plan(*args, **kwargs)
        table = model.__table__
        db.session.execute(sa.update(table).where(table.c.id == item_id).values(version=table.c.version + 1))
        return found

    monkeypatch.setattr(bulk, "plan", planned_then_changed)


def test_all_or_nothing_writes_nothing_when_an_item_changed_after_the_plan(review_ppas, users, monkeypatch):
    waiting = review_ppas(3)
    changed_after_planning(monkeypatch, Ppa, waiting[2].id)
    result = bulk.apply(users["oobc_executive"], "ppa", "approve", [p.id for p in waiting])
    assert result["rolled_back"] is True and result["succeeded"] == 0
    assert list(result["failures"]) == [waiting[2].id] and "Changed since" in result["failures"][waiting[2].id]
    db.session.expire_all()
    assert [state for _, state, _ in _states(waiting)] == ["executive_approval"] * 3
    ids = [p.id for p in waiting]
    assert not db.session.scalars(sa.select(TransitionLog).where(TransitionLog.object_id.in_(ids))).all()


def test_allowed_mode_applies_those_allowed_and_lists_the_others(review_ppas, users, monkeypatch):
    waiting = review_ppas(3)
    elsewhere = review_ppas(1, state="draft")[0]
    result = bulk.apply(users["oobc_executive"], "ppa", "approve", [p.id for p in waiting] + [elsewhere.id],
                        mode="allowed")
    assert result["rolled_back"] is False
    assert (result["succeeded"], result["failed"]) == (3, 1)
    assert result["succeeded_ids"] == [p.id for p in waiting]
    assert list(result["failures"]) == [elsewhere.id]
    db.session.expire_all()
    assert {p.approval_status for p in waiting} == {"approved"} and elsewhere.approval_status == "draft"


def test_allowed_mode_keeps_the_others_when_one_changed_after_the_plan(tasks, users, monkeypatch):
    items = tasks(3)
    changed_after_planning(monkeypatch, WorkItem, items[1].id)
    result = bulk.apply(users["oobc_staff"], "task", "priority", [t.id for t in items], {"priority": "urgent"},
                        mode="allowed")
    assert result["succeeded_ids"] == [items[0].id, items[2].id] and result["rolled_back"] is False
    assert list(result["failures"]) == [items[1].id] and "Changed since" in result["failures"][items[1].id]
    db.session.expire_all()
    assert [t.priority for t in items] == ["urgent", "medium", "urgent"]


@pytest.mark.parametrize(("ids", "message"), [
    ([1, 2, 1], "more than once"),
    (list(range(1, 1002)), "At most 1,000"),
    ([], "at least one"),
    (["x"], "Only item ids"),
    (["-1"], "Only item ids"),
    ([2**40], "Only item ids"),
])
def test_ids_are_checked_before_anything(users, ids, message):
    with pytest.raises(ValidationFailed) as refused:
        bulk.plan(users["oobc_staff"], "task", "priority", ids, {"priority": "high"})
    assert message in refused.value.errors["ids"][0]


def test_a_thousand_ids_are_accepted(tasks, users):
    item = tasks(1)[0]
    found = bulk.plan(users["oobc_staff"], "task", "priority", [item.id] + list(range(10**6, 10**6 + 999)),
                      {"priority": "high"})
    assert found.total == 1000 and len(found.allowed) == 1


def test_another_organizations_items_are_not_found_and_nothing_about_them_leaks(review_ppas, tasks, users):
    mine, theirs = review_ppas(1, state="draft")[0], review_ppas(1, state="draft", organization="MOH")[0]
    found = bulk.plan(users["moa_staff"], "ppa", "transition", [mine.id, theirs.id], {"transition": "submit"})
    assert found.items[0].allowed
    refused = found.items[1]
    assert not refused.allowed and refused.reason == bulk.NOT_FOUND and refused.label == f"#{theirs.id}"
    assert refused.state is None and refused.version is None
    missing = bulk.plan(users["moa_staff"], "ppa", "transition", [10**9], {"transition": "submit"}).items[0]
    assert (missing.reason, missing.label) == (refused.reason, f"#{10**9}")
    my_task, their_task = tasks(1)[0], tasks(1, organization="MOH", assignee="other_moa_staff")[0]
    result = bulk.apply(users["moa_staff"], "task", "priority", [my_task.id, their_task.id], {"priority": "low"},
                        mode="allowed")
    assert result["failures"] == {their_task.id: bulk.NOT_FOUND}
    db.session.expire_all()
    assert their_task.priority == "medium" and my_task.priority == "low"


def test_only_tasks_are_tasks(users, organizations):
    project = workitems.create_work_item(None, users["oobc_staff"], title="A project", work_type="project",
                                         organization_id=organizations["MSSD"].id)
    found = bulk.plan(users["oobc_staff"], "task", "priority", [project.id], {"priority": "high"})
    assert found.items[0].reason == bulk.NOT_FOUND


def test_an_item_changed_since_the_page_was_loaded_is_refused_naming_who(tasks, users):
    items = tasks(2)
    seen = {t.id: t.version for t in items}
    with acting_as("oobc_executive"):  # outside a request the audit names the actor this way
        workitems.update_work_item(items[0], items[0].version, users["oobc_executive"], title="Renamed by a colleague")
    db.session.commit()
    result = bulk.apply(users["oobc_staff"], "task", "priority", [t.id for t in items], {"priority": "high"},
                        versions=seen)
    assert result["rolled_back"] is True
    reason = result["failures"][items[0].id]
    assert "Changed by oobc_executive since you loaded the page" in reason
    db.session.expire_all()
    assert [t.priority for t in items] == ["medium", "medium"]
    fresh = {t.id: t.version for t in items}
    assert bulk.apply(users["oobc_staff"], "task", "priority", [t.id for t in items], {"priority": "high"},
                      versions=fresh)["succeeded"] == 2


def test_every_audit_row_of_an_operation_carries_its_id(tasks, users):
    items = tasks(3, start=date(2026, 11, 20))
    result = bulk.apply(users["oobc_staff"], "task", "reschedule", [t.id for t in items], {"days": "7"})
    assert result["succeeded"] == 3 and not result["rolled_back"]
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.field, AuditEntry.request_id)
                              .where(AuditEntry.cause.contains(f"bulk {result['operation']}"))).all()
    assert {object_id for object_id, _, _ in rows} == {t.id for t in items}
    assert {field for _, field, _ in rows} == {"start_date", "due_date"}
    db.session.expire_all()
    assert {(t.start_date, t.due_date) for t in items} == {(date(2026, 11, 27), date(2026, 12, 8))}


def test_reject_needs_a_comment_and_sends_it(review_ppas, users):
    ppas = review_ppas(2, state="technical_review")
    with pytest.raises(ValidationFailed) as refused:
        bulk.plan(users["mfbm_analyst"], "ppa", "reject", [p.id for p in ppas], {"comment": "   "})
    assert "comment" in refused.value.errors
    result = bulk.apply(users["mfbm_analyst"], "ppa", "reject", [p.id for p in ppas],
                        {"comment": "Not aligned with the BDP"})
    assert result["succeeded"] == 2
    comments = db.session.scalars(sa.select(TransitionLog.comment).where(
        TransitionLog.object_id.in_([p.id for p in ppas]), TransitionLog.transition == "reject")).all()
    assert comments == ["Not aligned with the BDP"] * 2


def test_approve_takes_each_ppa_one_review_step_forward_and_refuses_the_submitter(review_ppas, users):
    technical = review_ppas(1, state="technical_review")[0]
    own = review_ppas(1, state="budget_review")[0]
    db.session.add(TransitionLog(object_type="ppa", object_id=own.id, transition="submit", from_state="draft",
                                 to_state="technical_review", actor_user_id=users["mfbm_analyst"].id,
                                 actor_label="mfbm_analyst"))
    found = bulk.plan(users["mfbm_analyst"], "ppa", "approve", [technical.id, own.id])
    assert found.items[0].step == "pass_technical_review" and found.items[0].allowed
    assert not found.items[1].allowed and "someone else must act" in found.items[1].reason


def test_task_actions_go_through_the_work_item_services(tasks, users, organizations):
    parent = workitems.create_work_item(None, users["oobc_staff"], title="Activity", work_type="activity",
                                        organization_id=organizations["MSSD"].id)
    kids = [workitems.create_work_item(parent, users["oobc_staff"], title=f"Kid {n}", work_type="task",
                                       assignees=[users["moa_staff"]]) for n in range(2)]
    result = bulk.apply(users["moa_staff"], "task", "transition", [k.id for k in kids], {"transition": "complete"})
    assert result["succeeded"] == 2
    db.session.expire_all()
    assert parent.status == "completed" and parent.progress == 100  # rolled up
    result = bulk.apply(users["oobc_staff"], "task", "assign", [k.id for k in kids], {"to": users["oobc_staff"].id})
    assert result["succeeded"] == 2
    db.session.expire_all()
    assert [[u.username for u in k.assignees] for k in kids] == [["oobc_staff"]] * 2


def test_assign_refuses_who_may_not_hold_a_task_and_reschedule_what_has_no_dates(tasks, users):
    item = tasks(1)[0]
    found = bulk.plan(users["oobc_staff"], "task", "assign", [item.id], {"to": users["other_moa_staff"].id})
    assert not found.items[0].allowed and "cannot hold it" in found.items[0].reason
    undated = tasks(1, due=None)[0]
    found = bulk.plan(users["oobc_staff"], "task", "reschedule", [undated.id], {"days": "-3"})
    assert "no start or due date" in found.items[0].reason


@pytest.mark.parametrize(("action", "params", "field"), [
    ("transition", {"transition": "no_such_step"}, "transition"),
    ("assign", {"to": "x"}, "to"),
    ("assign", {"to": str(10**8)}, "to"),
    ("priority", {"priority": "whenever"}, "priority"),
    ("reschedule", {"days": "0"}, "days"),
    ("reschedule", {"days": "abc"}, "days"),
    ("reschedule", {"days": "9999"}, "days"),
    ("reschedule", {"days": "²"}, "days"),
    ("approve", {}, "action"),
])
def test_bad_parameters_are_field_errors(tasks, users, action, params, field):
    with pytest.raises(ValidationFailed) as refused:
        bulk.plan(users["oobc_staff"], "task", action, [tasks(1)[0].id], params)
    assert field in refused.value.errors


def test_a_role_without_bulk_permission_is_refused(users):
    with pytest.raises(NotAllowed):
        bulk.plan(users["viewer"], "ppa", "approve", [1])
    with pytest.raises(NotAllowed):
        bulk.plan(users["mfbm_analyst"], "task", "priority", [1], {"priority": "high"})


def test_the_mode_must_be_known(users):
    with pytest.raises(ValidationFailed):
        bulk.apply(users["oobc_staff"], "task", "priority", [1], {"priority": "high"}, mode="some")


@pytest.mark.parametrize(("kind", "action", "params", "user"), [
    ("ppa", "approve", {}, "mfbm_analyst"),
    ("ppa", "reject", {"comment": "No"}, "mfbm_analyst"),
    ("task", "transition", {"transition": "start"}, "oobc_staff"),
    ("task", "assign", {"to": "USER"}, "oobc_staff"),
    ("task", "reschedule", {"days": "5"}, "oobc_staff"),
])
def test_planning_runs_the_same_number_of_statements_for_5_and_50_items(review_ppas, tasks, users, count_queries,
                                                                        kind, action, params, user):
    params = {k: (users["oobc_staff"].id if v == "USER" else v) for k, v in params.items()}
    counts = []
    for n in (5, 50):
        if kind == "ppa":
            ids = [p.id for p in review_ppas(n - 2, state="technical_review")]
            ids += [p.id for p in review_ppas(2, state="budget_review", submitted_by_id=users[user].id)]
        else:
            ids = [t.id for t in tasks(n, start=date(2026, 11, 1))]
        db.session.expire_all()
        seen = {i: 1 for i in ids[:3]}  # some stale (names who changed them), the others unseen
        if kind == "task":
            seen = {i: 2 for i in ids[:3]}
        with count_queries() as q:
            found = bulk.plan(users[user], kind, action, ids + [10**9], params, versions=seen)
        assert found.total == n + 1
        counts.append(q.count)
    # the actor (expired above), the items, who changed the stale ones, the submitters or the assignees and
    # the person to assign (with their organization)
    assert counts[0] == counts[1] and counts[0] <= 6, counts


def test_matching_ids_stop_one_past_the_limit(tasks, users):
    items = tasks(3)
    stmt = sa.select(WorkItem.id).where(WorkItem.id.in_([t.id for t in items])).order_by(WorkItem.id)
    assert bulk.matching_ids(users["oobc_staff"], "task", stmt) == [t.id for t in items]
