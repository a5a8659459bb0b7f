"""Generation from templates: where the tasks go, their dates, placeholders and assignees; once per trigger
whatever happens; a missing or broken template is a failed run and a notification to the admins."""
import logging
from datetime import date, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from obcms.assessments.services import create_assessment
from obcms.calendar import services as calendar_services
from obcms.extensions import db
from obcms.jobqueue import enqueue
from obcms.notifications.models import Notification
from obcms.ppas import tracking
from obcms.ppas.services import create_ppa
from obcms.tasking.generation import generate_tasks
from obcms.tasking.models import TaskTemplate, TaskTemplateItem
from obcms.workitems.models import WorkItem
from tests.tasking.conftest import generations, runs, tasks_of

START = date(2026, 3, 2)
OFFSETS = [0, 5, 8, 12, 30, 45, 48, 90, 120, 350]


def test_an_untracked_ppa_gets_its_budget_cycle_as_a_task_list(make_ppa, users, organizations):
    ppa = make_ppa(code="MSSD-26-1")
    outcome = generate_tasks([("ppa", ppa.id)])
    assert outcome.counts["generated"] == 1 and outcome.counts["tasks"] == 10 and not outcome.problems
    (generation,) = generations("ppa", ppa.id)
    activity = db.session.get(WorkItem, generation.work_item_id)
    assert activity.parent_id is None and activity.work_type == "activity" and activity.activity_category == "ppa"
    assert activity.title == "Budget cycle: MSSD-26-1 Livelihood kits"
    assert (activity.ppa_id, activity.organization_id) == (ppa.id, organizations["MSSD"].id)
    assert (activity.start_date, activity.due_date) == (START, START + timedelta(days=350))
    tasks = tasks_of(activity.id)
    assert [t.due_date for t in tasks] == [START + timedelta(days=d) for d in OFFSETS]
    assert [t.work_type for t in tasks] == ["task"] * 10
    assert {(t.ppa_id, t.organization_id) for t in tasks} == {(ppa.id, organizations["MSSD"].id)}
    assert tasks[0].title == "Formulate PPA budget proposal" and tasks[0].priority == "high"
    assert tasks[0].estimated_hours == Decimal("16.00") and tasks[0].created_by_id == users["moa_staff"].id
    assert tasks[0].description == "For MSSD-26-1 “Livelihood kits”, fiscal year 2026."
    # roles → assignees: lead = the creator, reviewer = MFBM analysts, contributor and monitor nobody
    assert [u.username for u in tasks[0].assignees] == ["moa_staff"]
    assert [u.username for u in tasks[2].assignees] == ["mfbm_analyst"]
    assert tasks[4].assignees == [] and tasks[7].assignees == []


def test_the_same_trigger_three_times_makes_one_set(make_ppa):
    ppa = make_ppa()
    counts = [generate_tasks([("ppa", ppa.id)]).counts for _ in range(3)]
    assert [c["generated"] for c in counts] == [1, 0, 0] and [c["already"] for c in counts] == [0, 1, 1]
    assert len(generations("ppa", ppa.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count(WorkItem.id)).where(WorkItem.ppa_id == ppa.id)) == 11


def test_the_job_fired_three_times_makes_one_set(make_ppa):
    ppa = make_ppa()
    db.session.commit()  # its own trigger runs once, after this commit
    for _ in range(3):
        enqueue("generate_tasks", triggers=[["ppa", ppa.id]])
        db.session.commit()
    assert [r.status for r in runs()] == ["succeeded"] * 4
    assert [r.counts["generated"] for r in runs()] == [1, 0, 0, 0]
    assert db.session.scalar(sa.select(sa.func.count(WorkItem.id)).where(WorkItem.ppa_id == ppa.id)) == 11


def test_a_tracked_ppa_gets_them_under_its_execution_project(make_ppa, users):
    ppa = make_ppa()
    root = tracking.enable_tracking(ppa, users["oobc_staff"], "minimal", "equal")
    generate_tasks([("ppa", ppa.id)])
    (generation,) = generations("ppa", ppa.id)
    activity = db.session.get(WorkItem, generation.work_item_id)
    assert activity.parent_id == root.id and len(tasks_of(activity.id)) == 10


def test_enabling_tracking_later_moves_the_task_list_under_the_project(make_ppa, users):
    ppa = make_ppa()
    generate_tasks([("ppa", ppa.id)])
    root = tracking.enable_tracking(ppa, users["moa_staff"], "minimal", "equal")
    activity = db.session.get(WorkItem, generations("ppa", ppa.id)[0].work_item_id)
    db.session.refresh(activity)
    assert activity.parent_id == root.id and activity.tree_id == root.id
    assert len(tasks_of(activity.id)) == 10


def test_an_obc_request_generates_nothing(make_ppa):
    ppa = make_ppa(category="obc_request")
    assert generate_tasks([("ppa", ppa.id)]).counts["skipped"] == 1 and generations() == []


def test_an_assessment_by_its_methodology(users, organizations):
    lead = users["oobc_staff"]
    assessment = create_assessment(users["admin"], title="OBC needs in Zamboanga", organization_id=organizations["OOBC"].id,
                                   methodology="desk_review", start_date=date(2027, 1, 11), lead_id=lead.id)
    generate_tasks([("assessment", assessment.id)])
    (generation,) = generations("assessment", assessment.id)
    assert db.session.get(TaskTemplate, generation.template_id).name == "assessment_desk_review"
    tasks = tasks_of(generation.work_item_id)
    assert tasks[0].title == "Define the scope and questions of OBC needs in Zamboanga"
    assert tasks[0].due_date == date(2027, 1, 11) and [u.username for u in tasks[0].assignees] == ["oobc_staff"]
    approver = next(t for t in tasks if t.title.startswith("Approve"))
    assert [u.username for u in approver.assignees] == ["oobc_executive"]


