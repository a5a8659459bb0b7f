"""PPA services: field-level validation mirroring the database, permissions, optimistic locking, tranches."""
from datetime import date
from decimal import Decimal

import pytest

from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.ppas.services import add_tranche, create_ppa, update_ppa


def valid(organizations, **overrides):
    values = dict(title="Livelihood starter kits", category="moa_ppa", fiscal_year=2026,
                  implementing_moa_id=organizations["MSSD"].id, sector="economic",
                  budget_ceiling=Decimal("2000000.00"), budget_allocation=Decimal("1500000.00"))
    values.update(overrides)
    return values


def errors_of(call):
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.errors


def test_create_ppa_sets_defaults_and_creator(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations, code=" MSSD-26-01 "))
    assert ppa.id and ppa.code == "MSSD-26-01" and ppa.status == "planning" and ppa.approval_status == "draft"
    assert ppa.created_by_id == users["oobc_staff"].id and ppa.version == 1


def test_validation_names_each_field(users, organizations):
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(
        organizations, title=" ", fiscal_year="20x6", budget_allocation=Decimal("2000000.01"),
        cost_per_beneficiary="12.345", progress=120, start_date=date(2026, 5, 1), target_end_date=date(2026, 4, 1),
        total_slots=10, obc_slots=11, funding_source="other_sources", sector="space")))
    assert errors["title"] == ["Enter the PPA's title."]
    assert errors["fiscal_year"] == ["Enter a whole number."]
    assert "cannot exceed the budget ceiling" in errors["budget_allocation"][0]
    assert errors["cost_per_beneficiary"] == ["Use at most 2 decimals (centavos)."]
    assert errors["progress"] == ["Enter a number from 0 to 100."]
    assert "before the start date" in errors["target_end_date"][0]
    assert "cannot exceed the total slots" in errors["obc_slots"][0]
    assert errors["funding_source_other"] == ["Name the other funding source."]
    assert "Choose one of" in errors["sector"][0]


def test_obc_allocation_within_allocation_and_negative_amounts(users, organizations):
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(
        organizations, budget_obc_allocation=Decimal("1500000.01"), budget_ceiling=Decimal("-1"))))
    assert "cannot exceed the budget allocation" in errors["budget_obc_allocation"][0]
    assert errors["budget_ceiling"] == ["The amount cannot be negative."]


def test_implementing_moa_must_be_an_moa_and_is_required_for_moa_ppas(users, organizations):
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(organizations, implementing_moa_id=None)))
    assert errors["implementing_moa_id"] == ["An MOA PPA needs its implementing MOA."]
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(
        organizations, implementing_moa_id=organizations["MFBM"].id)))
    assert "MFBM is not an MOA" in errors["implementing_moa_id"][0]
    ppa = create_ppa(users["oobc_staff"], **valid(organizations, category="oobc_ppa", implementing_moa_id=None,
                                                   lead_organization_id=organizations["OOBC"].id))
    assert ppa.implementing_moa_id is None


def test_code_unique_case_insensitively(users, organizations):
    create_ppa(users["oobc_staff"], **valid(organizations, code="ABC-1"))
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(organizations, code="abc-1")))
    assert errors["code"] == ["Another PPA already has this code."]


def test_moa_staff_create_only_for_their_own_moa(users, organizations):
    errors = errors_of(lambda: create_ppa(users["moa_staff"], **valid(
        organizations, implementing_moa_id=organizations["MOH"].id)))
    assert "their own organization" in errors["implementing_moa_id"][0]
    assert create_ppa(users["moa_staff"], **valid(organizations)).implementing_moa_id == organizations["MSSD"].id


@pytest.mark.parametrize("role", ["mfbm_analyst", "bpda_planner", "viewer"])
def test_readers_cannot_create(users, organizations, role):
    with pytest.raises(NotAllowed):
        create_ppa(users[role], **valid(organizations))


