"""PPA factories: `make_ppa(**fields)` inserts a PPA directly (no service rules), `ready_ppa(**fields)` one with
every field the approval requirements ask for, `add_tranches(ppa, …)`."""
import itertools
from datetime import date
from decimal import Decimal

import pytest

from obcms.extensions import db
from obcms.ppas.models import FundingTranche, Ppa

_numbers = itertools.count(1)


@pytest.fixture
def make_ppa(organizations):
    def make(**fields):
        n = next(_numbers)
        values = dict(title=f"PPA number {n}", category="moa_ppa", fiscal_year=2026, sector="social",
                      implementing_moa_id=organizations["MSSD"].id, budget_allocation=Decimal("1000000.00"),
                      start_date=date(2026, 1, 1), target_end_date=date(2026, 12, 31))
        values.update(fields)
        ppa = Ppa(**values)
        db.session.add(ppa)
        db.session.flush()
        return ppa

    return make


@pytest.fixture
def ready_ppa(make_ppa, organizations):
    """A PPA with every field the approval workflow's entry requirements ask for."""

    def make(**fields):
        values = dict(summary="Livelihood support for OBCs", lead_organization_id=organizations["OOBC"].id,
                      funding_source="gaab", appropriation_class="mooe",
                      outcome_framework=[{"title": "Incomes rise", "outputs": ["Kits delivered"]}])
        values.update(fields)
        return make_ppa(**values)

    return make


@pytest.fixture
def add_tranches():
    def add(ppa, **amounts):
        """add(ppa, allocation="100", obligation=["30", "20"], …): one tranche per amount."""
        for kind, values in amounts.items():
            for value in values if isinstance(values, list | tuple) else [values]:
                db.session.add(FundingTranche(ppa_id=ppa.id, kind=kind, amount=Decimal(value),
                                              tranche_date=date(2026, 2, 1)))
        db.session.flush()

    return add
