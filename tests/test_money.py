"""obcms.money: parsing (what is an amount, what is refused and why), the peso format, largest-remainder splits."""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from obcms.money import (
    BLANK,
    CENT,
    MAX_AMOUNT,
    NEGATIVE,
    NOT_A_NUMBER,
    TOO_LARGE,
    TOO_MANY_DECIMALS,
    AmountError,
    format_pesos,
    parse_amount,
    split_largest_remainder,
)

D = Decimal


def reasons(value, **options):
    with pytest.raises(AmountError) as caught:
        parse_amount(value, **options)
    return caught.value.reasons


# Parsing ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "amount"), [
    (D("1234.5"), D("1234.50")), (12, D("12.00")), ("0", D("0.00")),
    ("1,234.50", D("1234.50")), ("1,234,567", D("1234567.00")), ("1234567.8", D("1234567.80")),
    ("₱ 10", D("10.00")), ("₱10", D("10.00")), ("  12.5 ", D("12.50")), (".5", D("0.50")),
    ("1.500", D("1.50")),  # trailing zeros are not centavos
    ("+5", D("5.00")), ("999,999,999,999.99", MAX_AMOUNT), (D("1E+3"), D("1000.00")),
])
def test_amounts_that_are_read(value, amount):
    parsed = parse_amount(value)
    assert parsed == amount and parsed.as_tuple().exponent == -2


def test_negatives_only_when_allowed_and_never_a_negative_zero():
    assert parse_amount("-5", allow_negative=True) == D("-5.00")
    assert parse_amount("₱ -1,000.25", allow_negative=True) == D("-1000.25")
    assert parse_amount("-₱ 3", allow_negative=True) == D("-3.00")
    assert reasons("-1") == (NEGATIVE,)
    assert reasons(D("-0.01")) == (NEGATIVE,)
    for zero in ("-0", D("-0"), "-0.00"):
        assert str(parse_amount(zero)) == "0.00"


@pytest.mark.parametrize("text", [
    "1,2,3", "1_000", "１２", "١٢", "²", "1e3", "1E3", "0x10", "NaN", "nan", "inf", "Infinity", "-Infinity",
    "1.", "1..2", "1.2.3", "1,23", "12,34.5", "1234,567", ",123", "123,", "12,345,67", "1 000", "1,000 000",
    "₱", "₱₱1", "--1", "-₱-1", "1-", "abc", "12abc", "10%", "PHP 10", "(10)",
])
def test_text_that_is_not_an_amount(text):
    assert reasons(text, allow_negative=True) == (NOT_A_NUMBER,)


