"""Bearer tokens for the API: create (shown once), revoke, and the Flask-Login request loader.

    token, secret = create_token(user, "reporting script")   # print `secret` once; only its digest is kept
    revoke_token(token)
    # client:  Authorization: Bearer obcms_…

The request loader answers only for /api/ paths, so a token never signs anyone in to the HTML pages. A
request signed in by token is marked (g.api_token_id) so the API blueprint exempts it from CSRF (a browser
never sends the header by itself) while session-authenticated API writes keep CSRF.
"""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import g
from flask.sessions import SecureCookieSessionInterface

from ..auth.models import User
from ..db_types import utcnow
from ..errors import ValidationFailed
from ..extensions import db
from .models import ApiToken

PREFIX = "obcms_"
# last_used_at is written at most this often per token (a write per request would double the API's cost).
TOUCH_EVERY = timedelta(minutes=5)


def hash_token(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user, name):
    """A new token for `user`: (ApiToken, the secret to give the user — it is not stored)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("Name the token (up to 100 characters), e.g. what will use it.",
                               errors={"name": ["Up to 100 characters, not empty."]})
    if not user.is_active:
        raise ValidationFailed(f"{user.username} is deactivated.", errors={"user": ["Deactivated."]})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret))
    db.session.add(token)
    db.session.flush()
    return token, secret


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
    """Flask-Login request_loader: the active user of a valid, unrevoked bearer token on /api/ (one query)."""
    if not request.path.startswith("/api/"):
        return None
    secret = bearer_secret(request)
    if secret is None or "\x00" in secret:
        return None
    row = db.session.execute(
        sa.select(ApiToken.id, ApiToken.last_used_at, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None),
               User.is_active.is_(True))).first()
    if row is None:
        return None
    g.api_token_id = row.id
    g.api_token_touch = row.last_used_at is None or utcnow() - row.last_used_at >= TOUCH_EVERY
    return row.User


def touch_token(token_id):
    """Record that the token was used now (a plain UPDATE; not audited)."""
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
