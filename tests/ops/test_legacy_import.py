"""`flask obcms import-legacy`: the older system's export (tests/data/legacy_export.json, written by
tests/data/make_legacy_export.py) becomes calendar events and work items under the right PPAs."""
import json
import shutil
import time
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.calendar.models import CalendarEvent
from obcms.extensions import db
from obcms.legacy.export import read_export
from obcms.legacy.importing import apply_plan, plan_import, verify
from obcms.legacy.models import LegacyRecord
from obcms.ppas import tracking
from obcms.ppas.models import Ppa
from obcms.workitems import tree
from obcms.workitems.models import WorkItem
from obcms.workitems.services import delete_work_item
from tests.data.make_legacy_export import KNOWN_PPAS, OUT

SAMPLE = OUT


@pytest.fixture
def ppas(users, organizations):
    """The PPAs the sample export names by code; MSSD-2025-004 is tracked already (its own tree)."""
    made = {}
    for code, acronym in KNOWN_PPAS.items():
        category = "oobc_ppa" if acronym == "OOBC" else "moa_ppa"
        ppa = Ppa(title=f"PPA {code}", code=code, category=category, fiscal_year=2025, sector="social",
                  implementing_moa_id=None if acronym == "OOBC" else organizations[acronym].id,
                  budget_allocation=Decimal("500000.00"), start_date=date(2025, 1, 1),
                  target_end_date=date(2026, 12, 31))
        db.session.add(ppa)
        made[code] = ppa
    db.session.flush()
    tracking.enable_tracking(made["MSSD-2025-004"], users["admin"], "activity", "equal")
    db.session.commit()  # as in production: the CLI's own rollback (a dry run) keeps them
    return made


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["obcms", "import-legacy", *args])


def counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(CalendarEvent)),
            db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)),
            db.session.scalar(sa.select(sa.func.count()).select_from(LegacyRecord)))


def summary_line(output, kind):
    line = next(line for line in output.splitlines() if line.strip().startswith(kind))
    return [int(n) for n in line.split()[1:]]  # create, update, unchanged, refused


def test_the_sample_is_large_not_utf8_and_has_the_quirks():
    data = SAMPLE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    export = read_export(data)
    assert len(export.records) + sum(export.others.values()) >= 500
    assert export.non_utf8_bytes > 0
    assert any("Dasmariñas" in r.fields.get("description", "") for r in export.records)


def test_a_dry_run_writes_nothing_and_lists_every_refusal(app, ppas):
    before = counts()
    result = cli(app, str(SAMPLE), "--dry-run")
    assert result.exit_code == 0, result.output
    assert counts() == before
    out = result.output
    assert "byte(s) not UTF-8, read as cp1252" in out
    assert summary_line(out, "event")[0] > 150
    assert summary_line(out, "staff_task")[0] > 300
    for reason in ("missing start_date", "duplicated id", "with different contents", "deleted in the older system",
                   "is not in the export (deleted)", "its parent task", "unknown PPA MAFAR-2024-017",
                   "invalid characters", "due 2025-09-01 before start 2025-09-30", "its workflow"):
        assert reason in out, reason
    refused = sum(summary_line(out, kind)[3] for kind in ("project_workflow", "event", "staff_task"))
    assert out.count("\n  record #") == refused


def test_the_real_run_creates_the_planned_objects_and_a_second_run_nothing(app, ppas, users):
    plan = plan_import(read_export(SAMPLE.read_bytes()), users["admin"])
    planned = plan.counts()
    events, items, _ = counts()
    result = cli(app, str(SAMPLE), "--as", "admin")
    assert result.exit_code == 0, result.output
    new_events, new_items, remembered = counts()
    assert new_events - events == planned["event"]["create"]
    # tasks, and one execution project per workflow whose PPA had none (with its "Main Deliverable")
    untracked = sum(1 for row in plan.rows if row.record.kind == "project_workflow" and row.action == "create"
                    and row.values["ppa_id"] != ppas["MSSD-2025-004"].id)
    assert new_items - items == planned["staff_task"]["create"] + 2 * untracked
    assert remembered == sum(planned[kind]["create"] for kind in planned)
    for ppa in ppas.values():  # every tree stays a sound nested set, under its PPA
        if ppa.execution_project_id:
            assert db.session.get(WorkItem, ppa.execution_project_id).ppa_id == ppa.id
    assert tree.check_integrity() == []
    cause = db.session.scalars(sa.select(AuditEntry.cause).where(AuditEntry.cause.like("%legacy import%"))).first()
    assert cause and "legacy import legacy_export.json" in cause

    again = cli(app, str(SAMPLE), "--as", "admin")
    assert again.exit_code == 0, again.output
    assert counts() == (new_events, new_items, remembered)
    for kind in ("project_workflow", "event", "staff_task"):
        create, update, unchanged, _ = summary_line(again.output, kind)
        assert (create, update) == (0, 0) and unchanged == planned[kind]["create"]


