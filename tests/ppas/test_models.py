"""The database itself refuses PPAs and tranches that break the rules (on SQLite and PostgreSQL)."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from obcms.extensions import db
from obcms.ppas.funding import funding_summary, funding_summary_stmt
from obcms.ppas.models import FundingTranche, Ppa


def test_display_code(make_ppa):
    assert make_ppa(code="MSSD-2026-001").display_code == "MSSD-2026-001"
    ppa = make_ppa()
    assert ppa.display_code == f"PPA-{ppa.id}"


VIOLATIONS = {
    "progress over 100": dict(progress=101),
    "progress negative": dict(progress=-1),
    "target end before start": dict(start_date=date(2026, 6, 1), target_end_date=date(2026, 5, 31)),
    "allocation over ceiling": dict(budget_ceiling=Decimal("100.00"), budget_allocation=Decimal("100.01")),
    "obc allocation over allocation": dict(budget_allocation=Decimal("50.00"), budget_obc_allocation=Decimal("50.01")),
    "obc allocation without allocation": dict(budget_allocation=None, budget_obc_allocation=Decimal("1.00")),
    "obc slots over total": dict(total_slots=10, obc_slots=11),
    "negative ceiling": dict(budget_ceiling=Decimal("-1.00"), budget_allocation=None),
    "negative cost per beneficiary": dict(cost_per_beneficiary=Decimal("-0.01")),
    "negative slots": dict(total_slots=-1),
    "other source unnamed": dict(funding_source="other_sources", funding_source_other=None),
    "moa ppa without moa": dict(category="moa_ppa", implementing_moa_id=None),
    "fiscal year out of range": dict(fiscal_year=1999),
}


@pytest.mark.parametrize("fields", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_database_refuses_invalid_ppas(make_ppa, fields):
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            make_ppa(**fields)


@pytest.mark.parametrize("column", ["sector", "status", "approval_status", "budget_distribution_policy"])
def test_database_refuses_unknown_enum_values(make_ppa, column):
    ppa = make_ppa()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            # Through the connection: the session would refuse a set-based approval_status change first.
            db.session.connection().execute(sa.update(Ppa.__table__).where(Ppa.__table__.c.id == ppa.id)
                                            .values({column: sa.literal_column("'space'")}))


def test_code_is_unique_when_set(make_ppa):
    make_ppa(code="X-1")
    make_ppa(code=None)
    make_ppa(code=None)
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            make_ppa(code="X-1")


def test_valid_edges_are_accepted(make_ppa):
    ppa = make_ppa(progress=100, budget_ceiling=Decimal("10.00"), budget_allocation=Decimal("10.00"),
                   budget_obc_allocation=Decimal("10.00"), total_slots=5, obc_slots=5,
                   start_date=date(2026, 1, 1), target_end_date=date(2026, 1, 1),
                   funding_source="other_sources", funding_source_other="Private donation",
                   category="oobc_ppa", implementing_moa_id=None)
    assert ppa.approval_status == "draft" and ppa.version == 1 and ppa.milestones == []


def test_tranche_amounts_are_non_negative_except_adjustments(make_ppa):
    ppa = make_ppa()
    db.session.add(FundingTranche(ppa_id=ppa.id, kind="adjustment", amount=Decimal("-50.00"),
                                  tranche_date=date(2026, 1, 2)))
    db.session.flush()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(FundingTranche(ppa_id=ppa.id, kind="obligation", amount=Decimal("-0.01"),
                                          tranche_date=date(2026, 1, 2)))
            db.session.flush()


def test_deleting_a_ppa_deletes_its_tranches(make_ppa, add_tranches):
    ppa = make_ppa()
    add_tranches(ppa, allocation="10")
    db.session.execute(sa.delete(Ppa).where(Ppa.id == ppa.id))
    assert db.session.scalar(sa.select(sa.func.count(FundingTranche.id))) == 0


def test_funding_totals_and_rates(make_ppa, add_tranches):
    ppa = make_ppa(budget_allocation=Decimal("1000.00"))
    add_tranches(ppa, allocation=["600.00", "400.00"], adjustment="-200.00", obligation=["300.00", "100.00"],
                 disbursement="100.00")
    row = funding_summary(ppa.id)
    assert (row.allocations, row.adjustments, row.net_allocations) == (Decimal("1000.00"), Decimal("-200.00"),
                                                                        Decimal("800.00"))
    assert row.obligations == Decimal("400.00") and row.disbursements == Decimal("100.00")
    assert row.obligation_rate == Decimal("50.00")        # 400 / 800
    assert row.disbursement_rate == Decimal("25.00")      # 100 / 400
    assert row.utilization == Decimal("10.00")            # 100 / 1000
    assert row.under_obligated is True


def test_rates_round_to_two_decimals_and_are_null_without_a_divisor(make_ppa, add_tranches):
    thirds = make_ppa(budget_allocation=Decimal("3.00"))
    add_tranches(thirds, allocation="3.00", obligation="3.00", disbursement="1.00")
    empty = make_ppa(budget_allocation=None)
    rows = {r.id: r for r in db.session.execute(funding_summary_stmt().where(Ppa.id.in_([thirds.id, empty.id])))}
    assert rows[thirds.id].utilization == Decimal("33.33")
    assert rows[thirds.id].obligation_rate == Decimal("100.00") and rows[thirds.id].under_obligated is False
    assert rows[empty.id].allocations == Decimal("0.00")
    assert rows[empty.id].obligation_rate is None and rows[empty.id].utilization is None
    assert rows[empty.id].under_obligated is False


def test_tranches_relationship_is_in_date_order(make_ppa):
    ppa = make_ppa()
    for day in (20, 5, 12):
        db.session.add(FundingTranche(ppa_id=ppa.id, kind="allocation", amount=Decimal("1.00"),
                                      tranche_date=date(2026, 3, day)))
    db.session.flush()
    db.session.expire(ppa)
    assert [t.tranche_date.day for t in ppa.tranches] == [5, 12, 20]
