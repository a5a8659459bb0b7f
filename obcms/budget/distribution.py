"""Budget distribution over the children of one node: equal, weighted, manual (DOMAIN.md "Budget distribution").

Pure: no database. Decimal in, Decimal out. Amounts, manual shares and weights are read by
obcms.money.parse_amount (a weight may end in "%"; it is a percentage with at most 2 decimals).

Rounding (obcms.money.split_largest_remainder at the centavo): every share is floored to the centavo, then
the centavos left over are given one by one to the shares with the largest remainders, ties going to the
earlier child in the given (tree) order. The shares therefore always sum to the amount exactly and none is a
centavo or more away from its ideal value.

    result = distribute_weighted(Decimal("1000.00"), {"a": "50", "b": "30", "c": "20"})
    result.is_valid, result.amounts()    # True, {"a": Decimal("500.00"), "b": Decimal("300.00"), ...}
    distribute_equal(Decimal("100.00"), 3).amounts()   # {0: 33.34, 1: 33.33, 2: 33.33}

Invalid input never raises: the result carries `errors` keyed by the child (or AMOUNT / ALL for the whole),
and `messages(labels)` spells them out with the child's name.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from ..money import (
    BLANK,
    NEGATIVE,
    NOT_A_NUMBER,
    TOO_LARGE,
    TOO_MANY_DECIMALS,
    AmountError,
    format_pesos,
    parse_amount,
    split_largest_remainder,
)

METHODS = ("equal", "weighted", "manual")
HUNDRED = Decimal(100)
AMOUNT = "amount"  # error key: the amount being distributed
ALL = "__all__"    # error key: the distribution as a whole (no children, totals off)


@dataclass(frozen=True)
class Share:
    key: object
    amount: Decimal | None  # None when this child's input is invalid
    entered: Decimal | None = None  # the weight (percent) or manual amount given for this child


@dataclass(frozen=True)
class DistributionResult:
    method: str
    amount: Decimal | None
    shares: tuple = ()
    errors: dict = field(default_factory=dict)

    @property
    def is_valid(self):
        return not self.errors

    @property
    def total(self):
        return sum((s.amount for s in self.shares if s.amount is not None), Decimal("0.00"))

    @property
    def remainder(self):
        """What is left undistributed (negative when over); zero for every valid result."""
        return (self.amount or Decimal("0.00")) - self.total

    def amounts(self):
        """{child key: Decimal amount} in child order (invalid children omitted)."""
        return {s.key: s.amount for s in self.shares if s.amount is not None}

    def to_json(self):
        """{str(child key): "123.45"}, decimals as strings, for the distribution record."""
        return {str(s.key): str(s.amount) for s in self.shares if s.amount is not None}

    def messages(self, labels=None):
        """Human sentences naming the child: ["Planning & Design: the weight must be 0 or more.", …]."""
        labels = labels or {}
        out = []
        for key, problems in self.errors.items():
            if key in (AMOUNT, ALL):
                name = "Amount" if key == AMOUNT else None
            else:
                name = labels.get(key, f"Child {key}")
            out.extend(f"{name}: {p}" if name else p for p in problems)
        return out


def distribute_equal(amount, children):
    """Split `amount` in equal shares over `children` (a count n ≥ 1, or a sequence of child keys)."""
    keys = list(range(children)) if isinstance(children, int) else list(children)
    errors = {}
    value = _amount(amount, errors)
    if not keys:
        errors.setdefault(ALL, []).append("There are no children to distribute over.")
    if errors:
        return DistributionResult("equal", value, tuple(Share(k, None) for k in keys), errors)
    return DistributionResult("equal", value, _shares(value, keys, [1] * len(keys)))


def distribute_weighted(amount, weights):
    """Split `amount` by a percentage per child: each ≥ 0, at most 2 decimals, together exactly 100.

    `weights`: a mapping {child key: weight} (in child order) or a sequence of weights (keys 0, 1, …)."""
    pairs = _pairs(weights)
    errors = {}
    value = _amount(amount, errors)
    if not pairs:
        errors.setdefault(ALL, []).append("There are no children to distribute over.")
    parsed = []
    for key, raw in pairs:
        weight = _number(_without_percent(raw), key, errors, "weight", "Enter a weight in percent (0 for none).")
        if weight is not None and weight > HUNDRED:
            errors.setdefault(key, []).append("The weight cannot be more than 100 %.")
            weight = None
        parsed.append((key, weight))
    if parsed and all(w is not None for _, w in parsed):
        total = sum((w for _, w in parsed), Decimal(0))
        if total != HUNDRED:
            gap = HUNDRED - total
            side = f"{gap:.2f} % missing" if gap > 0 else f"{-gap:.2f} % too much"
            errors.setdefault(ALL, []).append(
                f"The weights add up to {total:.2f} %; they must add up to exactly 100 % ({side}).")
    if errors:
        shares = tuple(Share(k, _floor_share(value, w) if value is not None and w is not None else None, w)
                       for k, w in parsed)
        return DistributionResult("weighted", value, shares, errors)
    shares = _shares(value, [k for k, _ in parsed], [w for _, w in parsed])
    return DistributionResult("weighted", value,
                              tuple(Share(s.key, s.amount, w) for s, (_, w) in zip(shares, parsed, strict=True)))


def distribute_manual(amount, amounts):
    """Take an amount per child as given: each ≥ 0 in centavos, together exactly `amount`.

    `amounts`: a mapping {child key: amount} (in child order) or a sequence (keys 0, 1, …)."""
    pairs = _pairs(amounts)
    errors = {}
    value = _amount(amount, errors)
    if not pairs:
        errors.setdefault(ALL, []).append("There are no children to distribute over.")
    shares = []
    for key, raw in pairs:
        share = _number(raw, key, errors, "amount", "Enter an amount (0 for none).")
        shares.append(Share(key, share, share))
    total = sum((s.amount for s in shares if s.amount is not None), Decimal("0.00"))
    if value is not None and shares and all(s.amount is not None for s in shares) and total != value:
        gap = value - total
        side = f"{format_pesos(gap)} left to distribute" if gap > 0 else f"{format_pesos(-gap)} over"
        errors.setdefault(ALL, []).append(
            f"The amounts add up to {format_pesos(total)}, not {format_pesos(value)} ({side}).")
    return DistributionResult("manual", value, tuple(shares), errors)


def distribute(method, amount, children, inputs=None):
    """Dispatch by method name: inputs are the weights or amounts {child key: value} (unused for equal)."""
    if method == "equal":
        return distribute_equal(amount, children)
    if method == "weighted":
        return distribute_weighted(amount, {k: (inputs or {}).get(k) for k in children})
    if method == "manual":
        return distribute_manual(amount, {k: (inputs or {}).get(k) for k in children})
    raise ValueError(f"unknown distribution method {method!r}; choose one of {', '.join(METHODS)}")


def weights_from_amounts(amounts):
    """Percentages (2 decimals, summing to exactly 100) in proportion to {key: amount}; equal when all are 0.
    Largest remainder (at the hundredth of a percent), like the shares. {} for no keys."""
    keys = list(amounts)
    if not keys:
        return {}
    basis = [Decimal(amounts[k]) for k in keys]
    if not any(basis):
        basis = [1] * len(keys)
    return dict(zip(keys, split_largest_remainder(HUNDRED, basis), strict=True))


def rescale_below(allocations, targets):
    """Scale the items below some nodes in proportion to the nodes' new amounts, all the way down.

    `allocations`: {id: (parent id, allocated)} of the nodes' subtrees, in tree order; `targets`: {node id:
    new amount}. A node going from A to A' whose items hold T gets items holding floor(T × A' / A) to the
    centavo (so they never exceed A'), split over them in proportion to what each holds
    (split_largest_remainder); each item whose amount changes has its own items scaled the same way.
    Returns {container id: {item id: new amount}} for every container whose items change.

        rescale_below({1: (None, D("100")), 2: (1, D("60")), 3: (1, D("40"))}, {1: D("50")})
        # {1: {2: Decimal("30.00"), 3: Decimal("20.00")}}
    """
    items = {}
    for node_id, (parent_id, _) in allocations.items():
        items.setdefault(parent_id, []).append(node_id)
    out, pending = {}, list(targets.items())
    while pending:
        node_id, new = pending.pop()
        kids = items.get(node_id, [])
        held = [Decimal(allocations[kid][1]) for kid in kids]
        old = max(Decimal(allocations[node_id][1]), sum(held, Decimal(0)))
        if not any(held) or Decimal(new) == old:
            continue
        total = Decimal(_to_cents(sum(held, Decimal(0))) * _to_cents(new) // _to_cents(old)) / 100
        amounts = dict(zip(kids, split_largest_remainder(total, held), strict=True))
        out[node_id] = amounts
        pending.extend((kid, amount) for kid, amount, before in zip(kids, amounts.values(), held, strict=True)
                       if amount != before)
    return out


# Internals -----------------------------------------------------------------------------------------------

def _pairs(values):
    if isinstance(values, dict):
        return list(values.items())
    return list(enumerate(values))


def _without_percent(raw):
    """A weight typed as "12.5 %" is read as 12.5."""
    return raw.strip().removesuffix("%") if isinstance(raw, str) else raw


def _number(raw, key, errors, what, missing):
    """The amount or weight in `raw` (≥ 0, at most 2 decimals), or None with its problems added to errors."""
    try:
        return parse_amount(raw)
    except AmountError as error:
        problems = {BLANK: missing, NOT_A_NUMBER: f"The {what} is not a number.",
                    TOO_LARGE: f"The {what} is too large.", NEGATIVE: f"The {what} must be 0 or more.",
                    TOO_MANY_DECIMALS: f"The {what} may have at most 2 decimals."}
        errors.setdefault(key, []).extend(problems[reason] for reason in error.reasons)
        return None


def _amount(raw, errors):
    return _number(raw, AMOUNT, errors, "amount", "Enter the amount to distribute.")


def _to_cents(value):
    return int(value * 100)


def _floor_share(amount, weight):
    cents = _to_cents(amount) * int(weight * HUNDRED) // 10000
    return Decimal(cents) / 100


def _shares(amount, keys, weights):
    return tuple(Share(k, a) for k, a in zip(keys, split_largest_remainder(amount, weights), strict=True))
