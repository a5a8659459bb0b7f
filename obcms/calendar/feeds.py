"""Calendar subscriptions (DOMAIN.md "Calendar", ICS): a personal, secret URL for one filter of the calendar
that any calendar client can poll, and that its owner can revoke.

    feed, token = create_feed(user, "obcms – Planning", Filters(modules=frozenset({"planning"})))
    # the URL (/calendar/feeds/<token>.ics) is shown once; only sha256(token) is kept
    feed = feed_for_token(token)          # None when unknown, revoked, or its owner may no longer subscribe
    touch(feed)                           # last used (at most one write a minute)
    revoke_feed(feed, user)

What a feed shows is decided at each fetch, for its owner as they are then (role, organization) and with the
calendar's own scoping (queries.calendar_entries, queries.visible_events), over FEED_DAYS_BACK days back to
FEED_DAYS_AHEAD days ahead. Services never commit: the caller owns the transaction.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from ..auth.models import Organization
from ..auth.permissions import can, require
from ..db_types import utcnow
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from . import recurrence
from .models import CalendarEvent, CalendarFeed, event_participants
from .queries import MAX_DAYS, MODULE_LABELS, MODULES, Filters, Window, calendar_entries, visible_events

FEED_DAYS_BACK = 90
FEED_DAYS_AHEAD = 365
FEED_RATE_LIMIT = "60 per hour"  # per feed (FEED_RATE_LIMIT in the app config overrides it)
TOUCH_EVERY = timedelta(minutes=1)
NAME_LIMIT = 100
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything much longer is not ours
MANILA = recurrence.MANILA


def hash_token(token):
    """What is stored of a feed's secret: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------------------------- filters
def filters_to_json(filters):
    return {"modules": [m for m in MODULES if m in filters.modules], "mine": bool(filters.mine),
            "organization_id": filters.organization_id}


def filters_from_json(data):
    """The Filters a feed stored (unknown modules dropped, anything malformed read as its default)."""
    data = data if isinstance(data, dict) else {}
    modules = data.get("modules")
    modules = frozenset(m for m in modules if m in MODULES) if isinstance(modules, list) else frozenset(MODULES)
    organization_id = data.get("organization_id")
    if not isinstance(organization_id, int) or isinstance(organization_id, bool):
        organization_id = None
    return Filters(modules, data.get("mine") is True, organization_id)


def describe(filters, organization=None):
    """The filter in words: "Planning, Staff tasks · only mine · MSSD"."""
    if set(filters.modules) == set(MODULES):
        words = ["Everything"]
    elif filters.modules:
        words = [", ".join(MODULE_LABELS[m] for m in MODULES if m in filters.modules)]
    else:
        words = ["Nothing"]
    if filters.mine:
        words.append("only mine")
    if filters.organization_id is not None:
        words.append(organization or "an organization no longer listed")
    return " · ".join(words)


def default_name(filters, organization=None):
    """"obcms – Planning, Staff tasks (only mine)"."""
    if set(filters.modules) == set(MODULES):
        what = "Calendar"
    else:
        what = ", ".join(MODULE_LABELS[m] for m in MODULES if m in filters.modules) or "Calendar"
    extra = [word for word in ("only mine" if filters.mine else None,
                               organization if filters.organization_id is not None else None) if word]
    name = f"obcms – {what}" + (f" ({', '.join(extra)})" if extra else "")
    return name[:NAME_LIMIT]


def organization_acronym(organization_id):
    if organization_id is None:
        return None
    return db.session.scalar(sa.select(Organization.acronym).where(Organization.id == organization_id))


# ------------------------------------------------------------------------------------------------- writing
def create_feed(user, name, filters):
    """A new feed of `user` for `filters`: (the feed, its secret token). The token is returned this once and
    never stored; only its hash is."""
    require(user, "calendar.subscribe")
    name = " ".join((name or "").split())
    if not name:
        name = default_name(filters, organization_acronym(filters.organization_id))
    if len(name) > NAME_LIMIT:
        raise ValidationFailed(f"A name may have at most {NAME_LIMIT} characters (this has {len(name)}).",
                               errors={"name": [f"At most {NAME_LIMIT} characters."]})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(user_id=user.id, name=name, token_hash=hash_token(token), filters=filters_to_json(filters))
    db.session.add(feed)
    db.session.flush()
    return feed, token


