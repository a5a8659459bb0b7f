"""The distribution arithmetic: exact sums, largest remainder at the centavo, errors that name the child."""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obcms.budget.distribution import (
    ALL,
    AMOUNT,
    distribute,
    distribute_equal,
    distribute_manual,
    distribute_weighted,
    rescale_below,
)

D = Decimal


def test_equal_gives_leftover_centavos_to_the_first_children():
    result = distribute_equal(D("100.00"), 3)
    assert result.is_valid
    assert list(result.amounts().values()) == [D("33.34"), D("33.33"), D("33.33")]
    assert result.total == D("100.00") and result.remainder == 0


def test_equal_over_child_keys_keeps_their_order():
    result = distribute_equal(D("0.05"), ["x", "y", "z"])
    assert result.amounts() == {"x": D("0.02"), "y": D("0.02"), "z": D("0.01")}


def test_weighted_largest_remainder_not_first_come():
    # Ideal shares 33.333…, 33.333…, 33.334 (weights 33.33/33.33/33.34 of 100.00) → exact.
    assert list(distribute_weighted(D("100.00"), ["33.33", "33.33", "33.34"]).amounts().values()) == [
        D("33.33"), D("33.33"), D("33.34")]
    # 10.00 by 12.5/87.5 → 1.25 / 8.75 exactly; 0.03 by 50/50 → 0.015 each → tie → first child.
    assert list(distribute_weighted(D("0.03"), ["50", "50"]).amounts().values()) == [D("0.02"), D("0.01")]
    # The largest remainder wins the leftover centavo even when it is last.
    result = distribute_weighted(D("1.00"), ["10.1", "10.1", "79.8"])  # 0.101, 0.101, 0.798
    assert list(result.amounts().values()) == [D("0.10"), D("0.10"), D("0.80")]


def test_weighted_errors_name_the_child_and_the_problem():
    result = distribute_weighted(D("1000"), {"plan": "-5", "build": "50.123", "close": "abc"})
    assert not result.is_valid
    assert result.errors["plan"] == ["The weight must be 0 or more."]
    assert result.errors["build"] == ["The weight may have at most 2 decimals."]
    assert result.errors["close"] == ["The weight is not a number."]
    messages = result.messages({"plan": "Planning & Design"})
    assert "Planning & Design: The weight must be 0 or more." in messages
    assert "Child close: The weight is not a number." in messages


def test_weighted_must_sum_to_exactly_100():
    result = distribute_weighted(D("1000.00"), {"a": "60", "b": "35"})
    assert result.errors == {ALL: ["The weights add up to 95.00 %; they must add up to exactly 100 % (5.00 % missing)."]}
    # The preview still shows each child's share and what is left.
    assert result.amounts() == {"a": D("600.00"), "b": D("350.00")}
    assert result.remainder == D("50.00")
    assert "too much" in distribute_weighted(D("1"), ["60", "40.01"]).errors[ALL][0]
    assert "more than 100" in distribute_weighted(D("1"), ["100.5", "0"]).errors[0][0]


def test_manual_amounts_must_sum_to_the_amount():
    ok = distribute_manual(D("100.00"), {"a": "60.00", "b": "40"})
    assert ok.is_valid and ok.amounts() == {"a": D("60.00"), "b": D("40.00")}
    short = distribute_manual(D("100.00"), {"a": "60.00", "b": "39.99"})
    assert short.errors[ALL] == ["The amounts add up to ₱ 99.99, not ₱ 100.00 (₱ 0.01 left to distribute)."]
    assert short.remainder == D("0.01")
    over = distribute_manual(D("100.00"), ["1,000.00", "0"])
    assert "₱ 900.00 over" in over.errors[ALL][0]
    bad = distribute_manual(D("100.00"), {"a": "10.005", "b": "", "c": "-1"})
    assert bad.errors == {"a": ["The amount may have at most 2 decimals."], "b": ["Enter an amount (0 for none)."],
                          "c": ["The amount must be 0 or more."]}


def test_amount_and_children_are_checked():
    assert distribute_equal(D("-1"), 2).errors[AMOUNT] == ["The amount must be 0 or more."]
    assert distribute_equal(D("1.001"), 2).errors[AMOUNT] == ["The amount may have at most 2 decimals."]
    assert distribute_equal(D("10"), 0).errors[ALL] == ["There are no children to distribute over."]
    assert distribute_weighted(D("10"), {}).errors[ALL] == ["There are no children to distribute over."]
    assert distribute_equal(D("0"), 4).amounts() == {0: D("0.00"), 1: D("0.00"), 2: D("0.00"), 3: D("0.00")}


def test_floats_are_refused():
    with pytest.raises(TypeError):
        distribute_equal(0.1, 2)
    with pytest.raises(TypeError):
        distribute_weighted(D("1"), [50.0, 50.0])