def test_a_changed_row_is_updated(app, ppas, users, tmp_path):
    assert cli(app, str(SAMPLE)).exit_code == 0
    rows = json.loads(SAMPLE.read_bytes().decode("utf-8", errors="replace"))
    task = next(r for r in rows if r["model"] == "common.stafftask" and r["fields"]["status"] == "todo"
                and not r["fields"]["parent"] and r["fields"]["linked_workflow"] and r["pk"] > 1100)
    task["fields"].update(title="Validate beneficiary list of Marawi City (final)", status="completed")
    event = next(r for r in rows if r["model"] == "coordination.event" and r["fields"]["start_date"])
    event["fields"].update(title="Coordination meeting, moved to Marawi City", venue="Provincial Capitol, Marawi")
    changed = tmp_path / "legacy_export.json"
    changed.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    events, items, remembered = counts()

    result = cli(app, str(changed))
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "staff_task")[:2] == [0, 1]
    assert summary_line(result.output, "event")[:2] == [0, 1]
    assert counts() == (events, items, remembered)
    item_id = db.session.scalar(sa.select(LegacyRecord.object_id).where(
        LegacyRecord.legacy_kind == "staff_task", LegacyRecord.legacy_id == str(task["pk"])))
    item = db.session.get(WorkItem, item_id)
    db.session.refresh(item)
    assert (item.title, item.status, item.completed_at is not None) == (task["fields"]["title"], "completed", True)
    event_id = db.session.scalar(sa.select(LegacyRecord.object_id).where(
        LegacyRecord.legacy_kind == "event", LegacyRecord.legacy_id == str(event["pk"])))
    moved = db.session.get(CalendarEvent, event_id)
    db.session.refresh(moved)
    assert (moved.title, moved.location, moved.version) == (event["fields"]["title"], "Provincial Capitol, Marawi", 2)
    assert cli(app, str(changed), "--verify").exit_code == 0


def test_verify_passes_after_the_import_and_fails_after_a_manual_change(app, ppas, tmp_path):
    sample = tmp_path / "legacy_export.json"
    shutil.copy(SAMPLE, sample)
    before = cli(app, str(sample), "--verify")
    assert before.exit_code == 1 and "not imported yet" in before.output

    assert cli(app, str(sample)).exit_code == 0
    result = cli(app, str(sample), "--verify")
    assert result.exit_code == 0, result.output

    item_id = db.session.scalar(sa.select(LegacyRecord.object_id).where(LegacyRecord.legacy_kind == "staff_task")
                                .order_by(LegacyRecord.id).limit(1))
    db.session.execute(sa.update(WorkItem).where(WorkItem.id == item_id)
                       .values(estimated_hours=Decimal("999.00"), title="Renamed by hand"))
    event_id = db.session.scalar(sa.select(LegacyRecord.object_id).where(LegacyRecord.legacy_kind == "event")
                                 .order_by(LegacyRecord.id).limit(1))
    db.session.execute(sa.delete(CalendarEvent).where(CalendarEvent.id == event_id))
    after = cli(app, str(sample), "--verify")
    assert after.exit_code == 1
    assert "estimated hours" in after.output and "title(s) differ" in after.output
    assert "event: 1 imported record(s) whose object was deleted in obcms" in after.output


