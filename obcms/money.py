"""Money: Philippine pesos as Decimal, the way the columns hold them (NUMERIC(14, 2)). Every domain parses,
limits, formats and splits amounts through this module.

    parse_amount("₱ 1,234.50")                   # Decimal("1234.50")
    parse_amount("-5", allow_negative=True)      # Decimal("-5.00"); without allow_negative: AmountError
    format_pesos(Decimal("1234.5"))              # "₱ 1,234.50"   (format_pesos(x, symbol=False): "1,234.50")
    split_largest_remainder(Decimal("100.00"), [1, 1, 1])   # [33.34, 33.33, 33.33]

Parsing. `parse_amount` returns the amount quantized to the centavo, or raises AmountError (a ValueError)
whose `reasons` say everything that is wrong, so each caller words its own field error. Accepted: a Decimal,
an int, or text made of an optional sign, an optional peso sign and ASCII digits with at most one decimal
point; commas only as thousands separators (groups of exactly three: "1,234,567.50"). Refused: blank text,
anything else as text ("1,2,3", "1_000", "1e3", "１２", "NaN", "Infinity"), more than two decimals (trailing
zeros do not count: "1.500" is 1.50), negatives unless allowed, and anything above MAX_AMOUNT in size.
Floats and booleans are a programming error (TypeError): money never goes through binary floating point.

Formatting. `format_pesos` rounds to the centavo half to even (the stored values are centavos already) and
groups the thousands with commas; None is shown as "—".

Splitting (largest remainder). Every share is floored to the unit (the centavo), then the units left over
go one by one to the shares with the largest remainders, ties to the earlier share in the given order. The
shares therefore sum to the total exactly and none is a unit or more away from its ideal value.
"""
import re
from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # the largest NUMERIC(14, 2)
ZERO = Decimal("0.00")
PESO = "₱"

# Reasons an AmountError gives, in the order they are checked.
BLANK = "blank"
NOT_A_NUMBER = "not_a_number"
TOO_LARGE = "too_large"          # alone: a too large amount is not checked further
NEGATIVE = "negative"
TOO_MANY_DECIMALS = "too_many_decimals"

_TEXT = re.compile(r"""
    (?P<sign>[-+]?) \s* (?:₱\s*)? (?P<sign_after_peso>[-+]?)   # "-₱ 5" or "₱ -5", not both signs
    (?P<whole> \d{1,3}(?:,\d{3})+ | \d+ )?                      # 1234 or 1,234 (groups of three)
    (?: \. (?P<decimals>\d+) )?
    """, re.VERBOSE | re.ASCII)  # ASCII: \d is 0-9 only, no full-width or other digits


class AmountError(ValueError):
    """Not an acceptable amount. `reasons`: a tuple of BLANK, NOT_A_NUMBER, TOO_LARGE, NEGATIVE,
    TOO_MANY_DECIMALS (the last two may come together)."""

    def __init__(self, value, *reasons):
        super().__init__(f"not an acceptable amount: {value!r} ({', '.join(reasons)})")
        self.value = value
        self.reasons = reasons


def parse_amount(value, *, allow_negative=False):
    """The amount in `value` as a Decimal with two places, or AmountError (see the module docstring)."""
    amount = _read(value)
    if abs(amount) > MAX_AMOUNT:  # first: quantize() of a huge number raises
        raise AmountError(value, TOO_LARGE)
    reasons = []
    if amount < 0 and not allow_negative:
        reasons.append(NEGATIVE)
    if amount != amount.quantize(CENT):
        reasons.append(TOO_MANY_DECIMALS)
    if reasons:
        raise AmountError(value, *reasons)
    amount = amount.quantize(CENT)
    return amount if amount else ZERO  # never "-0.00"


def _read(value):
    if isinstance(value, bool | float):
        raise TypeError(f"an amount is a Decimal, an int or text, not a {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError(value, NOT_A_NUMBER)
        return value
    if isinstance(value, int):
        return Decimal(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AmountError(value, BLANK)
    if not isinstance(value, str):
        raise TypeError(f"an amount is a Decimal, an int or text, not a {type(value).__name__}")
    match = _TEXT.fullmatch(value.strip())
    if match is None or (match["sign"] and match["sign_after_peso"]) or \
            (match["whole"] is None and match["decimals"] is None):
        raise AmountError(value, NOT_A_NUMBER)
    sign = "-" if "-" in (match["sign"], match["sign_after_peso"]) else ""
    return Decimal(f"{sign}{(match['whole'] or '0').replace(',', '')}.{match['decimals'] or '0'}")


def format_pesos(amount, symbol=True):
    """ "₱ 1,234.50" (or "1,234.50" without the symbol); "—" for None."""
    if amount is None:
        return "—"
    text = f"{Decimal(amount).quantize(CENT):,.2f}"
    return f"{PESO} {text}" if symbol else text


def split_largest_remainder(total, weights, *, unit=CENT):
    """`total` split in proportion to `weights` (ints or Decimals, each ≥ 0, not all 0) into whole
    multiples of `unit` (the centavo; 1 for whole things): a list of Decimals in the order of the weights
    summing to `total` exactly, by largest remainder (see the module docstring). A negative total gives
    the negated split of its size."""
    total, unit = Decimal(total), Decimal(unit)
    units = total / unit
    if units != units.to_integral_value():
        raise ValueError(f"{total} is not a whole number of {unit}")
    basis = [Fraction(w) for w in _weights(weights)]
    whole = sum(basis)
    count = abs(int(units))
    floors, remainders = [], []
    for weight in basis:
        ideal = count * weight / whole
        floor = ideal.numerator // ideal.denominator
        floors.append(floor)
        remainders.append(ideal - floor)
    # Largest remainder first; the sort is stable, so equal remainders keep the given order.
    for index in sorted(range(len(basis)), key=lambda i: -remainders[i])[:count - sum(floors)]:
        floors[index] += 1
    sign = -1 if total < 0 else 1
    return [(sign * n * unit).quantize(unit) for n in floors]


def _weights(weights):
    weights = list(weights)
    if not weights:
        raise ValueError("nothing to split over: no weights")
    for weight in weights:
        if isinstance(weight, bool | float) or not isinstance(weight, int | Decimal | Fraction):
            raise TypeError(f"a weight is an int, a Decimal or a Fraction, not a {type(weight).__name__}")
        if (isinstance(weight, Decimal) and not weight.is_finite()) or weight < 0:
            raise ValueError(f"a weight must be a finite number ≥ 0, not {weight}")
    if not any(weights):
        raise ValueError("the weights add up to 0")
    return weights