def test_dispatch_and_json():
    result = distribute("weighted", D("10.00"), [7, 8], {7: "25", 8: "75"})
    assert result.to_json() == {"7": "2.50", "8": "7.50"}
    assert distribute("manual", D("1.00"), ["a"], {"a": "1"}).is_valid
    assert distribute("equal", D("1.00"), ["a", "b"]).to_json() == {"a": "0.50", "b": "0.50"}
    with pytest.raises(ValueError):
        distribute("proportional", D("1"), [1])


# Properties ---------------------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**14 - 1).map(lambda c: Decimal(c) / 100)  # 0.01 … MAX_AMOUNT


def assert_within_a_centavo(result, ideals):
    assert result.is_valid, result.errors
    assert result.total == result.amount
    for share, ideal in zip(result.shares, ideals, strict=True):
        assert abs(Fraction(share.amount) - ideal) < Fraction(1, 100)
        assert share.amount == share.amount.quantize(Decimal("0.01"))


@settings(max_examples=300, deadline=None)
@given(amount=amounts, n=st.integers(min_value=1, max_value=200))
def test_equal_property(amount, n):
    result = distribute_equal(amount, n)
    assert_within_a_centavo(result, [Fraction(amount) / n] * n)


@st.composite
def weight_lists(draw):
    """1..200 weights in hundredths of a percent summing to exactly 100.00."""
    n = draw(st.integers(min_value=1, max_value=200))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=10000), min_size=n - 1, max_size=n - 1)))
    bounds = [0, *cuts, 10000]
    return [Decimal(bounds[i + 1] - bounds[i]) / 100 for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(amount=amounts, weights=weight_lists())
def test_weighted_property(amount, weights):
    result = distribute_weighted(amount, weights)
    assert_within_a_centavo(result, [Fraction(amount) * Fraction(w) / 100 for w in weights])


@settings(max_examples=200, deadline=None)
@given(cents=st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=200))  # sum ≤ MAX_AMOUNT
def test_manual_property(cents):
    values = [Decimal(c) / 100 for c in cents]
    amount = sum(values, Decimal(0))
    result = distribute_manual(amount, [str(v) for v in values])
    assert_within_a_centavo(result, [Fraction(v) for v in values])
    off = distribute_manual(amount + Decimal("0.01"), [str(v) for v in values])
    assert not off.is_valid and off.remainder == Decimal("0.01")


def test_rescale_below_scales_in_proportion_exactly_and_all_the_way_down():
    allocations = {1: (None, D("100.00")), 2: (1, D("60.00")), 3: (1, D("30.00")),
                   4: (2, D("33.33")), 5: (2, D("26.67")), 6: (3, D("0.00"))}
    assert rescale_below(allocations, {1: D("10.01")}) == {
        1: {2: D("6.00"), 3: D("3.00")},      # the 90.00 held scaled by 10.01/100 → 9.00 (floored), split 2:1
        2: {4: D("3.33"), 5: D("2.67")}}      # 60 → 6: its 60.00 become 6.00, split 33.33 : 26.67
    assert rescale_below(allocations, {1: D("100.00")}) == {}          # unchanged: nothing below changes
    assert rescale_below({1: (None, D("5.00")), 2: (1, D("0.00"))}, {1: D("1.00")}) == {}  # nothing held
    one_third = rescale_below({1: (None, D("1.00")), 2: (1, D("0.34")), 3: (1, D("0.33")), 4: (1, D("0.33"))},
                              {1: D("0.50")})
    assert one_third == {1: {2: D("0.17"), 3: D("0.17"), 4: D("0.16")}} and sum(one_third[1].values()) == D("0.50")


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=6), st.integers(0, 10**9), st.integers(0, 10**6))
def test_rescaled_items_never_hold_more_than_their_new_amount(held, reserve, new_cents):
    """Every container's items end at or below its new amount, to the centavo, at every level."""
    parent = D(sum(held) + reserve) / 100
    allocations = {0: (None, parent), **{i + 1: (0, D(c) / 100) for i, c in enumerate(held)}}
    for i, c in enumerate(held):  # each item holds two sub-items, 1/3 and the rest of what it holds
        allocations[100 + i] = (i + 1, (D(c) / 300).quantize(D("0.01"), rounding="ROUND_FLOOR"))
        allocations[200 + i] = (i + 1, D(c) / 100 - allocations[100 + i][1])
    new = min(D(new_cents) / 100, parent)
    out = rescale_below(allocations, {0: new})
    amounts = {item: amount for level in out.values() for item, amount in level.items()}
    assert sum((amounts.get(i + 1, allocations[i + 1][1]) for i in range(len(held))), D(0)) <= new
    for container, level in out.items():
        limit = new if container == 0 else amounts[container]
        assert sum(level.values()) <= limit and all(a >= 0 and a == a.quantize(D("0.01")) for a in level.values())