def test_milestones_and_outcomes_are_cleaned(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations, milestones=[
        {"date": "2026-09-30", "title": "Kits delivered", "status": "pending"},
        {"date": date(2026, 3, 31), "title": " Beneficiaries listed ", "status": "completed"}],
        outcome_framework=[{"title": "Incomes up", "outputs": ["Kits", " Training "]}]))
    assert ppa.milestones == [{"date": "2026-03-31", "title": "Beneficiaries listed", "status": "completed"},
                              {"date": "2026-09-30", "title": "Kits delivered", "status": "pending"}]
    assert ppa.outcome_framework == [{"title": "Incomes up", "outputs": ["Kits", "Training"]}]
    errors = errors_of(lambda: create_ppa(users["oobc_staff"], **valid(organizations, milestones=[
        {"date": "31/12/2026", "title": "", "status": "late"}])))
    assert errors["milestones"] == ["Milestone 1: give a date as YYYY-MM-DD.",
                                    "Milestone 1: give a title of at most 200 characters.",
                                    "Milestone 1: the status must be one of pending, in_progress, completed, missed."]


def test_update_checks_the_version(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations))
    update_ppa(ppa, 1, actor=users["oobc_staff"], status="ongoing", progress=10)
    assert ppa.version == 2 and ppa.status == "ongoing"
    with pytest.raises(Conflict) as caught:
        update_ppa(ppa, 1, actor=users["oobc_executive"], title="Stale title")
    assert caught.value.current_version == 2 and caught.value.your_version == 1
    assert ppa.title == "Livelihood starter kits"


def test_update_refuses_workflow_fields_and_other_moas(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations))
    errors = errors_of(lambda: update_ppa(ppa, ppa.version, actor=users["oobc_staff"], approval_status="approved"))
    assert errors == {"approval_status": ["This field cannot be changed here."]}
    with pytest.raises(NotAllowed):
        update_ppa(ppa, ppa.version, actor=users["other_moa_staff"], title="Mine now")
    errors = errors_of(lambda: update_ppa(ppa, ppa.version, actor=users["moa_staff"],
                                          implementing_moa_id=organizations["MOH"].id))
    assert "implementing_moa_id" in errors


def test_update_clears_other_source_name_when_source_changes(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations, funding_source="other_sources",
                                                   funding_source_other="Donor"))
    update_ppa(ppa, ppa.version, actor=users["oobc_staff"], funding_source="gaab")
    assert ppa.funding_source_other is None


def test_add_tranche(users, organizations):
    ppa = create_ppa(users["oobc_staff"], **valid(organizations))
    tranche = add_tranche(ppa, users["moa_staff"], kind="obligation", amount="250,000.00",
                          tranche_date=date(2026, 3, 1), source="SARO-2026-001")
    assert tranche.amount == Decimal("250000.00") and tranche.created_by_id == users["moa_staff"].id
    assert add_tranche(ppa, users["oobc_staff"], kind="adjustment", amount=Decimal("-10.00"),
                       tranche_date="2026-03-02").amount == Decimal("-10.00")
    errors = errors_of(lambda: add_tranche(ppa, users["oobc_staff"], kind="disbursement", amount="-1",
                                           tranche_date=None))
    assert errors == {"amount": ["The amount cannot be negative."], "tranche_date": ["Enter the date of the movement."]}
    errors = errors_of(lambda: add_tranche(ppa, users["oobc_staff"], kind="gift", amount="", tranche_date="x"))
    assert set(errors) == {"kind", "amount", "tranche_date"}
    with pytest.raises(NotAllowed):
        add_tranche(ppa, users["other_moa_staff"], kind="obligation", amount="1", tranche_date=date(2026, 1, 1))
    with pytest.raises(NotAllowed):
        add_tranche(ppa, users["mfbm_analyst"], kind="obligation", amount="1", tranche_date=date(2026, 1, 1))
