"""Personal data redaction for stored audit values.

    redact("Call 0917-123-4567 or juan@example.ph")  ->  "Call [phone] or [email]"

Masks e-mail addresses, phone numbers (Philippine mobile and landline shapes, and international numbers
written with a leading +) and government ID numbers (TIN, SSS, PhilHealth, UMID shapes). Money such as
1,234,567.89, ISO dates and PPA codes are left alone: every pattern is anchored so that it cannot start or end
inside a longer code (no letter, digit or dash right before or after a match).
"""
import re

EMAIL = "[email]"
PHONE = "[phone]"
ID_NUMBER = "[id number]"
PERSONAL = "[redacted]"

_EDGE_START = r"(?<![\w-])"
_EDGE_END = r"(?![\w-])"

_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), EMAIL),
    # Government IDs: TIN 123-456-789[-000], SSS 12-3456789-0, PhilHealth 12-345678901-2, UMID 1234-5678901-2.
    (re.compile(_EDGE_START + r"(?:\d{3}-\d{3}-\d{3}(?:-\d{3,5})?|\d{2}-\d{7}-\d|\d{2}-\d{9}-\d|\d{4}-\d{7}-\d)"
                + _EDGE_END), ID_NUMBER),
    # Philippine mobile: +63 917 123 4567, +639171234567, 0917-123-4567, 09171234567.
    (re.compile(_EDGE_START + r"(?:\+63|0)[ -]?9\d{2}[ -]?\d{3}[ -]?\d{4}" + _EDGE_END), PHONE),
    # Philippine landline: (02) 8123-4567, (082) 221-1234, 02-8123-4567.
    (re.compile(r"(?:\(0\d{1,3}\)\s?|" + _EDGE_START + r"0\d{1,3}[ -])\d{3,4}[ -]\d{4}" + _EDGE_END), PHONE),
    # International, written with +: +1 (415) 555-2671, +44 20 7946 0958, +81-3-1234-5678, +63 2 8123 4567.
    (re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}" + _EDGE_END), PHONE),
)


def redact(value):
    """The text with personal data masked; None stays None."""
    if value is None:
        return None
    text = str(value)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_personal(value):
    """A column marked personal: nothing of its value is kept, only whether it had one."""
    return None if value is None else PERSONAL
