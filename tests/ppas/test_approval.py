"""The PPA approval workflow (DOMAIN.md "Approval workflow"): who may fire what, requirements, effects, history."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.notifications.models import Notification
from obcms.ppas.approval import ApprovalTask
from obcms.workflow import StatusChangeRefused, available_transitions, fire, transition_history
from obcms.workitems import services as workitems
from obcms.workitems.models import WorkItem

ACTORS = ("admin", "oobc_executive", "oobc_staff", "moa_staff", "other_moa_staff", "mfbm_analyst", "bpda_planner",
          "viewer")
# (transition, from state, the users who may fire it there)
TABLE = [
    ("submit", "draft", {"oobc_staff", "moa_staff"}),
    ("pass_technical_review", "technical_review", {"mfbm_analyst"}),
    ("send_to_consultation", "budget_review", {"mfbm_analyst"}),
    ("send_to_executive_approval", "budget_review", {"mfbm_analyst"}),
    ("complete_consultation", "stakeholder_consultation", {"bpda_planner"}),
    ("approve", "executive_approval", {"oobc_executive"}),
    ("enact", "approved", {"oobc_executive", "admin"}),
    ("reject", "technical_review", {"mfbm_analyst"}),
    ("reject", "budget_review", {"mfbm_analyst"}),
    ("reject", "stakeholder_consultation", {"bpda_planner"}),
    ("reject", "executive_approval", {"oobc_executive"}),
    ("resubmit", "rejected", {"oobc_staff", "moa_staff"}),
]
TARGETS = {"submit": "technical_review", "pass_technical_review": "budget_review",
           "send_to_consultation": "stakeholder_consultation", "send_to_executive_approval": "executive_approval",
           "complete_consultation": "executive_approval", "approve": "approved", "enact": "enacted",
           "reject": "rejected", "resubmit": "draft"}



@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("transition", "source", "allowed"), TABLE,
                         ids=[f"{t}-from-{s}" for t, s, _ in TABLE])
def test_who_may_fire_each_transition(ready_ppa, users, transition, source, allowed, actor):
    ppa = ready_ppa(approval_status=source)
    option = next(o for o in available_transitions(ppa, users[actor]) if o.name == transition)
    assert option.allowed is (actor in allowed), option.reason
    if actor in allowed:
        fire(ppa, transition, users[actor], comment="Not aligned with the BDP" if transition == "reject" else None)
        assert ppa.approval_status == TARGETS[transition]
    else:
        with pytest.raises(NotAllowed):
            fire(ppa, transition, users[actor], comment="No")
        assert ppa.approval_status == source


def test_enacted_is_final(ready_ppa):
    ppa = ready_ppa(approval_status="enacted")
    assert available_transitions(ppa, None) == []


def test_the_full_path_and_its_history(ready_ppa, users):
    ppa = ready_ppa()
    steps = [("submit", "moa_staff"), ("pass_technical_review", "mfbm_analyst"),
             ("send_to_consultation", "mfbm_analyst"), ("complete_consultation", "bpda_planner"),
             ("approve", "oobc_executive"), ("enact", "admin")]
    for name, who in steps:
        fire(ppa, name, users[who], comment=f"{name} ok")
    assert ppa.approval_status == "enacted"
    assert ppa.submitted_by_id == users["moa_staff"].id
    history = transition_history(ppa)
    assert [(h.transition, h.from_state, h.to_state, h.actor_user_id, h.comment) for h in history] == [
        (name, before, TARGETS[name], users[who].id, f"{name} ok")
        for (name, who), before in zip(steps, ["draft", "technical_review", "budget_review",
                                              "stakeholder_consultation", "executive_approval", "approved"],
                                       strict=True)]
    audited = db.session.execute(
        sa.select(AuditEntry.old_value, AuditEntry.new_value, AuditEntry.cause)
        .where(AuditEntry.object_type == "ppa", AuditEntry.object_id == ppa.id, AuditEntry.action == "update",
               AuditEntry.field == "approval_status").order_by(AuditEntry.id)).all()
    assert [tuple(a) for a in audited] == [(h.from_state, h.to_state, f"transition '{h.transition}'") for h in history]
    submitter = db.session.scalar(sa.select(AuditEntry.new_value).where(
        AuditEntry.object_type == "ppa", AuditEntry.object_id == ppa.id, AuditEntry.action == "update",
        AuditEntry.field == "submitted_by_id"))
    assert submitter == str(users["moa_staff"].id)


def test_the_submitter_may_not_review_their_own_submission(ready_ppa, users):
    """Roles keep editors out of the reviews; the rule still holds for a submitter who became a reviewer."""
    ppa = ready_ppa()
    staff = users["oobc_staff"]
    fire(ppa, "submit", staff)
    staff.role = "mfbm_analyst"
    db.session.flush()
    option = next(o for o in available_transitions(ppa, staff) if o.name == "pass_technical_review")
    assert not option.allowed and "You submitted this" in option.reason
    with pytest.raises(NotAllowed, match="You submitted this"):
        fire(ppa, "pass_technical_review", staff)
    with pytest.raises(NotAllowed, match="You submitted this"):
        fire(ppa, "reject", staff, comment="mine")
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    assert ppa.approval_status == "budget_review"


@pytest.mark.parametrize(("transition", "source", "blank", "missing"), [
    ("submit", "draft", dict(summary="", sector=None, lead_organization_id=None), ["sector", "lead_organization_id", "summary"]),
    ("pass_technical_review", "technical_review", dict(budget_allocation=None, funding_source=None, appropriation_class=None),
     ["budget_allocation", "funding_source", "appropriation_class"]),
    ("send_to_executive_approval", "budget_review", dict(outcome_framework=[]), ["outcome_framework"]),
    ("complete_consultation", "stakeholder_consultation", dict(outcome_framework=[]), ["outcome_framework"]),
])
def test_entry_requirements_name_the_missing_fields(ready_ppa, users, transition, source, blank, missing):
    ppa = ready_ppa(approval_status=source, **blank)
    actor = users[next(a for t, s, allowed in TABLE if t == transition and s == source for a in sorted(allowed))]
    option = next(o for o in available_transitions(ppa, actor) if o.name == transition)
    assert option.missing_fields == missing
    with pytest.raises(ValidationFailed) as raised:
        fire(ppa, transition, actor)
    assert sorted(raised.value.errors) == sorted(missing)
    assert ppa.approval_status == source


@pytest.mark.parametrize("source", ["technical_review", "budget_review", "stakeholder_consultation",
                                    "executive_approval"])
def test_reject_needs_a_comment(ready_ppa, users, source):
    ppa = ready_ppa(approval_status=source)
    reviewer = {"technical_review": "mfbm_analyst", "budget_review": "mfbm_analyst",
                "stakeholder_consultation": "bpda_planner", "executive_approval": "oobc_executive"}[source]
    with pytest.raises(ValidationFailed) as raised:
        fire(ppa, "reject", users[reviewer], comment="   ")
    assert list(raised.value.errors) == ["comment"]
    fire(ppa, "reject", users[reviewer], comment="Budget unclear")
    assert ppa.approval_status == "rejected"


def test_reject_from_another_reviewers_state_says_who_may(ready_ppa, users):
    ppa = ready_ppa(approval_status="stakeholder_consultation")
    with pytest.raises(NotAllowed, match="only a bpda planner may reject"):
        fire(ppa, "reject", users["mfbm_analyst"], comment="no")


def test_direct_assignment_of_the_approval_status_is_refused(ready_ppa):
    ppa = ready_ppa()
    ppa.approval_status = "approved"
    with pytest.raises(StatusChangeRefused):
        db.session.flush()
    db.session.rollback()


def test_a_set_based_update_of_the_approval_status_is_refused(ready_ppa):
    from obcms.ppas.models import Ppa

    ppa = ready_ppa()
    with pytest.raises(StatusChangeRefused):
        db.session.execute(sa.update(Ppa).where(Ppa.id == ppa.id).values(approval_status="approved"))


def test_stale_version_is_a_conflict(ready_ppa, users):
    ppa = ready_ppa()
    seen = ppa.version
    fire(ppa, "submit", users["moa_staff"], expected_version=seen)
    with pytest.raises(Conflict):
        fire(ppa, "pass_technical_review", users["mfbm_analyst"], expected_version=seen)


# ------------------------------------------------------------------------------------------------ effects
def _tasks(ppa):
    return db.session.execute(
        sa.select(WorkItem, ApprovalTask.approval_status).join(ApprovalTask, ApprovalTask.work_item_id == WorkItem.id)
        .where(ApprovalTask.ppa_id == ppa.id).order_by(WorkItem.id)).all()


@pytest.mark.parametrize(("transition", "source", "actor", "title", "priority", "days", "assignee"), [
    ("submit", "draft", "moa_staff", "Conduct technical review for: {}", "high", 5, "mfbm_analyst"),
    ("pass_technical_review", "technical_review", "mfbm_analyst", "Review budget allocation for: {}", "high", 5,
     "mfbm_analyst"),
    ("send_to_consultation", "budget_review", "mfbm_analyst", "Coordinate stakeholder consultation for: {}", "high",
     10, "bpda_planner"),
    ("send_to_executive_approval", "budget_review", "mfbm_analyst", "Prepare executive approval package for: {}",
     "critical", 3, "oobc_executive"),
])
def test_entering_a_review_state_opens_a_task_for_its_reviewers(ready_ppa, users, organizations, transition, source,
                                                                actor, title, priority, days, assignee):
    ppa = ready_ppa(approval_status=source)
    fire(ppa, transition, users[actor])
    ((task, state),) = _tasks(ppa)
    assert state == ppa.approval_status
    assert (task.title, task.work_type, task.priority, task.status) == (title.format(ppa.title), "task", priority,
                                                                       "not_started")
    assert (task.start_date, task.due_date) == (date.today(), date.today() + timedelta(days=days))
    assert (task.ppa_id, task.organization_id) == (ppa.id, organizations["MSSD"].id)
    assert (task.parent_id, task.tree_id, task.depth) == (None, task.id, 0)  # a tree of its own
    assert [u.username for u in task.assignees] == [assignee]
    assert ppa.execution_project_id is None  # a review task is never the PPA's execution project


def test_inactive_users_get_no_review_task(ready_ppa, users):
    users["mfbm_analyst"].is_active = False
    db.session.flush()
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    ((task, _),) = _tasks(ppa)
    assert task.assignees == []


def test_leaving_a_review_state_closes_its_task(ready_ppa, users):
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    fire(ppa, "reject", users["mfbm_analyst"], comment="Costs unclear")
    rows = _tasks(ppa)
    assert [(state, task.status, task.completed_at is not None, task.progress) for task, state in rows] == [
        ("technical_review", "completed", True, 100), ("budget_review", "cancelled", False, 0)]
    cause = db.session.scalar(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "work_item", AuditEntry.object_id == rows[1][0].id, AuditEntry.field == "status",
        AuditEntry.action == "update"))
    assert cause.startswith(f"approval 'reject' of PPA #{ppa.id}")
    fire(ppa, "resubmit", users["moa_staff"])
    fire(ppa, "submit", users["moa_staff"])
    assert [state for _, state in _tasks(ppa)] == ["technical_review", "budget_review", "technical_review"]


def test_enacting_starts_a_not_started_execution_project(ready_ppa, users, organizations):
    ppa = ready_ppa(approval_status="approved")
    project = workitems.create_work_item(None, users["oobc_staff"], title=ppa.title, work_type="project",
                                         ppa_id=ppa.id, organization_id=organizations["MSSD"].id)
    ppa.execution_project_id = project.id
    db.session.flush()
    fire(ppa, "enact", users["oobc_executive"])
    db.session.refresh(project)
    assert project.status == "in_progress"
    assert [t.transition for t in transition_history(project)] == ["start"]


def test_enacting_leaves_a_started_execution_project_alone(ready_ppa, users, organizations):
    ppa = ready_ppa(approval_status="approved")
    project = workitems.create_work_item(None, users["oobc_staff"], title=ppa.title, work_type="project",
                                         ppa_id=ppa.id, organization_id=organizations["MSSD"].id)
    fire(project, "block", users["oobc_staff"])
    ppa.execution_project_id = project.id
    db.session.flush()
    fire(ppa, "enact", users["admin"])
    db.session.refresh(project)
    assert project.status == "blocked"


def test_the_submitter_hears_of_every_transition_made_by_someone_else(ready_ppa, users):
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    fire(ppa, "reject", users["mfbm_analyst"], comment="Costs unclear")
    fire(ppa, "resubmit", users["moa_staff"])
    rows = db.session.execute(sa.select(Notification.user_id, Notification.kind, Notification.message,
                                        Notification.url).order_by(Notification.id)
                              .where(Notification.user_id == users["moa_staff"].id)).all()
    assert [(r.kind, r.url) for r in rows] == [("approval", f"/ppas/{ppa.id}/approval")] * 2
    assert rows[0].message == (f"{ppa.display_code} “{ppa.title}” is now in budget review: Mfbm Analyst chose "
                               "“Pass technical review”.")
    assert rows[1].message.endswith("Mfbm Analyst chose “Reject”. Their comment: “Costs unclear”")


def test_the_reviewers_hear_when_a_ppa_waits_for_them(ready_ppa, users):
    """Entering a review state notifies every active user of the role that must act (not the one who acted)."""
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    (row,) = db.session.execute(sa.select(Notification.user_id, Notification.message, Notification.url)
                                .where(Notification.user_id == users["mfbm_analyst"].id)).all()
    assert row.message.startswith(f"{ppa.display_code} “{ppa.title}” waits for your technical review, sent by ")
    assert "Your review task is due" in row.message and row.url == f"/ppas/{ppa.id}/approval"
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])  # budget review: the same role, who acted
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == users["mfbm_analyst"].id)) == 1


def test_budget_allocation_requirement_accepts_zero_as_given(ready_ppa, users):
    ppa = ready_ppa(approval_status="technical_review", budget_allocation=Decimal("0.00"))
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    assert ppa.approval_status == "budget_review"


def test_submitting_a_tracked_ppa_generates_its_execution_project_beside_the_review_task(ready_ppa, users):
    ppa = ready_ppa(workitem_tracking_enabled=True)
    fire(ppa, "submit", users["moa_staff"])
    assert ppa.execution_project_id is not None
    project = db.session.get(WorkItem, ppa.execution_project_id)
    assert (project.work_type, project.title, project.parent_id, project.ppa_id) == ("project", ppa.title, None, ppa.id)
    ((task, _),) = _tasks(ppa)
    assert task.id != project.id and task.tree_id != project.tree_id
    fire(ppa, "pass_technical_review", users["mfbm_analyst"])
    fire(ppa, "reject", users["mfbm_analyst"], comment="again")
    fire(ppa, "resubmit", users["moa_staff"])
    fire(ppa, "submit", users["moa_staff"])
    assert ppa.execution_project_id == project.id  # generated once


def test_submitting_an_untracked_ppa_generates_no_execution_project(ready_ppa, users):
    ppa = ready_ppa()
    fire(ppa, "submit", users["moa_staff"])
    assert ppa.execution_project_id is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem).where(
        WorkItem.ppa_id == ppa.id, WorkItem.work_type == "project")) == 0
