"""A small searchable portfolio: PPAs of two MOAs (with Filipino and Maguindanaon place names), a work-item
tree with tasks, and calendar events of each visibility."""
from dataclasses import dataclass
from datetime import date, time

import pytest

from obcms.calendar import services as calendar_services
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services

MSSD_PPAS = [
    ("MSSD-2026-001", "Social pension for indigent senior citizens"),
    ("MSSD-2026-002", "Sustainable livelihood program for returning OBC families"),
    ("MSSD-2026-003", "Supplementary feeding in Datu Odin Sinsuat day care centers"),
    ("MSSD-2026-004", "Emergency shelter assistance for Cotabato City flood victims"),
    ("MSSD-2026-005", "Madrasah teachers' training in Lanao del Sur"),
    ("MSSD-2026-006", "Water system for Maguindanao del Norte barangays"),
    ("MSSD-2026-007", "Scholarship grants for Tawi-Tawi youth"),
    ("MSSD-2026-008", "Solar-powered irrigation for Upi farmers"),
    ("MSSD-2026-009", "Halal food processing center in Marawi City"),
    ("MSSD-2026-010", "Persons with disability assistance in Sultan Kudarat"),
]
MOH_PPAS = [
    ("MOH-2026-001", "Rural health units upgrading in Basilan"),
    ("MOH-2026-002", "Maternal care and immunization in Sulu"),
]


@dataclass
class Corpus:
    ppas: dict  # code → id
    project_id: int
    tasks: dict  # title → id
    events: dict  # title → id
    moh_event_id: int
    moh_task_id: int


@pytest.fixture
def corpus(users, organizations):
    mssd, moh = organizations["MSSD"], organizations["MOH"]
    ppas = {}
    for organization, rows in ((mssd, MSSD_PPAS), (moh, MOH_PPAS)):
        for code, title in rows:
            ppa = Ppa(code=code, title=title, category="moa_ppa", fiscal_year=2026 if "00" in code[-3:] else 2027,
                      sector="social", implementing_moa_id=organization.id, summary=f"{title}.")
            db.session.add(ppa)
            db.session.flush()
            ppas[code] = ppa.id
    staff = users["oobc_staff"]
    project = workitem_services.create_project(staff, organization_id=mssd.id, title="OBC livelihood rollout")
    tasks = {}
    for title in ("Procure livelihood starter kits", "Validate beneficiaries list in Parang"):
        tasks[title] = workitem_services.create_work_item(project, staff, title=title, work_type="task").id
    moh_project = workitem_services.create_project(staff, organization_id=moh.id, title="Basilan health roll-out")
    moh_task = workitem_services.create_work_item(moh_project, staff, title="Deliver Basilan vaccines",
                                                  work_type="task")
    events = {}
    for title, visibility, organization in (("Coordination meeting in Cotabato City", "public", mssd),
                                            ("Barangay consultation in Datu Piang", "organization", mssd)):
        events[title] = calendar_services.create_event(
            users["moa_staff"], title=title, visibility=visibility, organization_id=organization.id,
            start_date=date(2026, 12, 9), start_time=time(9), end_date=date(2026, 12, 9), end_time=time(11)).id
    moh_event = calendar_services.create_event(
        users["other_moa_staff"], title="Sulu immunization planning", visibility="organization",
        organization_id=moh.id, start_date=date(2026, 12, 10), start_time=time(9), end_date=date(2026, 12, 10),
        end_time=time(11))
    db.session.commit()
    return Corpus(ppas, project.id, tasks, events, moh_event.id, moh_task.id)