def test_a_database_error_mid_file_rolls_everything_back(app, ppas, users):
    export = read_export(SAMPLE.read_bytes())
    before = counts()
    plan = plan_import(export, users["admin"])
    done = [0]

    def progress(n):  # half-way through the events, a statement the database refuses
        done[0] += n
        if done[0] > 60:
            db.session.execute(sa.text("INSERT INTO legacy_records (legacy_kind, legacy_id, object_type, object_id, "
                                       "checksum, source_file, imported_at, updated_at) VALUES ('unknown', 'x', "
                                       "'work_item', 1, 'c', 'f', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))

    outer = db.session.begin_nested()  # the CLI's transaction, as a savepoint inside the test's
    with pytest.raises(sa.exc.IntegrityError):
        apply_plan(plan, users["admin"], "legacy_export.json", progress=progress)
    outer.rollback()
    assert counts() == before
    assert all(ppa.execution_project_id is None for code, ppa in ppas.items() if code != "MSSD-2025-004")


def test_five_hundred_records_import_in_seconds_with_set_based_trees(app, ppas, users, count_queries):
    export = read_export(SAMPLE.read_bytes())
    plan = plan_import(export, users["admin"])
    started = time.perf_counter()
    with count_queries() as q:
        apply_plan(plan, users["admin"], "legacy_export.json")
    elapsed = time.perf_counter() - started
    created = plan.counts()
    # events go one by one through the calendar service (a few statements each); the tasks of a workflow in
    # one build_tree call: the statements do not grow with the number of tasks
    assert q.count <= 3 * created["event"]["create"] + 25 * created["project_workflow"]["create"] + 40, q.count
    assert elapsed < 30
    assert verify(export, users["admin"]) == []


def _export(tmp_path, records, name="small.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return str(path)


def _task(pk, parent=None, workflow=None, ppa=None, **fields):
    return {"model": "common.stafftask", "pk": pk, "fields": {
        "title": f"Task {pk}", "status": "todo", "parent": parent, "linked_workflow": workflow,
        "linked_ppa": [ppa] if ppa else None, **fields}}


@pytest.mark.parametrize("content", [b"not json at all", b'{"model": "coordination.event"}', b"[1, 2]",
                                     b"[" * 100000])
def test_a_file_that_is_no_export_is_refused_whole(app, ppas, tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    before = counts()
    result = cli(app, str(path))
    assert result.exit_code == 1 and "broken.json" in result.output
    assert counts() == before


def test_parents_after_their_subtasks_and_loops(app, ppas, tmp_path):
    """A subtask listed before its parent still lands under it; tasks whose parents loop are refused."""
    records = [_task(3, parent=2), _task(2, parent=1), _task(1, ppa="MSSD-2025-004"),
               _task(7, parent=8), _task(8, parent=7), _task(9, ppa="MSSD-2025-004", assignees=7),
               _task(10, ppa="MSSD-2025-004", status=["x"]), _task(11, parent=1, title="T" * 501)]
    result = cli(app, _export(tmp_path, records))
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "staff_task") == [4, 0, 0, 4]
    assert "loop back" in result.output and "unknown status" in result.output and "longer than 500" in result.output
    ids = dict(db.session.execute(sa.select(LegacyRecord.legacy_id, LegacyRecord.object_id)).all())
    items = {i: db.session.get(WorkItem, ids[i]) for i in ("1", "2", "3")}
    assert items["3"].parent_id == items["2"].id and items["2"].parent_id == items["1"].id
    assert (items["1"].work_type, items["3"].work_type) == ("task", "subtask")
    assert items["1"].parent_id == ppas["MSSD-2025-004"].execution_project_id


def test_a_record_whose_object_was_deleted_is_refused_and_the_rest_lands(app, ppas, users, tmp_path):
    first = [_task(1, ppa="MSSD-2025-004"), _task(2, ppa="MSSD-2025-004")]
    assert cli(app, _export(tmp_path, first)).exit_code == 0
    item_id = db.session.scalar(sa.select(LegacyRecord.object_id).where(LegacyRecord.legacy_id == "1"))
    item = db.session.get(WorkItem, item_id)
    delete_work_item(item, users["admin"], item.version)
    db.session.commit()
    changed = [_task(1, ppa="MSSD-2025-004", title="Renamed"), _task(2, ppa="MSSD-2025-004", title="Renamed too"),
               _task(3, ppa="MSSD-2025-004")]
    result = cli(app, _export(tmp_path, changed, "second.json"))
    assert result.exit_code == 0, result.output
    assert summary_line(result.output, "staff_task") == [1, 1, 0, 1]
    assert "was deleted in obcms" in result.output
    renamed = db.session.scalar(sa.select(LegacyRecord.object_id).where(LegacyRecord.legacy_id == "2"))
    assert db.session.get(WorkItem, renamed).title == "Renamed too"


def _workflow(pk, code, stage):
    return {"model": "project_central.projectworkflow", "pk": pk, "fields": {
        "ppa": [code], "current_stage": stage, "initiated_date": "2025-02-03", "stage_history": []}}


def test_the_workflow_stage_moves_the_execution_project_and_so_the_ppa(app, ppas, tmp_path):
    ppa = ppas["MSSD-2025-009"]
    records = [_workflow("wf-1", "MSSD-2025-009", "implementation"), _task(1, workflow="wf-1")]
    assert cli(app, _export(tmp_path, records)).exit_code == 0
    db.session.refresh(ppa)
    root = db.session.get(WorkItem, ppa.execution_project_id)
    assert (root.status, ppa.status) == ("in_progress", "ongoing")

    records[0]["fields"]["current_stage"] = "completion"
    result = cli(app, _export(tmp_path, records, "later.json"))
    assert summary_line(result.output, "project_workflow") == [0, 1, 0, 0]
    db.session.refresh(ppa)
    db.session.refresh(root)
    assert (root.status, ppa.status, ppa.progress) == ("completed", "completed", 100)


def test_planning_and_verifying_read_in_a_constant_number_of_statements(app, ppas, users, count_queries):
    export = read_export(SAMPLE.read_bytes())
    with count_queries() as q:
        plan_import(export, users["admin"])
    assert q.count <= 6
    apply_plan(plan_import(export, users["admin"]), users["admin"], "legacy_export.json")
    with count_queries() as q:
        assert verify(export, users["admin"]) == []
    assert q.count <= 8
