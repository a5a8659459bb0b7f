"""Column types shared by every domain: UTC-aware timestamps, money, enums stored as checked strings."""
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from .money import CENT


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """NUMERIC(14, 2) as Decimal, quantized to the centavo on the way in and out."""

    impl = sa.Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(CENT)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


def enum_column_type(values, name):
    """A VARCHAR with a CHECK constraint listing the allowed values (portable, migration-friendly)."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=40,
                   validate_strings=True)
