"""Where new bounds go: the bounds of a tree keep free numbers between them, so most writes shift nothing.

An insert fits the new node into the free numbers beside its siblings and writes one row (plus its
ancestors' roll-ups); a delete leaves its numbers free; a move rewrites only the subtree it carries. Only a
place with no free number left needs the classic nested-set shift, and that shift opens room for many more
(OPENING). Bounds are 64-bit: a root created alone spans 1 … ROOT_SPAN; nodes numbered together (bulk
insert, rebuild) are STEP apart.
"""
STEP = 1 << 16
ROOT_SPAN = 1 << 40
OPENING = 1 << 20


def place(lo, hi, span):
    """The lft of a block [lft, lft + span] strictly between the bounds lo and hi, or None when it does not
    fit. A sixteenth of the spare numbers stays before it (for inserts before), the rest after (appends)."""
    spare = hi - lo - 2 - span
    if spare < 0:
        return None
    return lo + 1 + spare // 16


def new_span(lo, hi):
    """rgt − lft of a new node between lo and hi: a quarter of the free numbers, so its children fit later."""
    return max(1, (hi - lo - 1) // 4)


def opening(span):
    """The width of the gap to open where a block of `span` does not fit."""
    return span + 2 + OPENING


def step_for(lo, hi, bounds):
    """The distance between `bounds` consecutive bounds numbered strictly between lo and hi (at most STEP), or
    0 when they do not fit."""
    return min(STEP, (hi - lo - 1) // (bounds + 1))
