"""People, their organizations and roles."""
import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..audit.mixins import Audited
from ..db_types import UTCDateTime, enum_column_type, utcnow
from ..extensions import db

ORGANIZATION_KINDS = ("oobc", "moa", "lgu", "nga", "oversight")

ROLES = ("admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer")
ROLE_LABELS = {
    "admin": "Administrator",
    "oobc_executive": "OOBC executive",
    "oobc_staff": "OOBC staff",
    "moa_staff": "MOA staff",
    "mfbm_analyst": "MFBM analyst",
    "bpda_planner": "BPDA planner",
    "viewer": "Viewer",
}
# Roles whose holder belongs to exactly one organization that scopes what they see.
ORGANIZATION_SCOPED_ROLES = ("moa_staff", "viewer")


class TimestampMixin:
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class Organization(Audited, TimestampMixin, db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    acronym: Mapped[str] = mapped_column(sa.String(30), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(enum_column_type(ORGANIZATION_KINDS, "organization_kind"), nullable=False)
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    users = relationship("User", back_populates="organization")

    __mapper_args__ = {"version_id_col": version}

    def __str__(self):
        return self.acronym


class User(Audited, UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __audit_exclude__ = ("password_hash", "session_token", "last_login_at")
    __audit_personal__ = ("email",)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), nullable=False, unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    role: Mapped[str] = mapped_column(enum_column_type(ROLES, "user_role"), nullable=False, default="viewer")
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    last_login_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # Changed on password reset or deactivation: invalidates every session and remember-me cookie.
    session_token: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    organization = relationship("Organization", back_populates="users", lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    # The sign-in this user object was loaded through (obcms.auth.sessions); its cookies carry get_id().
    sign_in_key = None

    def get_id(self):
        """'<user id>:<session token>:<sign-in id>:<secret>' — the browser's sign-in (ended at sign-out) and the
        user's session token (changed by a password reset, a deactivation or "sign out everywhere")."""
        if self.sign_in_key is None:  # not signed in through obcms.auth.sessions: a value no cookie may carry
            return f"{self.id}:{self.session_token}"
        return f"{self.id}:{self.session_token}:{self.sign_in_key}"

    @property
    def display_name(self):
        return self.full_name or self.username

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)

    def __str__(self):
        return self.username


class SignIn(db.Model):
    """One signed-in browser of a user: its session and remember cookies name this row, so signing out ends it
    server-side (an old cookie replayed finds it ended), and the account page lists and ends the others."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)  # SHA-256 of the cookie's secret
    created_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[object] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[object | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
