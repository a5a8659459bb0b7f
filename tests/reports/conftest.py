"""A small FY 2030 portfolio whose figures land on the reports' rule boundaries, and helpers that read a
workbook back with openpyxl."""
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from obcms.extensions import db
from obcms.ppas import tracking
from obcms.ppas.models import FundingTranche, Ppa
from obcms.reports.models import Policy, ppa_policies

YEAR = 2030
D = Decimal


@dataclass
class Portfolio:
    ppas: dict  # code → Ppa
    policy: Policy


def make_ppa(code, moa, **fields):
    values = dict(title=f"Title of {code}", code=code, category="moa_ppa", fiscal_year=YEAR, sector="social",
                  implementing_moa_id=moa.id, lead_organization_id=moa.id, summary="s", status="ongoing",
                  appropriation_class="mooe", funding_source="gaab")
    values.update(fields)
    ppa = Ppa(**values)
    db.session.add(ppa)
    db.session.flush()
    return ppa


def tranches(ppa, **amounts):
    for kind, amount in amounts.items():
        db.session.add(FundingTranche(ppa_id=ppa.id, kind=kind.rstrip("s"), amount=D(amount),
                                      tranche_date=date(YEAR, 2, 1), source="GAAB"))


@pytest.fixture
def portfolio(users, organizations):
    mssd, moh = organizations["MSSD"], organizations["MOH"]
    ppas = {}
    # MFBM: variance exactly 20.00 % (no "High underspending"), utilization 80 %, approved → "On track".
    ppas["A-001"] = make_ppa("A-001", mssd, budget_allocation=D("1000.00"), budget_ceiling=D("1000.00"),
                             supports_sdg=True, moral_governance_pillar="Integrity", total_slots=100, obc_slots=50,
                             outcome_framework=[{"title": "Outcome 1", "outputs": []}, {"title": "Outcome 2"},
                                                {"title": "Outcome 3"}, {"title": "Outcome 4"}],
                             benefits_indigenous_peoples=True, approval_status="approved")
    tranches(ppas["A-001"], allocation="1000.00", obligation="750.00", disbursement="800.00")
    # 20.01 % variance → "High underspending"; utilization 79.99; draft → "Status: Draft".
    ppas["A-002"] = make_ppa("A-002", mssd, budget_allocation=D("10000.00"), supports_peace_agenda=True,
                             title="=HYPERLINK(\"http://evil\",\"x\")", sector="economic")
    tranches(ppas["A-002"], allocation="8999.99", obligation="7499.99", disbursement="7999.00")
    # Over budget (variance −5.01 %), near full utilization 105.01 %.
    ppas["A-003"] = make_ppa("A-003", mssd, budget_allocation=D("10000.00"), title="+cmd|' /C calc'!A0",
                             approval_status="enacted")
    tranches(ppas["A-003"], allocation="10000.00", obligation="10001.00", disbursement="10501.00")
    # Another MOA's PPA (scoping) and an OOBC PPA with no MOA (not in MFBM; in COA; no sector → not in BPDA).
    ppas["B-001"] = make_ppa("B-001", moh, budget_allocation=D("500.00"))
    ppas["O-001"] = make_ppa("O-001", mssd, category="oobc_ppa", implementing_moa_id=None, sector=None,
                             budget_allocation=D("2000.00"), title="@SUM(1+1)")
    # Another year: never listed.
    ppas["Z-001"] = make_ppa("Z-001", mssd, fiscal_year=YEAR - 1, budget_allocation=D("1.00"))
    policy = Policy(title="Bangsamoro Education Code", reference="BAA-18", status="active")
    db.session.add(policy)
    db.session.flush()
    db.session.execute(ppa_policies.insert().values(ppa_id=ppas["A-001"].id, policy_id=policy.id))
    db.session.commit()
    return Portfolio(ppas=ppas, policy=policy)


@pytest.fixture
def tracked(portfolio, users):
    """A-001 with its work tree (the program template), leaves given some expenditure."""
    root = tracking.enable_tracking(portfolio.ppas["A-001"], users["oobc_staff"], "program", "equal")
    db.session.commit()
    return root


def read(body):
    """The workbook in `body` twice: as written (formulas) and with the cached values (data_only)."""
    return openpyxl.load_workbook(io.BytesIO(body)), openpyxl.load_workbook(io.BytesIO(body), data_only=True)


def rows_of(sheet, first_row):
    return [list(r) for r in sheet.iter_rows(min_row=first_row, values_only=True)]


def generate(client, token, kind, **fields):
    data = {"csrf_token": token, "report": kind, "fiscal_year": str(YEAR), "moa": "", "sector": ""}
    data.update(fields)
    return client.post("/reports/generate", data=data)
