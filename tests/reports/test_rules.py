"""Each remark, score band and audit finding at its boundary (the rules read the rounded 2-decimal value)."""
from decimal import Decimal as D

import pytest

from obcms.reports.workbooks import (
    bdp_alignment_score,
    bpda_remarks,
    coa_findings,
    mfbm_remarks,
    outcome_indicators,
    rate,
)


@pytest.mark.parametrize(("variance", "utilization", "approval", "expected"), [
    (D("20.00"), D("80.00"), "approved", "On track"),
    (D("20.01"), D("79.99"), "approved", "High underspending"),
    (D("-5.00"), D("94.99"), "enacted", "On track"),
    (D("-5.01"), D("105.01"), "enacted", "Over budget; Near full utilization"),
    (D("0.00"), D("95.00"), "approved", "On track"),
    (D("0.00"), D("95.01"), "approved", "Near full utilization"),
    (D("0.00"), D("50.00"), "approved", "On track"),
    (D("50.01"), D("49.99"), "approved", "High underspending; Low utilization"),
    (D("0.00"), D("80.00"), "budget_review", "Status: Budget review"),
    (D("0.00"), D("80.00"), "rejected", "Status: Rejected"),
    (None, None, "approved", "On track"),  # no budget: no rate, no remark from it
])
def test_mfbm_remarks(variance, utilization, approval, expected):
    assert mfbm_remarks(variance, utilization, approval) == expected


def test_bdp_alignment_score_parts():
    assert bdp_alignment_score(True, True, "Integrity", 50, 100, True) == D("90.00")
    assert bdp_alignment_score(True, True, "Integrity", 100, 100, True) == D("100.00")
    assert bdp_alignment_score(False, False, "  ", 200, 100, False) == D("20.00")  # min(1, …)
    assert bdp_alignment_score(False, False, None, 1, 3, False) == D("6.67")
    assert bdp_alignment_score(False, False, None, None, None, False) == D("0.00")
    assert bdp_alignment_score(False, False, None, 5, 0, False) == D("0.00")


@pytest.mark.parametrize(("score", "ip", "peace", "expected"), [
    (D("80.00"), False, False, "Strong BDP alignment"),
    (D("79.99"), False, False, "Good alignment"),
    (D("60.00"), True, False, "Good alignment; IP focus"),
    (D("59.99"), False, True, "Moderate alignment; Peace building"),
    (D("40.00"), True, True, "Moderate alignment; IP focus; Peace building"),
    (D("39.99"), False, False, "Needs alignment review"),
])
def test_bpda_remarks(score, ip, peace, expected):
    assert bpda_remarks(score, ip, peace) == expected


@pytest.mark.parametrize(("variance", "allocations", "budget", "obligation_rate", "approval", "expected"), [
    (D("20.00"), D("1000.00"), D("1000.00"), D("75.00"), "approved", "NO FINDINGS"),
    (D("-20.00"), D("1000.00"), D("1000.00"), D("100.00"), "enacted", "NO FINDINGS"),
    (D("20.01"), D("1000.00"), D("1000.00"), D("75.00"), "approved", "MATERIAL VARIANCE"),
    (D("-20.01"), D("1000.00"), D("1000.00"), D("75.00"), "approved", "MATERIAL VARIANCE"),
    (D("0.00"), D("1000.01"), D("1000.00"), D("80.00"), "approved", "BUDGET OVERRUN"),
    (D("0.00"), D("1000.00"), D("1000.00"), D("74.99"), "approved", "LOW OBLIGATION RATE"),
    (D("0.00"), D("1000.00"), D("1000.00"), D("100.01"), "approved", "OVER-OBLIGATION"),
    (D("0.00"), D("1000.00"), D("1000.00"), D("80.00"), "stakeholder_consultation",
     "PENDING STAKEHOLDER CONSULTATION"),
    (D("0.00"), D("0.00"), D("1000.00"), None, "approved", "NO FINDINGS"),
    (D("0.00"), D("0.00"), D("1000.01"), None, "approved", "ALLOCATION DISCREPANCY"),
    (D("0.00"), D("2000.01"), D("1000.00"), D("80.00"), "draft",
     "BUDGET OVERRUN; PENDING DRAFT; ALLOCATION DISCREPANCY"),
    (None, D("5.00"), None, None, "approved", "BUDGET OVERRUN"),
])
def test_coa_findings(variance, allocations, budget, obligation_rate, approval, expected):
    assert coa_findings(variance, allocations, budget, obligation_rate, approval) == expected


def test_rates_round_half_up_and_are_none_without_a_divisor():
    assert rate(D("1"), D("3")) == D("33.33")
    assert rate(D("2"), D("3")) == D("66.67")
    assert rate(D("0.125"), D("1")) == D("12.50")
    assert rate(D("1"), D("0")) is None and rate(D("1"), None) is None


def test_outcome_indicators_are_the_first_three_outcomes():
    assert outcome_indicators([]) == "N/A"
    assert outcome_indicators([{"title": " "}, "junk"]) == "N/A"
    framework = [{"title": f"O{i}", "outputs": []} for i in range(5)]
    assert outcome_indicators(framework) == "O0; O1; O2"
