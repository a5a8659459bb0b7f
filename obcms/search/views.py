"""Global search.

    GET /search/live?q=     the header box's live list (an htmx fragment; a listbox grouped by kind)
    GET /search?q=…         the results page: filters by kind, organization, fiscal year, status; pages
                            (an htmx request from its filter bar gets the results block only)

Both count against one limit per user (SEARCH_RATE_LIMIT); a 429 says so where the results would be.
"""
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import limiter
from ..htmx import is_htmx, render_page
from ..ids import parse_id
from ..pagination import Page
from . import queries, services, text

bp = Blueprint("search", __name__)


@bp.app_template_global("mark")
def mark(value, words):
    """`value` escaped, the words matching the query marked (obcms/search/text.py)."""
    return text.highlight(value, words)


def _limit():
    return current_app.config["SEARCH_RATE_LIMIT"]


def _per_user():
    return f"user:{current_user.id}"  # per person, whatever their sign-ins (get_id() names the sign-in)


search_limit = limiter.shared_limit(_limit, scope="search", key_func=_per_user)


class Refused(ValueError):
    def __init__(self, errors):
        super().__init__("invalid search")
        self.errors = errors


def _query():
    query = request.args.get("q", "")
    if len(query) > text.MAX_QUERY_LENGTH:
        raise Refused({"q": [f"Search for at most {text.MAX_QUERY_LENGTH} characters."]})
    if any(ord(c) < 32 and c not in "\t" for c in query):
        raise Refused({"q": ["Search text cannot contain control characters."]})
    return query


def _filters():
    errors, args = {}, request.args
    kind = args.get("kind") or None
    if kind is not None and kind not in queries.KINDS:
        errors["kind"] = ["Choose a kind from the list."]
    organization = args.get("organization") or None
    if organization is not None:
        organization = parse_id(organization)
        if organization is None:
            errors["organization"] = ["Choose an organization from the list."]
    year = args.get("fy") or None
    if year is not None:
        year = int(year) if year.isascii() and year.isdigit() and 1900 <= int(year) <= 2200 else None
        if year is None:
            errors["fy"] = ["A fiscal year is four digits, such as 2026."]
    status = args.get("status") or None
    if status is not None and status not in queries.STATUSES:
        errors["status"] = ["Choose a status from the list."]
    if errors:
        raise Refused(errors)
    return queries.Filters(kind, organization, year, status)


@bp.get("/search/live")
@search_limit
def live():
    if not is_htmx():  # the box without JavaScript, or the address opened by hand: the results page
        return redirect(url_for("search.page", q=request.args.get("q", "")[:text.MAX_QUERY_LENGTH]))
    try:
        query = _query()
    except Refused as refused:
        return render_template("search/_live.html", groups={}, query="", words=[], errors=refused.errors), 422
    def render(groups):
        return render_template("search/_live.html", groups=groups, query=query, words=text.query_words(query),
                               kinds=queries.KINDS, errors={})

    return services.live(current_user, query, render) if query.strip() else render({})


@bp.get("/search")
@search_limit
def page():
    errors, status = {}, 200
    try:
        query, filters = _query(), _filters()
        found = services.full(current_user, query, filters, request.args.get("page"))
    except Refused as refused:
        errors, status = refused.errors, 422
        query, filters = request.args.get("q", "")[:text.MAX_QUERY_LENGTH], queries.Filters()
        found = Page(items=[], page=1, per_page=queries.PER_PAGE, total=0)
    return render_page("search/page.html", block="results", query=query, filters=filters, found=found,
                       words=text.query_words(query), kinds=queries.KINDS, errors=errors,
                       per_kind=queries.FULL_CANDIDATES,
                       kind_choices=[(k, queries.KINDS[k]) for k in queries.kinds_for(current_user)],
                       organizations=queries.organization_choices(current_user),
                       statuses=[(s, s.replace("_", " ")) for s in queries.STATUSES]), status


@bp.errorhandler(429)
def too_many(error):
    """Over the limit: the message goes where the results would have gone, with the limiter's headers."""
    message = "Too many searches. Wait a moment and try again."
    if is_htmx():  # into the box's list, or the results page's results
        response = current_app.make_response((render_template("search/_limited.html", message=message), 429))
        target = "#search-live" if request.endpoint == "search.live" else "#results"
        response.headers.update({"HX-Retarget": target, "HX-Reswap": "innerHTML"})
    else:
        response = current_app.make_response((render_template("search/limited.html", message=message), 429))
    for key, value in (error.get_headers() or []):
        if key.lower().startswith(("retry-after", "x-ratelimit")):
            response.headers[key] = value
    return response
