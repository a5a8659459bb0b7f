"""What a model's columns can hold, for the services' field errors (so no value reaches a column it does not
fit: PostgreSQL would refuse it with a 500, SQLite would keep it silently).

    check_lengths(errors, Organization, name=name, acronym=acronym)   # "At most 200 characters." per field
"""


def check_lengths(errors, model, **values):
    """Add "At most N characters." to `errors` for each text value longer than its column's length."""
    for name, value in values.items():
        length = getattr(model.__table__.c[name].type, "length", None)
        if length and isinstance(value, str) and len(value) > length:
            errors.setdefault(name, []).append(f"At most {length} characters.")
