"""What a model's columns can hold, for the services' field errors (so no value reaches a column it does not
fit: PostgreSQL would refuse it with a 500, SQLite would keep it silently).

    check_lengths(errors, Organization, name=name, acronym=acronym)   # "At most 200 characters." per field
    if not date_in_range(day): errors[name] = [DATE_RANGE_MESSAGE]     # plans are dated 1900 … 2200
"""
from datetime import date

EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2200, 12, 31)
DATE_RANGE_MESSAGE = "Enter a date from 1900 to 2200."


def date_in_range(value):
    """True for a date a plan may carry (1900-01-01 … 2200-12-31); the calendar's ends break date arithmetic."""
    return EARLIEST_DATE <= value <= LATEST_DATE


def check_lengths(errors, model, **values):
    """Add "At most N characters." to `errors` for each text value longer than its column's length."""
    for name, value in values.items():
        length = getattr(model.__table__.c[name].type, "length", None)
        if length and isinstance(value, str) and len(value) > length:
            errors.setdefault(name, []).append(f"At most {length} characters.")
