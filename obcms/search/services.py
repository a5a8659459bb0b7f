"""Search with its cache: identical searches by users of the same scope are answered from the cache (Redis in
production, a SimpleCache embedded) for SEARCH_CACHE_SECONDS, until a commit touches a searched kind.

The cache key carries a generation token; a commit that wrote a PPA, work item, calendar event, organization
or user (ORM flush, or a Core INSERT/UPDATE/DELETE on their tables through the session) replaces the token
after it committed, so every older entry is simply never asked for again (they expire on their own).
"""
import hashlib
import logging
import uuid

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..auth.models import Organization, User
from ..calendar.models import CalendarEvent
from ..extensions import cache
from ..ppas.models import Ppa
from ..transaction import after_commit
from ..workitems.models import WorkItem
from . import queries
from .index import SEARCHED

log = logging.getLogger(__name__)

GENERATION_KEY = "search:generation"
SEARCHED_MODELS = (Ppa, WorkItem, CalendarEvent, Organization, User)
# Changes to these alone do not change what search shows (a sign-in, a version bump).
IGNORED_ATTRIBUTES = {"updated_at", "version", "last_login_at", "session_token", "password_hash"}


def live(user, query, render=None):
    """The live list's hits ({kind: [Hit]}), or with `render` (hits → HTML) the list as rendered: the cache
    then keeps the HTML, keyed by the query as typed (the list repeats it)."""
    if render is None:
        return _cached(("live", query.strip().lower()), user, lambda: queries.live_search(user, query))
    return _cached(("live-html", query), user, lambda: render(live(user, query)))


def full(user, query, filters, page):
    key = ("full", query.strip().lower(), sorted(filters.active.items()), str(page))
    return _cached(key, user, lambda: queries.full_search(user, query, filters, page))


def _cached(what, user, compute):
    try:
        generation = cache.get(GENERATION_KEY) or "0"
        key = "search:" + hashlib.sha256(repr((generation, queries.scope_key(user), what)).encode()).hexdigest()
        found = cache.get(key)
    except Exception:  # an unreachable cache never fails a search
        log.warning("search cache unavailable", exc_info=True)
        return compute()
    if found is not None:
        return found
    result = compute()
    try:
        cache.set(key, result, timeout=current_app.config["SEARCH_CACHE_SECONDS"])
    except Exception:
        log.warning("search cache unavailable", exc_info=True)
    return result


def bump_generation():
    """Make every cached search stale (called after a commit that wrote a searched kind)."""
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=0)
    except Exception:
        log.warning("search cache unavailable: not invalidated", exc_info=True)


def _touches_search(obj):
    if not isinstance(obj, SEARCHED_MODELS):
        return False
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in IGNORED_ATTRIBUTES)


def _bump_after_commit(session):
    if not session.info.get("search_bump"):
        session.info["search_bump"] = True
        after_commit(_bumped(session), session)


def _bumped(session):
    def bump():
        session.info.pop("search_bump", None)
        bump_generation()
    return bump


@event.listens_for(Session, "before_flush")
def _watch_flush(session, flush_context, instances):
    if any(isinstance(obj, SEARCHED_MODELS) for obj in (*session.new, *session.deleted)) or any(
            _touches_search(obj) for obj in session.dirty):
        _bump_after_commit(session)


@event.listens_for(Session, "do_orm_execute")
def _watch_statements(state):
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in SEARCHED:
            _bump_after_commit(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop("search_bump", None)
