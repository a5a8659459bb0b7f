"""Write tests/data/legacy_export.json: a sample of the older system's `dumpdata` export (deterministic).

    python -m tests.data.make_legacy_export

About 560 records — users, regions, project workflows, coordination events and staff tasks — with the quirks
the older system's data has: events without dates, duplicated ids (identical or not), tasks whose parent was
deleted or is missing from the export, a workflow for a PPA obcms does not have, control characters in
titles, and text saved as cp1252 (so the file as a whole is not valid UTF-8). The PPA codes of KNOWN_PPAS
are the ones the tests create (tests/ops/test_legacy_import.py).
"""
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("legacy_export.json")
KNOWN_PPAS = {  # code → implementing MOA (the test database's organizations)
    "OOBC-2025-001": "OOBC", "OOBC-2025-002": "OOBC", "MSSD-2025-004": "MSSD", "MSSD-2025-009": "MSSD",
    "MSSD-2025-014": "MSSD", "MOH-2025-003": "MOH", "MOH-2025-007": "MOH", "MOH-2025-011": "MOH",
}
UNKNOWN_PPA = "MAFAR-2024-017"
USERS = ["oobc_staff", "oobc_executive", "moa_staff", "other_moa_staff", "admin",
         "a.macapodi", "n.usman", "s.mangudadatu", "f.alonto", "r.tan", "h.sinsuat", "j.abubakar"]
PLACES = ["Cotabato City", "Marawi City", "Lamitan City", "Jolo, Sulu", "Bongao, Tawi-Tawi", "Datu Odin Sinsuat",
          "Parang, Maguindanao del Norte", "Upi", "Shariff Aguak", "Buluan", "Wao, Lanao del Sur", "Malabang",
          "Special Geographic Area, Pahamuddin", "Barangay Tamontaka", "Isabela City, Basilan", "Iligan City",
          "Zamboanga City", "Davao City", "Barangay Santo Niño, Zamboanga City", "Dasmariñas, Cavite"]
VENUES = ["Bangsamoro Government Center, Cotabato City", "OOBC Conference Room", "MSSD Regional Office",
          "Provincial Capitol, Lanao del Sur", "Municipal Hall", "Barangay Hall", "Sulu Provincial Capitol",
          "MOH Central Office Training Room", "Shariff Kabunsuan Cultural Complex", "Via Zoom"]
EVENT_TYPES = ["meeting", "coordination_meeting", "consultation", "workshop", "training", "conference",
               "field_visit"]
EVENT_TITLES = ["Coordination meeting with {org} on OBC services", "Community consultation in {place}",
                "Needs validation workshop, {place}", "MANA training for enumerators ({place})",
                "Inter-agency coordination: {org} focal persons", "Field visit to OBC settlements in {place}",
                "Quarterly assessment of PPAs with {org}", "Stakeholder forum on livelihood, {place}"]
TASK_TITLES = ["Prepare briefing kit for {place}", "Validate beneficiary list of {place}",
               "Draft MOA with {org} for {place}", "Consolidate MANA results for {place}",
               "Submit travel documents for {place} visit", "Coordinate logistics with {org}",
               "Review procurement documents", "Prepare accomplishment report", "Encode survey forms from {place}",
               "Follow up fund release with MFBM", "Schedule consultation with barangay officials of {place}"]
SUBTASK_TITLES = ["Call the municipal focal person", "Book the venue", "Print attendance sheets",
                  "Secure the certificate of appearance", "Update the tracker", "Send the minutes"]
STAGES = ["need_validation", "budget_planning", "approval", "implementation", "implementation", "monitoring",
          "implementation", "completion"]
CP1252_TEXTS = ["Consultation – OBCs of Dasmariñas", "“Kapamagogopa” livelihood orientation",
                "Niño’s relocation site – Zamboanga", "Pagana Kanduli sa ‘Iligan’ OBCs"]


def _day(rnd, start=date(2025, 1, 6), span=540):
    return start + timedelta(days=rnd.randrange(span))


