"""Execution tracking: structure templates, enable/disable/ensure, and the PPA following its tree."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.ppas import services, tracking
from obcms.ppas.models import Ppa
from obcms.workflow import fire
from obcms.workitems import services as wi_services
from obcms.workitems.models import WorkItem


def nodes_of(root_id):
    return db.session.scalars(sa.select(WorkItem).where(WorkItem.tree_id == root_id).order_by(WorkItem.lft)).all()


def check_levels(node):
    """Every container's children: budgets sum exactly, windows consecutive inside the parent's."""
    kids = node["children"]
    if not kids:
        return
    assert sum(k["allocated_budget"] for k in kids) == node["allocated_budget"]
    if node["start_date"] is not None:
        assert kids[0]["start_date"] == node["start_date"]
        assert kids[-1]["due_date"] == node["due_date"]
        if (node["due_date"] - node["start_date"]).days + 1 >= len(kids):
            for before, after in zip(kids, kids[1:], strict=False):
                assert after["start_date"] == before["due_date"] + timedelta(days=1)
        for k in kids:
            assert node["start_date"] <= k["start_date"] <= k["due_date"] <= node["due_date"]
    for k in kids:
        check_levels(k)


def test_program_template_structure(make_ppa):
    ppa = make_ppa(title="Livelihood program", budget_allocation=Decimal("1000000.01"), priority="urgent",
                   start_date=date(2026, 1, 1), target_end_date=date(2026, 12, 31))
    [root] = tracking.preview_structure(ppa, "program")
    assert (root["title"], root["work_type"], root["priority"]) == ("Livelihood program", "project", "urgent")
    assert root["allocated_budget"] == Decimal("1000000.01")
    assert (root["start_date"], root["due_date"]) == (date(2026, 1, 1), date(2026, 12, 31))
    subs = root["children"]
    assert [(s["title"], s["work_type"], s["priority"]) for s in subs] == [
        ("Planning & Design", "sub_project", "high"), ("Implementation", "sub_project", "critical"),
        ("Monitoring & Evaluation", "sub_project", "medium")]
    # 20 / 60 / 20 % of 1,000,000.01: the leftover centavo goes to the largest remainder (0.6 of a centavo)
    assert [s["allocated_budget"] for s in subs] == [Decimal("200000.00"), Decimal("600000.01"),
                                                     Decimal("200000.00")]
    # 365 days by 20 / 65 / 15 %: 73, 237.25 → 237, 54.75 → 55
    assert [(s["due_date"] - s["start_date"]).days + 1 for s in subs] == [73, 237, 55]
    assert [a["title"] for a in subs[1]["children"]] == [
        "Phase 1: Launch & Mobilization", "Phase 2: Service Delivery", "Phase 3: Consolidation"]
    assert all(a["work_type"] == "activity" and a["activity_category"] == "ppa" and a["priority"] == "critical"
               for a in subs[1]["children"])
    assert [a["allocated_budget"] for a in subs[1]["children"]] == [Decimal("180000.00"), Decimal("300000.01"),
                                                                    Decimal("120000.00")]
    check_levels(root)
    assert len(tracking.flatten([root])) == 13


def test_activity_template_structure(make_ppa):
    ppa = make_ppa(budget_allocation=Decimal("100.00"), start_date=date(2026, 3, 1), target_end_date=date(2026, 3, 10))
    [root] = tracking.preview_structure(ppa, "activity")
    acts = root["children"]
    assert [(a["title"], a["work_type"], a["priority"], a["allocated_budget"]) for a in acts] == [
        ("Preparation", "activity", "high", Decimal("15.00")), ("Execution", "activity", "critical", Decimal("75.00")),
        ("Completion", "activity", "medium", Decimal("10.00"))]
    assert [[t["title"] for t in a["children"]] for a in acts] == [
        ["Planning & Coordination", "Resource Mobilization"], ["Core Activities", "Support & Logistics"],
        ["Documentation & Reporting", "Lessons Learned"]]
    assert all(t["work_type"] == "task" for a in acts for t in a["children"])
    assert [(a["due_date"] - a["start_date"]).days + 1 for a in acts] == [2, 7, 1]
    check_levels(root)


def test_every_child_gets_a_day_when_the_window_has_enough(make_ppa):
    assert tracking._split_days(5, ["20", "70", "10"]) == [1, 3, 1]  # 1, 3.5, 0.5 → 1, 4, 0 → the 0 takes one
    ppa = make_ppa(start_date=date(2026, 3, 1), target_end_date=date(2026, 3, 9))
    [root] = tracking.preview_structure(ppa, "program")
    check_levels(root)


def test_a_window_shorter_than_the_children_stays_inside_the_parent(make_ppa):
    ppa = make_ppa(start_date=date(2026, 3, 1), target_end_date=date(2026, 3, 1))
    [root] = tracking.preview_structure(ppa, "program")
    for _, node in tracking.flatten([root]):
        assert node["start_date"] == node["due_date"] == date(2026, 3, 1)


def test_milestone_template(make_ppa):
    ppa = make_ppa(budget_allocation=Decimal("100.00"), start_date=date(2026, 1, 1), target_end_date=date(2026, 12, 31),
                   milestones=[{"date": "2026-03-31", "title": "Site survey", "status": "completed"},
                               {"date": "2026-06-30", "title": "Procurement", "status": "missed"},
                               {"date": "2026-12-31", "title": "Turnover", "status": "pending"}])
    [root] = tracking.preview_structure(ppa, "milestone")
    acts = root["children"]
    assert [(a["title"], a["work_type"], a["status"], a["allocated_budget"]) for a in acts] == [
        ("Site survey", "activity", "completed", Decimal("33.34")), ("Procurement", "activity", "at_risk", Decimal("33.33")),
        ("Turnover", "activity", "not_started", Decimal("33.33"))]
    assert acts[0]["progress"] == 100
    assert [(a["start_date"], a["due_date"]) for a in acts] == [
        (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30)), (date(2026, 7, 1), date(2026, 12, 31))]
    no_milestones = make_ppa(milestones=[])
    [root] = tracking.preview_structure(no_milestones, "milestone")
    assert [(t["title"], t["work_type"], t["allocated_budget"]) for t in root["children"]] == [
        ("Main Deliverable", "task", Decimal("1000000.00"))]


def test_outcome_template(make_ppa):
    ppa = make_ppa(budget_allocation=Decimal("10.00"),
                   outcome_framework=[{"title": "Incomes up", "outputs": ["Kits given", "Training held", "Market links"]},
                                      {"title": "Skills", "outputs": []}, {"title": "Savings", "outputs": ["Groups"]}])
    [root] = tracking.preview_structure(ppa, "outcome")
    acts = root["children"]
    assert [(a["title"], a["allocated_budget"]) for a in acts] == [
        ("Incomes up", Decimal("3.34")), ("Skills", Decimal("3.33")), ("Savings", Decimal("3.33"))]
    assert [(t["title"], t["work_type"], t["allocated_budget"]) for t in acts[0]["children"]] == [
        ("Kits given", "task", Decimal("1.12")), ("Training held", "task", Decimal("1.11")),
        ("Market links", "task", Decimal("1.11"))]
    assert acts[1]["children"] == []
    check_levels(root)


def test_minimal_template_and_no_budget_or_dates(make_ppa):
    ppa = make_ppa(budget_allocation=None, start_date=None, target_end_date=None)
    [root] = tracking.preview_structure(ppa, "minimal")
    [task] = root["children"]
    assert (task["title"], task["work_type"], task["allocated_budget"]) == ("Main Deliverable", "task", Decimal("0.00"))
    assert task["start_date"] is None and task["due_date"] is None


def test_preview_writes_nothing(make_ppa, count_queries):
    ppa = make_ppa()
    with count_queries() as q:
        tracking.preview_structure(ppa, "program")
    assert q.count == 0
    with pytest.raises(ValidationFailed):
        tracking.preview_structure(ppa, "gantt")


@pytest.mark.parametrize("template", tracking.TEMPLATES)
def test_enable_generates_one_linked_tree(make_ppa, users, template):
    ppa = make_ppa(budget_allocation=Decimal("987654.33"),
                   milestones=[{"date": "2026-05-01", "title": "M1", "status": "pending"}],
                   outcome_framework=[{"title": "O1", "outputs": ["a", "b"]}])
    root = tracking.enable_tracking(ppa, users["moa_staff"], template, "weighted")
    db.session.refresh(ppa)
    assert ppa.workitem_tracking_enabled and ppa.execution_project_id == root.id
    assert (ppa.structure_template, ppa.budget_distribution_policy) == (template, "weighted")
    nodes = nodes_of(root.id)
    preview = tracking.flatten(tracking.preview_structure(ppa, template))
    assert [(n.title, n.work_type, n.allocated_budget, n.start_date, n.due_date, n.depth) for n in nodes] == [
        (p["title"], p["work_type"], p["allocated_budget"], p["start_date"], p["due_date"], d) for d, p in preview]
    assert {(n.ppa_id, n.organization_id) for n in nodes} == {(ppa.id, ppa.implementing_moa_id)}
    entries = db.session.scalars(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "ppa", AuditEntry.object_id == ppa.id, AuditEntry.field == "workitem_tracking_enabled"))
    assert any("tracking enabled" in (c or "") for c in entries)


def test_enable_refuses_twice_and_bad_choices(make_ppa, users):
    ppa = make_ppa()
    with pytest.raises(ValidationFailed) as error:
        tracking.enable_tracking(ppa, users["oobc_staff"], "gantt", "random")
    assert set(error.value.errors) == {"template", "policy"}
    tracking.enable_tracking(ppa, users["oobc_staff"], "minimal", "equal")
    with pytest.raises(Conflict, match="already enabled"):
        tracking.enable_tracking(ppa, users["oobc_staff"], "program", "equal")
    assert db.session.scalar(sa.select(sa.func.count()).where(WorkItem.ppa_id == ppa.id)) == 2


def test_enable_needs_an_editor_of_the_ppa(make_ppa, users):
    ppa = make_ppa()
    for username in ("viewer", "mfbm_analyst", "other_moa_staff"):
        with pytest.raises(NotAllowed):
            tracking.enable_tracking(ppa, users[username], "minimal", "equal")


def test_enable_is_atomic(make_ppa, users, monkeypatch):
    ppa = make_ppa()
    db.session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tracking, "sync_ppa_from_tree", broken)  # after the tree is written and linked
    with pytest.raises(RuntimeError):
        tracking.enable_tracking(ppa, users["oobc_staff"], "program", "equal")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).where(WorkItem.ppa_id == ppa.id)) == 0
    db.session.refresh(ppa)
    assert not ppa.workitem_tracking_enabled and ppa.execution_project_id is None


def test_one_execution_project_per_ppa_in_the_database(make_ppa, users):
    ppa, other = make_ppa(), make_ppa()
    root = tracking.enable_tracking(ppa, users["oobc_staff"], "minimal", "equal")
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.update(Ppa.__table__).where(Ppa.id == other.id).values(execution_project_id=root.id))


def test_disable_needs_admin_or_executive_and_confirmation(make_ppa, users):
    ppa = make_ppa()
    root = tracking.enable_tracking(ppa, users["moa_staff"], "minimal", "equal")
    for username in ("moa_staff", "oobc_staff", "viewer"):
        with pytest.raises(NotAllowed):
            tracking.disable_tracking(ppa, users[username], confirmed=True)
    with pytest.raises(ValidationFailed) as error:
        tracking.disable_tracking(ppa, users["oobc_executive"])
    assert "confirm" in error.value.errors
    assert tracking.disable_tracking(ppa, users["oobc_executive"], confirmed=True) == root.id
    db.session.refresh(ppa)
    assert not ppa.workitem_tracking_enabled and ppa.execution_project_id is None
    assert db.session.get(WorkItem, root.id).ppa_id == ppa.id  # kept, detached
    cause = db.session.scalar(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "ppa", AuditEntry.object_id == ppa.id, AuditEntry.field == "execution_project_id",
        AuditEntry.new_value.is_(None)))
    assert f"#{root.id} kept, detached" in cause
    with pytest.raises(Conflict):
        tracking.disable_tracking(ppa, users["admin"], confirmed=True)
    again = tracking.enable_tracking(ppa, users["moa_staff"], "activity", "equal")
    assert again.id != root.id


def test_ensure_execution_project_is_idempotent(make_ppa, users):
    off = make_ppa()
    assert tracking.ensure_execution_project(off, users["oobc_staff"]) is None
    ppa = make_ppa(workitem_tracking_enabled=True, structure_template="activity")
    root = tracking.ensure_execution_project(ppa, users["moa_staff"])
    assert root.title == ppa.title and ppa.execution_project_id == root.id
    assert len(nodes_of(root.id)) == 10
    assert tracking.ensure_execution_project(ppa, users["moa_staff"]).id == root.id
    assert db.session.scalar(sa.select(sa.func.count()).where(WorkItem.ppa_id == ppa.id)) == 10


# ------------------------------------------------------------------------------------------------- sync
def tasks_of(root):
    return [n for n in nodes_of(root.id) if n.work_type == "task"]


def test_completing_every_task_completes_the_ppa(make_ppa, users):
    ppa = make_ppa(status="planning")
    root = tracking.enable_tracking(ppa, users["moa_staff"], "activity", "equal")
    first, *rest = tasks_of(root)
    fire(first, "start", users["moa_staff"])
    db.session.refresh(ppa)
    assert (ppa.status, ppa.progress) == ("ongoing", 0)
    wi_services.update_work_item(first, first.version, users["moa_staff"], progress=50)
    db.session.refresh(ppa)
    assert ppa.progress == 4  # Preparation 15 % × Planning & Coordination 50 % × 50 → 3.75 → 4
    for task in [first, *rest]:
        fire(task, "complete", users["moa_staff"])
    db.session.refresh(ppa)
    assert (ppa.progress, ppa.status) == (100, "completed")
    cause = db.session.scalar(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "ppa", AuditEntry.object_id == ppa.id, AuditEntry.field == "progress")
        .order_by(AuditEntry.id.desc()).limit(1))
    assert cause.startswith("synced from the execution project")


@pytest.mark.parametrize("flags, expected", [
    ({"auto_sync_progress": False, "auto_sync_status": False}, (0, "planning")),
    ({"auto_sync_status": False}, (100, "planning")),
    ({"auto_sync_progress": False}, (0, "completed")),
])
def test_only_what_auto_sync_covers_follows_the_tree(make_ppa, users, flags, expected):
    ppa = make_ppa(status="planning", **flags)
    root = tracking.enable_tracking(ppa, users["moa_staff"], "minimal", "equal")
    [task] = tasks_of(root)
    fire(task, "complete", users["moa_staff"])
    db.session.refresh(ppa)
    assert (ppa.progress, ppa.status) == expected


def test_a_transition_of_the_root_itself_reaches_the_ppa(make_ppa, users):
    ppa = make_ppa(status="planning")
    root = tracking.enable_tracking(ppa, users["moa_staff"], "minimal", "equal")
    fire(root, "block", users["moa_staff"])
    db.session.refresh(ppa)
    assert ppa.status == "on_hold"


def test_milestone_statuses_reach_the_ppa_at_once(make_ppa, users):
    ppa = make_ppa(status="planning", milestones=[{"date": "2026-02-01", "title": "A", "status": "completed"},
                                                  {"date": "2026-03-01", "title": "B", "status": "completed"}])
    tracking.enable_tracking(ppa, users["moa_staff"], "milestone", "equal")
    db.session.refresh(ppa)
    assert (ppa.progress, ppa.status) == (100, "completed")


@pytest.mark.parametrize("status, project_status", [("ongoing", "in_progress"), ("on_hold", "blocked"),
                                                    ("completed", "completed")])
def test_enabling_keeps_the_ppa_status(make_ppa, users, status, project_status):
    ppa = make_ppa(status=status, progress=40)
    root = tracking.enable_tracking(ppa, users["oobc_staff"], "program", "equal")
    db.session.refresh(ppa)
    assert (root.status, ppa.status, ppa.progress) == (project_status, status, 0)


def test_editing_the_ppa_status_moves_the_project(make_ppa, users):
    ppa = make_ppa(status="planning")
    root = tracking.enable_tracking(ppa, users["moa_staff"], "minimal", "equal")
    db.session.refresh(ppa)
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], status="on_hold")
    db.session.refresh(root)
    assert root.status == "blocked"
    db.session.refresh(ppa)
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], status="ongoing")
    db.session.refresh(root)
    db.session.refresh(ppa)
    assert (root.status, ppa.status) == ("in_progress", "ongoing")
    with pytest.raises(ValidationFailed) as error:
        services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], status="planning")
    assert "status" in error.value.errors


def test_editing_the_status_of_an_untracked_ppa_touches_nothing(make_ppa, users):
    ppa = make_ppa(status="planning")
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], status="on_hold")
    assert ppa.status == "on_hold"


def test_sync_of_one_tree_is_a_constant_number_of_statements(make_ppa, users, count_queries):
    ppas = [make_ppa(status="planning") for _ in range(3)]
    roots = [tracking.enable_tracking(p, users["oobc_staff"], "minimal", "equal") for p in ppas]
    db.session.execute(sa.update(Ppa.__table__).values(progress=50, version=Ppa.__table__.c.version + 1))
    with count_queries() as q:
        result = tracking.sync_ppa_from_tree([r.id for r in roots])
    assert result.changed == 3 and len(result.moved) == 3
    assert q.count == 3  # SELECT (locked), UPDATE … FROM, audit INSERT
    with count_queries() as q:
        assert tracking.sync_ppa_from_tree([r.id for r in roots]).changed == 0
    assert q.count == 1
