"""Bulk operations' tests: PPAs in a review state and tasks, many at a time, and clients whose posts carry CSRF.

    ppas = review_ppas(3, state="executive_approval")     # committed, MSSD's
    items = tasks(5, due=date(2026, 12, 1))               # committed tasks of MSSD assigned to moa_staff
    root, activities, leaves = project(2, 2)               # a committed tree of MSSD
    van.book(3)                                           # pending bookings of a van that needs approval
    made = alerts(3)                                      # active budget alerts of MSSD's PPAs
"""
import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from obcms.calendar import bookings
from obcms.calendar.models import Resource
from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.ppas.variances import BudgetAlert
from obcms.workitems import services as workitems
from tests.tasks.conftest import signed_in  # noqa: F401  (signed_in("moa_staff"): posts carry CSRF)

_numbers = itertools.count(1)
MANILA = bookings.MANILA


@pytest.fixture
def review_ppas(organizations):
    def make(n, state="executive_approval", organization="MSSD", **fields):
        made = []
        for _ in range(n):
            number = next(_numbers)
            values = dict(title=f"Bulk PPA {number}", code=f"BULK-2026-{number:04d}", category="moa_ppa",
                          fiscal_year=2026, sector="social", implementing_moa_id=organizations[organization].id,
                          budget_allocation=Decimal("1000000.00"), start_date=date(2026, 1, 1),
                          target_end_date=date(2026, 12, 31), summary="Livelihood support for OBCs",
                          lead_organization_id=organizations["OOBC"].id, funding_source="gaab",
                          appropriation_class="mooe", approval_status=state,
                          outcome_framework=[{"title": "Incomes rise", "outputs": ["Kits delivered"]}])
            values.update(fields)
            ppa = Ppa(**values)
            db.session.add(ppa)
            made.append(ppa)
        db.session.flush()
        db.session.commit()
        return made

    return make


@pytest.fixture
def tasks(users, organizations):
    def make(n, due=date(2026, 12, 1), start=None, organization="MSSD", assignee="moa_staff", **fields):
        made = []
        for _ in range(n):
            made.append(workitems.create_work_item(
                None, users["oobc_staff"], assignees=[users[assignee]], title=f"Bulk task {next(_numbers)}",
                work_type="task", due_date=due, start_date=start,
                organization_id=organizations[organization].id, **fields))
        db.session.commit()
        return made

    return make


@pytest.fixture
def project(users, organizations):
    """project(n_activities, tasks_each) → (root, [activity, …], [task, …]) of MSSD, committed."""
    def make(activities=2, tasks_each=2, organization="MSSD"):
        staff = users["oobc_staff"]
        root = workitems.create_work_item(None, staff, title=f"Bulk project {next(_numbers)}", work_type="project",
                                          organization_id=organizations[organization].id)
        made, leaves = [], []
        for a in range(activities):
            activity = workitems.create_work_item(root, staff, title=f"Activity {a + 1}", work_type="activity",
                                                  due_date=date(2026, 12, 1))
            made.append(activity)
            leaves += [workitems.create_work_item(activity, staff, title=f"Task {a + 1}.{t + 1}", work_type="task",
                                                  due_date=date(2026, 12, 1)) for t in range(tasks_each)]
        db.session.commit()
        return root, made, leaves

    return make


def manila(*args):
    return datetime(*args, tzinfo=MANILA)


@pytest.fixture
def van(users):
    """A vehicle whose bookings need approval (oobc_executive approves them), and book(n, who) → n pending
    bookings of it on consecutive days of December 2026, committed."""
    resource = Resource(name="Bulk Van", kind="vehicle", capacity=12, needs_approval=True)
    resource.approvers = [users["oobc_executive"]]
    db.session.add(resource)
    db.session.commit()
    days = itertools.count(0)

    def book(n, who="moa_staff"):
        made = []
        for _ in range(n):
            start = manila(2026, 12, 1, 8) + timedelta(hours=3 * next(days))
            made.append(bookings.book(users[who], resource, start, start + timedelta(hours=2), "Field visit"))
        db.session.commit()
        return made

    resource.book = book
    return resource


@pytest.fixture
def alerts(review_ppas):
    """alerts(n) → n active overspending alerts of MSSD's PPAs, committed."""
    def make(n, organization="MSSD", status="active"):
        made = []
        for ppa in review_ppas(n, state="approved", organization=organization):
            alert = BudgetAlert(ppa_id=ppa.id, organization_id=ppa.implementing_moa_id, kind="over", severity="high",
                                status=status, budget=Decimal("1000000.00"), disbursed=Decimal("1150000.00"),
                                utilization=Decimal("115.00"))
            db.session.add(alert)
            made.append(alert)
        db.session.commit()
        return made

    return make
