"""Why a change happens, and who and where it comes from: the facts every audit row carries.

    with acting_as("job:sync_ppa_progress"):   # background work: the actor is the job, not a user
        ...

    with audit_cause("roll-up from child #123"):
        ...  # every audit row written inside (ORM flushes and record_bulk_change) carries this cause
"""
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import inspect

from ..errors import request_id

_cause: ContextVar[str | None] = ContextVar("obcms_audit_cause", default=None)
_actor_label: ContextVar[str | None] = ContextVar("obcms_actor_label", default=None)
_carried_request_id: ContextVar[str | None] = ContextVar("obcms_request_id", default=None)


@contextmanager
def _setting(variable, value):
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


def acting_as(label):
    """Background work names its actor: `with acting_as("job:sync_ppa_progress"):` (or "cli:seed-demo")."""
    return _setting(_actor_label, label)


def current_actor_label():
    return _actor_label.get()


@contextmanager
def audit_cause(cause):
    """Label the changes made inside with a cause (nested causes join with ' ← ', innermost first)."""
    outer = _cause.get()
    token = _cause.set(f"{cause} ← {outer}" if outer else cause)
    try:
        yield
    finally:
        _cause.reset(token)


def current_cause():
    value = _cause.get()
    return value[:500] if value else None


def current_actor():
    """(user id or None, label): acting_as("job:…"/"cli:…") wins, else the signed-in user (with the API token's
    name when a token signed the request in: "jdoe (token:budget sync)"), else "system"."""
    label = current_actor_label()
    if label:
        return None, label
    if has_request_context():
        cached = g.get("_audit_actor")
        if cached:
            return cached
        user = g.get("_login_user")  # set by Flask-Login once the request loaded the user; never loads here
        if user is not None and getattr(user, "is_authenticated", False):
            identity = sa_identity(user)
            username = user.__dict__.get("username") or f"user#{identity}"
            if g.get("api_token_name"):  # an API request signed in by a token (obcms/api/tokens.py)
                username = f"{username} (token:{g.api_token_name})"[:120]
            g._audit_actor = (identity, username)
            return g._audit_actor
        return None, "anonymous"
    return None, "system"


def sa_identity(user):
    state = inspect(user)
    return state.identity[0] if state.identity else user.__dict__.get("id")


def client_ip():
    """The client address. Behind TRUSTED_PROXIES=n proxies: the X-Forwarded-For hop the outermost trusted
    proxy added (n-th from the right, as ProxyFix reads it; hops further left are client-supplied and could be
    forged); otherwise the socket's remote address."""
    if not has_request_context():
        return None
    trusted = int(current_app.config.get("TRUSTED_PROXIES") or 0) if has_app_context() else 0
    socket_address = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.remote_addr
    if trusted > 0:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            return hops[-trusted][:64]
    return (socket_address or "")[:64] or None


def carrying_request_id(value):
    """Work outside a request (a job run) carries the id of the request that asked for it."""
    return _setting(_carried_request_id, value)


def current_request_id():
    if not has_request_context():
        return _carried_request_id.get()
    return request_id()
