"""The calendar pages (UI.md page 8): month, week and agenda over every dated thing, with the view's state in
the URL, swapped as htmx partials; the JSON window; an event's page.

    GET /calendar?view=month|week|agenda&date=2026-12-02&modules=planning,staff&mine=1&org=3
        month and week: each day's first entries (DAY_ENTRIES) and "+N more", which opens the day's agenda
        agenda: AGENDA_PAGE entries, then "Show more" (&offset=50: the next page; alone under htmx)
    GET /calendar/entries.json?start=2026-12-01&end=2027-01-01[&modules=…][&limit=1000]
        the window as JSON, its first days up to `limit` entries ("truncated", "next": where to go on)
    GET /calendar/events/<id>[?occurrence=20261203T0900]                        an event (one occurrence)
    GET /calendar/resources/<id>                                                a resource and its bookings
"""
import calendar as weekdays
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from ..auth.models import Organization
from ..auth.permissions import READ_ALL, can, require
from ..errors import NotFound, ValidationFailed
from ..extensions import db, limiter
from ..htmx import is_boosted_or_history, is_htmx, render_page
from ..transaction import writes
from . import feeds as feed_services
from . import ics, recurrence
from .models import HOLDING, Booking, CalendarEvent, Resource
from .queries import (
    MODULE_COLORS,
    MODULE_LABELS,
    MODULES,
    Filters,
    Window,
    agenda_page,
    calendar_days,
    occurrence_start,
    url_pattern,
    visible_event,
    visible_events,
    visible_resources,
    window_entries,
    window_json,
)

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

VIEWS = (("month", "Month"), ("week", "Week"), ("agenda", "Agenda"))
AGENDA_DAYS = 30
JSON_LIMIT, JSON_MAX_LIMIT = 1000, 5000  # entries of the JSON window, by default and at most
AGENDA_PAGE = 50  # entries per page of the agenda, then "Show more"
DAY_ENTRIES = {"month": 4, "week": 12}  # a grid's day lists this many, then "+N more" (that day's agenda)


def today():
    return datetime.now(recurrence.MANILA).date()


