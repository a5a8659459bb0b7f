"""Ids and other whole numbers typed by users (query arguments, form fields), read safely.

    parse_id("42") -> 42;  parse_id("-1"), parse_id("²"), parse_id("9" * 30), parse_id(None) -> None

Only ASCII digits count ("²".isdigit() is true, yet int("²") fails), and only up to MAX_ID: the largest value
of the id columns (PostgreSQL `integer`; a larger parameter is an "out of range" error there, and beyond 64 bits
the SQLite driver raises)."""

MAX_ID = 2**31 - 1


def parse_id(value):
    """A non-negative int no larger than MAX_ID from text, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_ID else None
    text = (value or "").strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None