def test_a_workshop_due_relative_to_the_event_date(users, organizations):
    event = calendar_services.create_event(
        users["mfbm_analyst"], title="Budget workshop", kind="workshop", visibility="organization",
        start_date=date(2026, 12, 14), start_time=time(9), end_date=date(2026, 12, 14), end_time=time(16))
    generate_tasks([("event", event.id)])
    (generation,) = generations("event", event.id)
    activity = db.session.get(WorkItem, generation.work_item_id)
    assert activity.title == "Workshop: Budget workshop (14 Dec 2026)"
    assert activity.organization_id == organizations["MFBM"].id and activity.activity_category == "coordination"
    tasks = tasks_of(activity.id)
    assert tasks[0].due_date == date(2026, 12, 14) and tasks[-1].due_date == date(2026, 12, 24)
    # an MFBM analyst may not add work items: the job writes them, the lead tasks are still theirs
    assert tasks[0].created_by_id is None and [u.username for u in tasks[0].assignees] == ["mfbm_analyst"]


def test_other_event_kinds_generate_nothing(users):
    event = calendar_services.create_event(
        users["oobc_staff"], title="Site visit", kind="site_visit", visibility="organization",
        start_date=date(2026, 12, 14), start_time=time(9), end_date=date(2026, 12, 14), end_time=time(16))
    assert generate_tasks([("event", event.id)]).counts["skipped"] == 1


def test_an_unknown_placeholder_stays_visible_and_is_logged(make_ppa, caplog):
    item = db.session.scalar(sa.select(TaskTemplateItem).join(TaskTemplate)
                             .where(TaskTemplate.name == "ppa_budget_cycle", TaskTemplateItem.position == 1))
    item.title = "Formulate {ppa_code} for {minister}"
    ppa = make_ppa(code="X-1")
    with caplog.at_level(logging.WARNING, logger="obcms.tasking.generation"):
        generate_tasks([("ppa", ppa.id)])
    assert tasks_of(generations("ppa", ppa.id)[0].work_item_id)[0].title == "Formulate X-1 for {minister}"
    assert "minister" in caplog.text


def test_a_missing_template_fails_the_run_and_tells_the_admins(make_ppa, users):
    db.session.execute(sa.delete(TaskTemplate).where(TaskTemplate.name == "ppa_budget_cycle"))
    make_ppa()
    db.session.commit()  # the trigger's job runs after the commit
    (run,) = runs()
    assert run.status == "failed" and "ppa_budget_cycle" in run.error and "does not exist" in run.error
    assert "TaskTemplateProblem" in run.error
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "task_template")).all()
    assert [n.user_id for n in notes] == [users["admin"].id] and "ppa_budget_cycle" in notes[0].message
    assert generations() == []


def test_a_broken_template_fails_the_run_but_the_others_are_generated(make_ppa, users, organizations):
    item = db.session.scalar(sa.select(TaskTemplateItem).join(TaskTemplate)
                             .where(TaskTemplate.name == "ppa_budget_cycle", TaskTemplateItem.position == 3))
    item.title = "Review {ppa_title"
    ppa = make_ppa()
    assessment = create_assessment(users["admin"], title="Survey", organization_id=organizations["OOBC"].id,
                                   methodology="survey", start_date=date(2027, 1, 11), lead_id=None)
    db.session.commit()
    (run,) = runs()
    assert run.status == "failed" and "item 3" in run.error
    assert [g.trigger_kind for g in generations()] == ["assessment"] and generations("ppa", ppa.id) == []
    assert assessment.id == generations()[0].trigger_id


def test_created_and_committed_through_the_service_runs_the_job_after_commit(users, organizations):
    ppa = create_ppa(users["moa_staff"], title="Kits", category="moa_ppa", fiscal_year=2026,
                     implementing_moa_id=organizations["MSSD"].id)
    assert runs() == []  # enqueued when the transaction commits (in it), run after the commit
    db.session.commit()
    assert [r.status for r in runs()] == ["succeeded"] and len(generations("ppa", ppa.id)) == 1


def test_a_rolled_back_creation_enqueues_nothing(users, organizations):
    with db.session.begin_nested():
        create_ppa(users["moa_staff"], title="Kits", category="moa_ppa", fiscal_year=2026,
                   implementing_moa_id=organizations["MSSD"].id)
    db.session.rollback()
    assert runs() == [] and generations() == []


def test_new_ppas_at_once_take_a_constant_number_of_statements(make_ppa, count_queries):
    few = [make_ppa(title=f"P{i}").id for i in range(2)]
    many = [make_ppa(title=f"Q{i}").id for i in range(6)]
    with count_queries() as small:
        generate_tasks([("ppa", i) for i in few])
    with count_queries() as large:
        generate_tasks([("ppa", i) for i in many])
    # PPAs, templates with items, the claim, the people, the trees (lock, ids, INSERT, audit), the assignees,
    # the claims' containers: the same for 2 PPAs as for 6
    assert large.count == small.count <= 12, (small.count, large.count)
    assert len(generations("ppa")) == 8
