import pytest

from obcms.audit.redaction import redact, redact_personal

CASES = [
    # e-mail addresses
    ("Contact juan.dela-cruz@mssd.gov.ph today", "Contact [email] today"),
    ("a+b@example.com, c@d.org", "[email], [email]"),
    # Philippine mobile numbers
    ("+63 917 123 4567", "[phone]"),
    ("+639171234567", "[phone]"),
    ("0917-123-4567", "[phone]"),
    ("09171234567", "[phone]"),
    ("call 0917 123 4567.", "call [phone]."),
    # Philippine landlines
    ("(02) 8123-4567", "[phone]"),
    ("(02) 8123 4567", "[phone]"),
    ("(082) 221-1234", "[phone]"),
    ("02-8123-4567", "[phone]"),
    # International
    ("+63 2 8123 4567", "[phone]"),
    ("+1 (415) 555-2671", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("+81-3-1234-5678", "[phone]"),
    # Government ID numbers
    ("TIN 123-456-789-000", "TIN [id number]"),
    ("TIN: 123-456-789", "TIN: [id number]"),
    ("SSS 12-3456789-0", "SSS [id number]"),
    ("PhilHealth 12-345678901-2", "PhilHealth [id number]"),
    ("UMID 1234-5678901-2", "UMID [id number]"),
    ("Email x@y.ph, mobile 09171234567, TIN 123-456-789-000",
     "Email [email], mobile [phone], TIN [id number]"),
    # No false positives: money, dates, codes, plain numbers
    ("₱ 1,234,567.89", "₱ 1,234,567.89"),
    ("1234567.89", "1234567.89"),
    ("2026-11-26", "2026-11-26"),
    ("from 2026-11-26 to 2027-01-05", "from 2026-11-26 to 2027-01-05"),
    ("PPA-2026-0001", "PPA-2026-0001"),
    ("MSSD-2026-001-0012", "MSSD-2026-001-0012"),
    ("PPA-123-456-789", "PPA-123-456-789"),
    ("FY 2026 budget 250000.00 for 1200 beneficiaries", "FY 2026 budget 250000.00 for 1200 beneficiaries"),
    ("Phase 2: Service Delivery 50 %", "Phase 2: Service Delivery 50 %"),
    ("", ""),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_redact(value, expected):
    assert redact(value) == expected


def test_cases_table_is_large_enough():
    assert len(CASES) >= 20


def test_none_stays_none():
    assert redact(None) is None
    assert redact_personal(None) is None


def test_personal_columns_keep_nothing_of_the_value():
    assert redact_personal("Juan Dela Cruz") == "[redacted]"
