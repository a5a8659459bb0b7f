"""API tokens: a user's bearer credentials for /api/ (`Authorization: Bearer obcms_…`).

Only a SHA-256 digest of the token is stored (tokens are 256 random bits, so a fast digest is enough and
lets a request find its token with one indexed lookup); the token itself is shown once, when created.
A token is never edited, only revoked (revoked_at), so it carries no version column; last_used_at is
bookkeeping written by a plain UPDATE and not audited. A token's scope is "read" (safe methods only) or "write"
(everything its user may do); past expires_at (when set) it signs nobody in.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, utcnow
from ..extensions import db

TOKEN_SCOPES = ("read", "write")


class ApiToken(Audited, db.Model):
    __tablename__ = "api_tokens"
    __audit_exclude__ = ("last_used_at",)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at: Mapped[object | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[object | None] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="read", server_default="read")
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    __table_args__ = (sa.CheckConstraint("name <> ''", name="name_not_empty"),
                      sa.CheckConstraint("scope IN ('read', 'write')", name="scope_known"))

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or utcnow())
