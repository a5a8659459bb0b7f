"""Bulk operations' tests: PPAs in a review state and tasks, many at a time, and clients whose posts carry CSRF.

    ppas = review_ppas(3, state="executive_approval")     # committed, MSSD's
    items = tasks(5, due=date(2026, 12, 1))               # committed tasks of MSSD assigned to moa_staff
"""
import itertools
from datetime import date
from decimal import Decimal

import pytest

from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitems
from tests.tasks.conftest import signed_in  # noqa: F401  (signed_in("moa_staff"): posts carry CSRF)

_numbers = itertools.count(1)


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