@dataclass(frozen=True)
class State:
    """What the URL says the calendar shows."""

    view: str
    anchor: date
    filters: Filters

    def args(self, **changes):
        """The query arguments of this state with some changed (for links that keep the rest)."""
        modules = changes.pop("modules", self.filters.modules)
        args = {"view": self.view, "date": self.anchor.isoformat(),
                "modules": ",".join(m for m in MODULES if m in modules) if set(modules) != set(MODULES) else None,
                "mine": "1" if self.filters.mine else None, "org": self.filters.organization_id}
        args.update(changes)
        return {key: value for key, value in args.items() if value not in (None, "")}

    def url(self, **changes):
        return url_for("calendar.index", **self.args(**changes))

    @property
    def window(self):
        if self.view == "week":
            start = self.anchor - timedelta(days=self.anchor.weekday())
            return Window(start, start + timedelta(days=7))
        if self.view == "agenda":
            return Window(self.anchor, self.anchor + timedelta(days=AGENDA_DAYS))
        first = self.anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        last = first.replace(day=weekdays.monthrange(first.year, first.month)[1])
        return Window(start, last + timedelta(days=7 - last.weekday()))

    def step(self, direction):
        """The anchor one view back (-1) or forward (+1)."""
        if self.view == "month":
            month = self.anchor.month - 1 + direction
            return date(self.anchor.year + month // 12, month % 12 + 1, 1)
        return self.anchor + timedelta(days=direction * (7 if self.view == "week" else AGENDA_DAYS))


def _parse_date(raw, name):
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(f"“{raw}” is not a date (YYYY-MM-DD).", errors={name: ["Use YYYY-MM-DD."]}) from None


def _modules(args):
    """The modules asked for: `modules=a,b` (links) or repeated `module=` (the filter form, with `filtered=1`
    so that unchecking every box means none); all when neither is given."""
    if "modules" in args:
        chosen = {m for part in args.getlist("modules") for m in part.split(",")}
    elif args.get("filtered") == "1":
        chosen = set(args.getlist("module"))
    else:
        return frozenset(MODULES)
    return frozenset(m for m in MODULES if m in chosen)


def _state():
    args = request.args
    view = args.get("view") if args.get("view") in dict(VIEWS) else "month"
    anchor = _parse_date(args["date"], "date") if args.get("date") else today()
    org = args.get("org", "")
    organization_id = int(org) if org.isascii() and org.isdigit() and len(org) < 10 else None
    return State(view, anchor, Filters(_modules(args), args.get("mine") == "1", organization_id))


def _title(state):
    window = state.window
    if state.view == "month":
        return state.anchor.strftime("%B %Y")
    last = window.end - timedelta(days=1)
    return f"{window.start:%-d %b} – {last:%-d %b %Y}"


def _organizations():
    """The organization filter's choices (global roles only): one query."""
    if current_user.role not in READ_ALL:
        return []
    return db.session.execute(sa.select(Organization.id, Organization.acronym).where(Organization.is_active)
                              .order_by(Organization.acronym)).all()


def _user():
    """The signed-in user itself: the reads below look at it for every row, which through the proxy costs."""
    return current_user._get_current_object()


def _number(name):
    """A small whole number from the URL; 0 when it is not one."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 0


@bp.get("")
def index():
    """The month or week grid (each day's first entries and "+N more") or a page of the agenda (the next page
    alone, as a fragment, for htmx's "Show more"). At most five queries with the user's."""
    require(current_user, "calendar.read")
    state = _state()
    window = state.window
    context = dict(state=state, window=window, today=today(), views=VIEWS, title=_title(state), modules=MODULES,
                   module_labels=MODULE_LABELS, module_colors=MODULE_COLORS,
                   may_create=can(current_user, "calendar.create"))
    if state.view == "agenda":
        offset = _number("offset")
        page = agenda_page(window, _user(), state.filters, offset, AGENDA_PAGE)
        context.update(page=page, offset=offset)
        if offset and is_htmx():
            return render_page("calendar/index.html", block="agenda_page", **context)
    else:
        days = calendar_days(window, _user(), state.filters, DAY_ENTRIES[state.view])
        context.update(days=days, weeks=[days[n:n + 7] for n in range(0, len(days), 7)])
    whole_page = not is_htmx() or is_boosted_or_history()  # an htmx swap of the body needs no filter choices
    return render_page("calendar/index.html", block="body", organizations=_organizations() if whole_page else [],
                       **context)


@bp.get("/entries.json")
def entries_json():
    """The window's entries as JSON (DOMAIN.md's entry fields). `start`, `end`: Manila days, end exclusive;
    `limit` (default JSON_LIMIT, at most JSON_MAX_LIMIT) entries at most: when the window holds more, only its
    first days come, with "truncated": true and "next": the day to ask from again (entries that span it come
    again, with the same id)."""
    require(current_user, "calendar.read")
    args = request.args
    if not args.get("start") or not args.get("end"):
        raise ValidationFailed("Give the window: start and end (YYYY-MM-DD).",
                               errors={"start": ["Required."], "end": ["Required."]})
    window = Window(_parse_date(args["start"], "start"), _parse_date(args["end"], "end"))
    entries, following = window_entries(window, _user(), _state().filters,
                                        min(_number("limit") or JSON_LIMIT, JSON_MAX_LIMIT))
    return jsonify(window_json(window, entries, following))


@bp.get("/events/<int:event_id>")
def event(event_id):
    require(current_user, "calendar.read")
    item = visible_event(event_id, current_user)
    occurrence = request.args.get("occurrence")
    start, end = item.starts_at.astimezone(recurrence.MANILA), item.ends_at.astimezone(recurrence.MANILA)
    if occurrence and item.rrule:
        start = occurrence_start(item, occurrence)
        end = start + (item.ends_at - item.starts_at)
    return render_page("calendar/event.html", event=item, start=start, end=end, occurrence=occurrence,
                       last_day=(end - timedelta(microseconds=1)).date(),
                       rule=recurrence.describe(item.rrule, start) if item.rrule else None,
                       may_manage=item.organizer_id == current_user.id or can(current_user, "calendar.manage", item))


@bp.get("/resources/<int:resource_id>")
def resource(resource_id):
    """A resource with its pending and approved bookings for 60 days from today (or ?from=). Everyone who may
    book it sees when it is busy; what a booking is for only within the booking's organization's scope."""
    require(current_user, "calendar.read")
    item = db.session.scalar(visible_resources(sa.select(Resource).where(Resource.id == resource_id), current_user))
    if item is None:
        raise NotFound(f"There is no resource #{resource_id} here.")
    start = _parse_date(request.args["from"], "from") if request.args.get("from") else today()
    window = Window(start, start + timedelta(days=60))
    bookings = db.session.scalars(
        sa.select(Booking).where(Booking.resource_id == item.id, Booking.status.in_(HOLDING),
                                 Booking.ends_at > window.starts_at, Booking.starts_at < window.ends_at)
        .order_by(Booking.starts_at)).all()
    return render_page("calendar/resource.html", resource=item, bookings=bookings, window=window,
                       may_read=lambda booking: can(current_user, "calendar.read", booking))


# --- feeds
# ICS subscriptions (DOMAIN.md "Calendar", ICS; obcms/calendar/feeds.py) and the download of one event:
#
#     GET  /calendar/feeds/new?modules=…&mine=1&org=3     name a subscription of that filter
#     POST /calendar/feeds                                  create it: its secret URL is shown this once
#     GET  /calendar/feeds/<token>.ics                      the feed (no sign-in: the token is the key; 404 when
#                                                           unknown or revoked; rate limited per feed)
#     POST /calendar/feeds/<id>/revoke                      the owner revokes it (anyone else: 404)
#     GET  /calendar/events/<id>.ics                        one event (its series and overrides) as a download

ICS_MIMETYPE = "text/calendar"


def _feed_filters(values):
    """The calendar filter a subscription is for, read like the calendar's URL (modules, mine, org)."""
    org = values.get("org", "")
    organization_id = int(org) if org.isascii() and org.isdigit() and len(org) < 10 else None
    return Filters(_modules(values), values.get("mine") == "1", organization_id)


def _subscribe_page(filters, status=200, **context):
    acronym = feed_services.organization_acronym(filters.organization_id)
    back = {"modules": ",".join(m for m in MODULES if m in filters.modules) if set(filters.modules) != set(MODULES)
            else None, "mine": "1" if filters.mine else None, "org": filters.organization_id}
    context = {"name": feed_services.default_name(filters, acronym), "created": None, "form_errors": [],
               "name_errors": [], **context}
    page = render_page("calendar/subscribe.html", block="panel", filters=filters,
                       words=feed_services.describe(filters, acronym), name_limit=feed_services.NAME_LIMIT,
                       back_url=url_for("calendar.index", **{k: v for k, v in back.items() if v is not None}),
                       days_back=feed_services.FEED_DAYS_BACK, days_ahead=feed_services.FEED_DAYS_AHEAD, **context)
    return page, status


@bp.get("/feeds/new")
def new_feed():
    require(current_user, "calendar.subscribe")
    return _subscribe_page(_feed_filters(request.args))


def _subscribe_form_again(error):
    errors = getattr(error, "errors", {}) or {}
    return _subscribe_page(_feed_filters(request.form), 422, name=request.form.get("name", ""),
                           name_errors=errors.get("name", []),
                           form_errors=[] if errors.get("name") else [str(error)])


@bp.post("/feeds")
@writes(on_error=_subscribe_form_again)
def create_feed():
    filters = _feed_filters(request.form)
    feed, token = feed_services.create_feed(current_user, request.form.get("name", ""), filters)
    feed_url = url_for("calendar.feed", token=token, _external=True)
    webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    body, status = _subscribe_page(filters, created=feed, feed_url=feed_url, webcal_url=webcal_url)
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once: no copy in any cache
    return response


def _feed_limit():
    return current_app.config.get("FEED_RATE_LIMIT", feed_services.FEED_RATE_LIMIT)


def _feed_key():
    """Per feed: the hash of the token in the URL (the secret itself never reaches the limiter's storage)."""
    return "calendar-feed:" + feed_services.hash_token(str((request.view_args or {}).get("token", "")))


def _ics_response(body, filename, attachment=False):
    response = Response(body, mimetype=ICS_MIMETYPE)
    response.headers["Content-Type"] = f"{ICS_MIMETYPE}; charset=utf-8"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/feeds/<token>.ics")
@limiter.limit(_feed_limit, key_func=_feed_key)
@writes
def feed(token):
    """A subscription's ICS, for its owner and filter as they are now. No sign-in: whoever has the URL is let
    in, so an unknown or revoked token is a plain 404 that says nothing about which."""
    subscription = feed_services.feed_for_token(token)
    if subscription is None:
        raise NotFound("There is no calendar here.")
    user, filters = subscription.user, feed_services.filters_from_json(subscription.filters)
    first, end = feed_services.feed_span(today())
    events = feed_services.feed_events(first, end, user, filters)
    entries = feed_services.feed_entries(first, end, user, filters)
    link = url_pattern("calendar.event", "event_id", _external=True)
    body = ics.build_calendar(subscription.name, events, entries, base_url=request.host_url,
                              event_url=lambda item: link.format(item.id))
    feed_services.touch(subscription)
    return _ics_response(body, "obcms.ics")


@bp.post("/feeds/<int:feed_id>/revoke")
@writes
def revoke_feed(feed_id):
    subscription = feed_services.revoke_feed(feed_services.own_feed(current_user, feed_id), current_user)
    flash(f"“{subscription.name}” is revoked: calendar apps that follow its URL get nothing from now on.", "success")
    return redirect(url_for("auth.account"), 303)


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id):
    """One event as an .ics download: a single event, or a series with its exceptions and the edited
    occurrences the user may see."""
    require(current_user, "calendar.read")
    item = visible_event(event_id, current_user)
    events = [item]
    if item.rrule:
        events += db.session.scalars(visible_events(sa.select(CalendarEvent).where(CalendarEvent.series_id == item.id),
                                                    current_user).order_by(CalendarEvent.starts_at)).all()
    body = ics.build_calendar(item.title, events, base_url=request.host_url,
                              event_url=lambda one: url_for("calendar.event", event_id=one.id, _external=True))
    return _ics_response(body, f"event-{item.id}.ics", attachment=True)