def own_feed(user, feed_id):
    """The user's feed `feed_id` (revoked or not); NotFound for anyone else's."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.id == feed_id,
                                                           CalendarFeed.user_id == user.id))
    if feed is None:
        raise NotFound("There is no such calendar subscription of yours.")
    return feed


def revoke_feed(feed, user):
    """Revoke `user`'s own feed: its URL answers 404 from now on. Revoking twice changes nothing."""
    if feed.user_id != user.id:
        raise NotFound("There is no such calendar subscription of yours.")
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        db.session.flush()
    return feed


def touch(feed, now=None):
    """Note that the feed was fetched: last_used_at, written at most once a minute."""
    now = now or utcnow()
    if feed.last_used_at is None or now - feed.last_used_at >= TOUCH_EVERY:
        feed.last_used_at = now
        db.session.flush()


# ------------------------------------------------------------------------------------------------- reading
def feed_for_token(token):
    """The live feed whose secret is `token`, or None: unknown, revoked, or its owner is inactive or may no
    longer subscribe."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token),
                                                           CalendarFeed.revoked_at.is_(None)))
    if feed is None or feed.user is None or not feed.user.is_active or not can(feed.user, "calendar.subscribe"):
        return None
    return feed


@dataclass(frozen=True)
class ListedFeed:
    """A feed as the account page lists it."""

    id: int
    name: str
    words: str
    created_at: datetime
    last_used_at: datetime | None


def feeds_of(user):
    """The user's live feeds, newest first, with their filters in words (two queries)."""
    feeds = db.session.scalars(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id,
                                                             CalendarFeed.revoked_at.is_(None))
                               .order_by(CalendarFeed.created_at.desc(), CalendarFeed.id.desc())).all()
    filters = {feed.id: filters_from_json(feed.filters) for feed in feeds}
    wanted = {f.organization_id for f in filters.values() if f.organization_id is not None}
    names = dict(db.session.execute(sa.select(Organization.id, Organization.acronym)
                                    .where(Organization.id.in_(wanted))).all()) if wanted else {}
    return [ListedFeed(feed.id, feed.name, describe(filters[feed.id], names.get(filters[feed.id].organization_id)),
                       feed.created_at, feed.last_used_at) for feed in feeds]


def feed_span(today):
    """The Manila days [first, end) a feed covers when fetched on `today`."""
    return today - timedelta(days=FEED_DAYS_BACK), today + timedelta(days=FEED_DAYS_AHEAD)


def feed_events(first, end, user, filters):
    """The calendar events (series, single events and overrides) the user may see that can reach the Manila
    days [first, end), under `filters`, scoped like the calendar (queries.visible_events). ONE query."""
    if "coordination" not in filters.modules:
        return []
    column = CalendarEvent.__table__.c
    starts_at, ends_at = datetime.combine(first, time(), MANILA), datetime.combine(end, time(), MANILA)
    stmt = (sa.select(CalendarEvent)
            .where(column.starts_at < ends_at,
                   sa.or_(column.last_ends_at.is_(None), column.last_ends_at > starts_at)))
    stmt = visible_events(stmt, user)
    if filters.organization_id is not None:
        stmt = stmt.where(column.organization_id == filters.organization_id)
    if filters.mine:
        stmt = stmt.where(sa.or_(column.organizer_id == user.id, column.id.in_(
            sa.select(event_participants.c.event_id).where(event_participants.c.user_id == user.id))))
    return list(db.session.scalars(stmt.order_by(column.starts_at, column.id).limit(20000)))


def feed_entries(first, end, user, filters):
    """The other calendar entries (work items, PPA dates, bookings) of the Manila days [first, end), read in
    windows of at most MAX_DAYS, each once."""
    others = Filters(frozenset(m for m in filters.modules if m != "coordination"), filters.mine,
                     filters.organization_id)
    if not others.modules:
        return []
    seen, out = set(), []
    day = first
    while day < end:
        last = min(day + timedelta(days=MAX_DAYS), end)
        for entry in calendar_entries(Window(day, last), user, others):
            if entry.id not in seen:
                seen.add(entry.id)
                out.append(entry)
        day = last
    return out
