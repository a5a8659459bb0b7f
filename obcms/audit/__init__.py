"""The append-only audit trail: who changed what, when and why, with personal data redacted."""
from .mixins import Audited  # noqa: F401