def build(rnd):
    records = []
    for pk, username in enumerate(USERS, start=1):
        records.append({"model": "auth.user", "pk": pk, "fields": {
            "username": username, "first_name": username.split(".")[-1].title(), "last_name": "",
            "email": f"{username}@oobc.bangsamoro.gov.ph", "is_active": True, "date_joined": "2023-07-03T08:00:00Z"}})
    for pk, name in enumerate(["BARMM", "Region IX", "Region X", "Region XI", "Region XII"], start=1):
        records.append({"model": "common.region", "pk": pk, "fields": {"code": f"R{pk:02d}", "name": name}})

    workflows = {}
    for code in [*KNOWN_PPAS, UNKNOWN_PPA]:
        pk = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        stage = STAGES[len(workflows) % len(STAGES)]
        workflows[pk] = code
        initiated = _day(rnd, span=200)
        records.append({"model": "project_central.projectworkflow", "pk": pk, "fields": {
            "ppa": [code], "primary_need": rnd.randrange(1, 300), "current_stage": stage,
            "stage_history": [{"stage": "need_identification", "timestamp": f"{initiated}T09:00:00+08:00",
                               "user": "oobc_staff"}, {"stage": stage, "timestamp": f"{initiated}T10:00:00+08:00",
                                                       "user": "oobc_staff"}],
            "project_lead": [rnd.choice(USERS[:3])], "mao_focal_person": None, "initiated_date": str(initiated),
            "target_completion_date": str(initiated + timedelta(days=300)), "actual_completion_date": None,
            "created_at": f"{initiated}T09:00:00Z", "updated_at": f"{initiated}T10:00:00Z"}})

    for pk in range(101, 276):
        start = _day(rnd)
        all_day = rnd.random() < 0.3
        place, org = rnd.choice(PLACES), rnd.choice(["OOBC", "MSSD", "MOH", "OOBC", None])
        start_time = None if all_day else f"{rnd.choice([8, 9, 10, 13, 14]):02d}:{rnd.choice(['00', '30'])}:00"
        records.append({"model": "coordination.event", "pk": pk, "fields": {
            "title": rnd.choice(EVENT_TITLES).format(org=org or "OOBC", place=place),
            "description": f"OBC communities of {place}. Organized with {org or 'the OOBC'}.",
            "event_type": rnd.choice(EVENT_TYPES), "status": "completed" if start < date(2026, 6, 1) else "planned",
            "start_date": str(start), "start_time": start_time,
            "end_date": str(start + timedelta(days=rnd.choice([0, 0, 0, 1, 2]))),
            "end_time": None if all_day or rnd.random() < 0.1 else "17:00:00", "venue": rnd.choice(VENUES),
            "organization": [org] if org else None, "organizer": [rnd.choice(USERS)],
            "participants": [[u] for u in rnd.sample(USERS, rnd.randrange(0, 4))], "is_virtual": False,
            "is_deleted": False, "created_at": f"{start - timedelta(days=14)}T02:00:00Z",
            "updated_at": f"{start - timedelta(days=7)}T02:00:00Z"}})

    task_pk, tasks = 1000, []
    for wf, code in workflows.items():
        for _ in range(rnd.randrange(24, 34)):
            task_pk += 1
            tasks.append(_task(rnd, task_pk, wf, code, None))
            for _ in range(rnd.choice([0, 0, 0, 1, 2])):
                parent = task_pk
                task_pk += 1
                tasks.append(_task(rnd, task_pk, wf, code, parent))
    for _ in range(6):  # tasks linked to a PPA only (no workflow)
        task_pk += 1
        tasks.append(_task(rnd, task_pk, None, rnd.choice(list(KNOWN_PPAS)), None))
    records += tasks
    _add_quirks(rnd, records, tasks)
    return records


def _task(rnd, pk, workflow, code, parent):
    start = _day(rnd)
    due = start + timedelta(days=rnd.randrange(1, 45))
    template = rnd.choice(SUBTASK_TITLES if parent else TASK_TITLES)
    status = rnd.choice(["todo", "todo", "in_progress", "in_progress", "completed", "at_risk", "blocked"])
    return {"model": "common.stafftask", "pk": pk, "fields": {
        "title": template.format(place=rnd.choice(PLACES), org=rnd.choice(["MSSD", "MOH", "MBHTE", "MILG"])),
        "description": "", "status": status, "priority": rnd.choice(["low", "medium", "medium", "high", "urgent"]),
        "start_date": str(start) if rnd.random() < 0.8 else None, "due_date": str(due) if rnd.random() < 0.9 else None,
        "estimated_hours": f"{rnd.choice([2, 4, 4, 8, 16, 1.5, 6.25])}",
        "assignees": [[u] for u in rnd.sample(USERS, rnd.randrange(0, 3))],
        "linked_workflow": workflow, "linked_ppa": [code] if workflow is None or rnd.random() < 0.5 else None,
        "linked_event": None, "parent": parent, "workflow_stage": rnd.choice(STAGES), "auto_generated": False,
        "is_deleted": False, "created_at": f"{start}T01:00:00Z", "updated_at": f"{start}T01:00:00Z"}}


def _add_quirks(rnd, records, tasks):
    events = [r for r in records if r["model"] == "coordination.event"]
    for event in rnd.sample(events, 6):          # missing dates
        event["fields"]["start_date"] = None
    for event in rnd.sample(events, 3):          # exported twice, identical
        records.append(json.loads(json.dumps(event)))
    for task in rnd.sample(tasks, 2):            # two different rows with one id
        copy = json.loads(json.dumps(task))
        copy["fields"]["title"] += " (revised)"
        records.append(copy)
    parents = {t["fields"]["parent"] for t in tasks if t["fields"]["parent"]}
    for task in rnd.sample([t for t in tasks if t["pk"] in parents], 3):  # deleted parents, children remain
        task["fields"]["is_deleted"] = True
    for task in rnd.sample([t for t in tasks if not t["fields"]["parent"]], 5):  # parent purged from the export
        task["fields"]["parent"] = 990 + rnd.randrange(9)
    for task in rnd.sample(tasks, 3):            # due before start
        task["fields"]["start_date"], task["fields"]["due_date"] = "2025-09-30", "2025-09-01"
    for task, mark in zip(rnd.sample(tasks, 2), ["\u0007", "\u0000"], strict=True):  # control characters
        task["fields"]["title"] = task["fields"]["title"][:12] + mark + task["fields"]["title"][12:]
    for record, text in zip(rnd.sample(events, 4) + rnd.sample(tasks, 4), CP1252_TEXTS * 2, strict=True):
        record["fields"]["description"] = text


def write(path=OUT, seed=16):
    records = build(random.Random(seed))
    lines = ",\n".join(json.dumps(record, ensure_ascii=False) for record in records)  # a record a line
    data = f"[\n{lines}\n]\n".encode()
    for text in CP1252_TEXTS:  # the older system stored these as cp1252: the file is not valid UTF-8
        data = data.replace(json.dumps(text, ensure_ascii=False).encode("utf-8"),
                            json.dumps(text, ensure_ascii=False).encode("cp1252"))
    path.write_bytes(data)
    return len(records)


if __name__ == "__main__":
    print(f"{write()} records written to {OUT}")
