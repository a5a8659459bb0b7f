"""The rules for organizations and users. Views, the admin console and the CLI all come through here.

Services never commit: the caller owns the transaction.
"""
import re
import secrets

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..columns import check_lengths
from ..db_types import utcnow
from ..errors import ValidationFailed
from ..extensions import db
from ..ops.metrics import SIGN_IN_FAILURES
from .models import ORGANIZATION_KINDS, ORGANIZATION_SCOPED_ROLES, ROLES, Organization, User
from .passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from .sessions import sign_out_everywhere

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,80}$")
# Which organization kinds each role may belong to; None means "no organization needed".
ROLE_ORGANIZATION_KINDS = {
    "moa_staff": {"moa"},
    "viewer": set(ORGANIZATION_KINDS),
    "mfbm_analyst": None,
    "bpda_planner": None,
}


def _clean(value):
    return (value or "").strip()


def _no_nul(errors, **fields):
    for name, value in fields.items():
        if value and "\x00" in value:
            errors.setdefault(name, []).append("Contains an invalid character.")


def _check_unique(errors, model, field, value, exclude_id=None, message=None):
    stmt = sa.select(model.id).where(sa.func.lower(getattr(model, field)) == value.lower())
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        errors.setdefault(field, []).append(message or f"This {field.replace('_', ' ')} is already taken.")


# Organizations ------------------------------------------------------------------------------------------

def validate_organization(name, acronym, kind, contact_email, exclude_id=None):
    errors = {}
    _no_nul(errors, name=name, acronym=acronym, contact_email=contact_email)
    check_lengths(errors, Organization, name=name, acronym=acronym, contact_email=contact_email)
    if not name:
        errors.setdefault("name", []).append("Enter the organization's name.")
    if not acronym:
        errors.setdefault("acronym", []).append("Enter a short acronym.")
    if kind not in ORGANIZATION_KINDS:
        errors.setdefault("kind", []).append(f"Choose one of: {', '.join(ORGANIZATION_KINDS)}.")
    if contact_email and not EMAIL_RE.match(contact_email):
        errors.setdefault("contact_email", []).append("Enter a valid e-mail address.")
    if name and "name" not in errors:
        _check_unique(errors, Organization, "name", name, exclude_id)
    if acronym and "acronym" not in errors:
        _check_unique(errors, Organization, "acronym", acronym, exclude_id)
    if errors:
        raise ValidationFailed("The organization could not be saved.", errors=errors)


def create_organization(name, acronym, kind, contact_email=None):
    name, acronym, contact_email = _clean(name), _clean(acronym), _clean(contact_email) or None
    validate_organization(name, acronym, kind, contact_email)
    org = Organization(name=name, acronym=acronym, kind=kind, contact_email=contact_email)
    db.session.add(org)
    db.session.flush()
    return org


def update_organization(org, *, name, acronym, kind, contact_email=None, is_active=True):
    name, acronym, contact_email = _clean(name), _clean(acronym), _clean(contact_email) or None
    validate_organization(name, acronym, kind, contact_email, exclude_id=org.id)
    if org.kind == "moa" and kind != "moa" and _has_moa_staff(org):
        raise ValidationFailed("The organization has MOA staff.",
                               errors={"kind": ["MOA staff belong to it: move them first."]})
    org.name, org.acronym, org.kind, org.contact_email, org.is_active = name, acronym, kind, contact_email, is_active
    db.session.flush()
    return org


def _has_moa_staff(org):
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(User.organization_id == org.id, User.role == "moa_staff")) > 0


# Users --------------------------------------------------------------------------------------------------

def _validate_role_and_organization(errors, role, organization):
    if role not in ROLES:
        errors.setdefault("role", []).append(f"Choose one of: {', '.join(ROLES)}.")
        return
    kinds = ROLE_ORGANIZATION_KINDS.get(role)
    if role in ORGANIZATION_SCOPED_ROLES and organization is None:
        errors.setdefault("organization", []).append("This role needs an organization.")
    elif kinds and organization is not None and organization.kind not in kinds:
        errors.setdefault("organization", []).append(
            f"A {role.replace('_', ' ')} must belong to an organization of kind {', '.join(sorted(kinds))}.")


