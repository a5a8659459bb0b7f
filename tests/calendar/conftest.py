"""A small calendar world in December 2026 (Manila): an MSSD PPA with dates, a milestone and a tracked tree
(an activity over three days, a task due on the 10th assigned to moa_staff); events of every visibility, one a
weekly series; a room with an approved booking."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest

from obcms.calendar.models import Booking, CalendarEvent, Resource
from obcms.calendar.recurrence import MANILA
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services


def manila(*args):
    return datetime(*args, tzinfo=MANILA)


@dataclass
class CalendarWorld:
    ppa: Ppa
    activity: object
    task: object
    public: CalendarEvent
    mssd_only: CalendarEvent
    private: CalendarEvent
    weekly: CalendarEvent
    room: Resource
    booking: Booking


@pytest.fixture
def calendar_world(users, organizations):
    staff, mssd = users["oobc_staff"], organizations["MSSD"]
    ppa = Ppa(title="Livelihood program", code="MSSD-CAL-1", category="moa_ppa", fiscal_year=2026, sector="social",
              implementing_moa_id=mssd.id, budget_allocation=Decimal("1000000.00"), start_date=date(2026, 12, 1),
              target_end_date=date(2027, 3, 31), workitem_tracking_enabled=True,
              milestones=[{"date": "2026-12-15", "title": "Kits delivered", "status": "pending"}])
    db.session.add(ppa)
    db.session.flush()
    root = workitem_services.create_work_item(None, staff, title="Livelihood program", work_type="project",
                                              allocated_budget="1000000", ppa_id=ppa.id, organization_id=mssd.id,
                                              start_date=date(2026, 12, 1), due_date=date(2027, 3, 31))
    ppa.execution_project_id = root.id
    activity = workitem_services.create_work_item(root, staff, title="Community orientation", work_type="activity",
                                                  start_date=date(2026, 12, 7), due_date=date(2026, 12, 9))
    task = workitem_services.create_work_item(activity, staff, title="Print the forms", work_type="task",
                                              due_date=date(2026, 12, 10))
    task.assignees = [users["moa_staff"]]

    def event(title, visibility, organization, start, end, **more):
        item = CalendarEvent(title=title, visibility=visibility, organization_id=organization, starts_at=start,
                             ends_at=end, last_ends_at=end if "rrule" not in more else None,
                             organizer_id=staff.id, **more)
        db.session.add(item)
        return item

    public = event("Bangsamoro planning summit", "public", organizations["OOBC"].id, manila(2026, 12, 3, 9),
                   manila(2026, 12, 3, 17), kind="conference", location="Cotabato City")
    mssd_only = event("MSSD staff meeting", "organization", mssd.id, manila(2026, 12, 4, 14), manila(2026, 12, 4, 15))
    private = event("Budget huddle", "private", organizations["OOBC"].id, manila(2026, 12, 4, 10),
                    manila(2026, 12, 4, 11))
    weekly = event("Weekly coordination", "public", organizations["OOBC"].id, manila(2026, 12, 7, 9),
                   manila(2026, 12, 7, 10), rrule="FREQ=WEEKLY;BYDAY=MO", exdates=["2026-12-21T09:00:00+08:00"])
    room = Resource(name="Conference Room A", kind="room", capacity=20, location="OOBC 2F")
    db.session.add(room)
    db.session.flush()
    booking = Booking(resource_id=room.id, title="Planning workshop", starts_at=manila(2026, 12, 8, 9),
                      ends_at=manila(2026, 12, 8, 12), status="approved", booked_by_id=users["moa_staff"].id,
                      organization_id=mssd.id)
    db.session.add(booking)
    db.session.flush()
    return CalendarWorld(ppa, activity, task, public, mssd_only, private, weekly, room, booking)