@pytest.mark.parametrize("value", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
def test_decimals_that_are_not_numbers(value):
    assert reasons(value, allow_negative=True) == (NOT_A_NUMBER,)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_blank(value):
    assert reasons(value) == (BLANK,)


def test_too_large_is_above_the_column_maximum_and_checked_alone():
    assert MAX_AMOUNT == D("999999999999.99")  # NUMERIC(14, 2)
    assert parse_amount(D("-999999999999.99"), allow_negative=True) == -MAX_AMOUNT
    for value in ("1,000,000,000,000", "1000000000000.00", D("1E+999999"), 10**40, "9" * 500):
        assert reasons(value) == (TOO_LARGE,)
    assert reasons("-1000000000000.001") == (TOO_LARGE,)  # neither negative nor decimals: too large says it


def test_decimals_and_sign_are_reported_together():
    assert reasons("1.005") == (TOO_MANY_DECIMALS,)
    assert reasons(D("0.001")) == (TOO_MANY_DECIMALS,)
    assert reasons("-1.005") == (NEGATIVE, TOO_MANY_DECIMALS)
    assert reasons("-1.005", allow_negative=True) == (TOO_MANY_DECIMALS,)


def test_the_error_is_a_value_error_and_floats_are_a_type_error():
    assert issubclass(AmountError, ValueError)
    for value in (0.1, 1.0, True, [], object()):
        with pytest.raises(TypeError):
            parse_amount(value)


# Formatting ---------------------------------------------------------------------------------------------

def test_format_pesos():
    assert format_pesos(D("1234567.8")) == "₱ 1,234,567.80"
    assert format_pesos(D("1234567.8"), symbol=False) == "1,234,567.80"
    assert format_pesos(0) == "₱ 0.00"
    assert format_pesos(D("-5")) == "₱ -5.00"
    assert format_pesos("12.5") == "₱ 12.50"
    assert format_pesos(MAX_AMOUNT) == "₱ 999,999,999,999.99"
    assert format_pesos(None) == "—"


def test_the_money_filter_is_format_pesos(app):
    assert app.jinja_env.filters["money"] is format_pesos


cents = st.integers(min_value=-(10**14 - 1), max_value=10**14 - 1)


@settings(max_examples=300, deadline=None)
@given(cents=cents, symbol=st.booleans())
def test_what_is_shown_reads_back(cents, symbol):
    amount = D(cents) / 100
    assert parse_amount(format_pesos(amount, symbol=symbol), allow_negative=True) == amount


# Splitting ----------------------------------------------------------------------------------------------

def test_split_examples():
    assert split_largest_remainder(D("100.00"), [1, 1, 1]) == [D("33.34"), D("33.33"), D("33.33")]
    assert split_largest_remainder(D("0.03"), [D("50"), D("50")]) == [D("0.02"), D("0.01")]  # tie → earlier
    # 0.101, 0.101, 0.798: the largest remainder wins the leftover centavo even when it is last.
    assert split_largest_remainder(D("1.00"), [D("10.1"), D("10.1"), D("79.8")]) == [D("0.10"), D("0.10"),
                                                                                       D("0.80")]
    assert split_largest_remainder(D("10"), [0, 3, 0, 1]) == [D("0.00"), D("7.50"), D("0.00"), D("2.50")]
    assert split_largest_remainder(0, [1, 2]) == [D("0.00"), D("0.00")]
    assert split_largest_remainder(D("-0.05"), [1, 1]) == [D("-0.03"), D("-0.02")]
    assert split_largest_remainder(5, [D("20"), D("70"), D("10")], unit=1) == [D(1), D(4), D(0)]
    assert all(s.as_tuple().exponent == -2 for s in split_largest_remainder(D("1"), [Fraction(1, 3)] * 3))


def test_split_refuses_what_cannot_be_split():
    with pytest.raises(ValueError, match="whole number"):
        split_largest_remainder(D("0.005"), [1])
    with pytest.raises(ValueError, match="no weights"):
        split_largest_remainder(D("1"), [])
    with pytest.raises(ValueError, match="add up to 0"):
        split_largest_remainder(D("1"), [0, D("0.00")])
    with pytest.raises(ValueError, match="≥ 0"):
        split_largest_remainder(D("1"), [2, -1])
    with pytest.raises(ValueError, match="≥ 0"):
        split_largest_remainder(D("1"), [D("NaN")])
    with pytest.raises(TypeError):
        split_largest_remainder(D("1"), [0.5, 0.5])


weights = st.lists(st.one_of(st.integers(min_value=0, max_value=10**6),
                             st.integers(min_value=0, max_value=10**6).map(lambda h: D(h) / 100)),
                   min_size=1, max_size=60)


@settings(max_examples=400, deadline=None)
@given(cents=cents, weights=weights)
def test_split_sums_exactly_and_no_share_is_a_centavo_off(cents, weights):
    assume(any(weights))
    total = D(cents) / 100
    shares = split_largest_remainder(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares, D(0)) == total
    whole = sum(Fraction(w) for w in weights)
    for share, weight in zip(shares, weights, strict=True):
        assert share == share.quantize(CENT)
        assert abs(Fraction(share) - Fraction(total) * Fraction(weight) / whole) < Fraction(1, 100)
