"""Exact money arithmetic inside SQL on both backends.

PostgreSQL keeps NUMERIC(14, 2) exact. SQLite stores a NUMERIC column as a REAL (the nearest double to the
centavo value), so sums of many REALs may drift. Both are handled by summing integer centavos:
`cents(col)` is exact on both (a 14-digit value fits a double's 15-16 significant digits), integer sums are
exact, and `money_from_cents` turns the sum back into the column's representation.
"""
import sqlalchemy as sa

from ..db_types import Money


def cents(column, sqlite):
    """The value in integer centavos."""
    if sqlite:
        return sa.cast(sa.func.round(column * 100), sa.Integer)
    return sa.cast(column * 100, sa.BigInteger)


def money_from_cents(expression, sqlite):
    """Integer centavos back to money (typed as Money, so results come back as Decimal)."""
    if sqlite:
        return sa.type_coerce(expression / 100.0, Money())
    return sa.type_coerce(sa.cast(expression, sa.Numeric(16, 0)) / 100, Money())


def money_sum(column, sqlite):
    """SUM(column) exact to the centavo; 0 when there are no rows."""
    return money_from_cents(sa.func.coalesce(sa.func.sum(cents(column, sqlite)), 0), sqlite)
