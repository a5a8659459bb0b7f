"""Bearer tokens for the API: create (shown once), revoke, and the Flask-Login request loader.

    token, secret = create_token(user, "reporting script")   # print `secret` once; only its digest is kept
    token, secret = create_token(user, "sync", scope="write", expires_in_days=90)
    revoke_token(token)
    # client:  Authorization: Bearer obcms_…

The request loader answers only for /api/ paths, so a token never signs anyone in to the HTML pages. A
request signed in by token is marked (g.api_token_id) so the API blueprint exempts it from CSRF (a browser
never sends the header by itself) while session-authenticated API writes keep CSRF. Its scope is kept in
g.api_token_scope: the API blueprint refuses a read token's writes (403). An expired token signs nobody in (401).
"""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import g
from flask.sessions import SecureCookieSessionInterface

from ..auth.models import User
from ..db_types import utcnow
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from .models import TOKEN_SCOPES, ApiToken

PREFIX = "obcms_"
# last_used_at is written at most this often per token (a write per request would double the API's cost).
TOUCH_EVERY = timedelta(minutes=5)
MAX_DAYS = 3660


def hash_token(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user, name, scope="read", expires_in_days=None):
    """A new token for `user`: (ApiToken, the secret to give the user — it is not stored). `scope` "read"
    (GET only) or "write"; `expires_in_days` None for a token that lasts until revoked."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Name the token (up to 100 characters), e.g. what will use it.",
                               errors={"name": ["Up to 100 characters, not empty."]})
    if scope not in TOKEN_SCOPES:
        raise ValidationFailed("A token reads, or reads and writes.", errors={"scope": ["Choose read or write."]})
    if expires_in_days is not None and not (isinstance(expires_in_days, int) and 1 <= expires_in_days <= MAX_DAYS):
        raise ValidationFailed("A token expires after 1 to 3660 days, or never.",
                               errors={"expires_in_days": [f"A whole number of days from 1 to {MAX_DAYS}."]})
    if not user.is_active:
        raise ValidationFailed(f"{user.username} is deactivated.", errors={"user": ["Deactivated."]})
    secret = PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret), scope=scope, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    return token, secret


def own_token(user, token_id):
    """The user's own token with this id, else NotFound (another user's token is no different from none)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("There is no such API token of yours.")
    return token


def revoke_token(token):
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def bearer_secret(request):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def judged_by_token(request):
    """An API request that carries a bearer token: only the token says who it is."""
    return request.path.startswith("/api/") and bearer_secret(request) is not None


class TokenRequestsIgnoreTheCookie(SecureCookieSessionInterface):
    """A request judged by its bearer token neither reads the browser's session cookie (stale, or another
    user's: session protection would otherwise refuse the request, or the cookie's user would win over the
    token's) nor writes one."""

    def open_session(self, app, request):
        if judged_by_token(request):
            return self.session_class()  # empty and never modified: no Set-Cookie
        return super().open_session(app, request)


def load_user_from_request(request):
    """Flask-Login request_loader: the active user of a valid, unrevoked, unexpired bearer token on /api/ (one
    query)."""
    if not request.path.startswith("/api/"):
        return None
    secret = bearer_secret(request)
    if secret is None or "\x00" in secret:
        return None
    row = db.session.execute(
        sa.select(ApiToken.id, ApiToken.name, ApiToken.scope, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None),
               sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
               User.is_active.is_(True))).first()
    if row is None:
        return None
    g.api_token_id = row.id
    g.api_token_name = row.name
    g.api_token_scope = row.scope
    g.api_token_touch = row.last_used_at is None or utcnow() - row.last_used_at >= TOUCH_EVERY
    return row.User


def tokens_of(user):
    """The user's tokens, newest first (revoked ones included: the account page shows them as revoked)."""
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


def touch_token(token_id):
    """Record that the token was used now (a plain UPDATE; not audited)."""
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