def validate_password(password, field="password"):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("The password is too short.",
                               errors={field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})


def create_user(username, email, password, role, organization=None, full_name=""):
    username, email, full_name = _clean(username), _clean(email).lower(), _clean(full_name)
    errors = {}
    _no_nul(errors, username=username, email=email, full_name=full_name)
    check_lengths(errors, User, username=username, email=email, full_name=full_name)
    if not USERNAME_RE.match(username):
        errors.setdefault("username", []).append("3–80 letters, digits, dots, dashes or underscores.")
    else:
        _check_unique(errors, User, "username", username)
    if not EMAIL_RE.match(email):
        errors.setdefault("email", []).append("Enter a valid e-mail address.")
    else:
        _check_unique(errors, User, "email", email)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors.setdefault("password", []).append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    _validate_role_and_organization(errors, role, organization)
    if errors:
        raise ValidationFailed("The user could not be saved.", errors=errors)
    user = User(username=username, email=email, full_name=full_name, role=role, organization=organization,
                password_hash=hash_password(password), session_token=secrets.token_hex(16))
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user, *, email, full_name, role, organization, is_active):
    email, full_name = _clean(email).lower(), _clean(full_name)
    errors = {}
    _no_nul(errors, email=email, full_name=full_name)
    check_lengths(errors, User, email=email, full_name=full_name)
    if not EMAIL_RE.match(email):
        errors.setdefault("email", []).append("Enter a valid e-mail address.")
    else:
        _check_unique(errors, User, "email", email, exclude_id=user.id)
    _validate_role_and_organization(errors, role, organization)
    if user.role == "admin" and (role != "admin" or not is_active) and _is_last_active_admin(user):
        errors.setdefault("role", []).append("This is the last active administrator.")
    if errors:
        raise ValidationFailed("The user could not be saved.", errors=errors)
    if user.is_active and not is_active:
        sign_out_everywhere(user)
    user.email, user.full_name, user.role, user.organization, user.is_active = (
        email, full_name, role, organization, is_active)
    db.session.flush()
    return user


def _is_last_active_admin(user):
    others = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.role == "admin", User.is_active.is_(True), User.id != user.id))
    return others == 0


def deactivate_user(user):
    return update_user(user, email=user.email, full_name=user.full_name, role=user.role,
                       organization=user.organization, is_active=False)


def set_password(user, password):
    """Set a new password and sign the user out everywhere."""
    validate_password(password)
    user.password_hash = hash_password(password)
    sign_out_everywhere(user)
    return user


def reset_password(user):
    """Give the user a fresh random password (returned once, to be handed over) and end their sessions."""
    password = secrets.token_urlsafe(12)
    set_password(user, password)
    return password


def account_key(login):
    """One key per account for the per-account sign-in limit, whether it is named by username or e-mail (in
    any case and spacing); a name that is no account keeps its own key. One query."""
    login = _clean(login).lower()[:254]
    user_id = None
    if login and "\x00" not in login:
        user_id = db.session.scalar(sa.select(User.id).where(
            sa.or_(sa.func.lower(User.username) == login, User.email == login)))
    return f"account:{user_id}" if user_id is not None else f"account:?{login}"


def authenticate(login, password):
    """The active user with this username or e-mail and password, else None (same cost either way)."""
    login = _clean(login)
    user = None
    if login and "\x00" not in login and "\x00" not in (password or ""):
        user = db.session.scalar(sa.select(User).where(
            sa.or_(sa.func.lower(User.username) == login.lower(), User.email == login.lower())))
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.is_active:
        SIGN_IN_FAILURES.inc()
        return None
    # Bookkeeping, not an edit: written past the version counter, so that two browsers signing in to one
    # account at once, or an admin's open edit form of this user, never meet a conflict because of it.
    values = {"last_login_at": utcnow()}
    if needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    db.session.execute(sa.update(User.__table__).where(User.__table__.c.id == user.id).values(**values))
    for name, value in values.items():
        set_committed_value(user, name, value)
    return user
