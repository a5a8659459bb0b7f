"""Domain errors and their one mapping to HTML pages, HTMX fragments and JSON problems.

Services raise these; views may catch them to render inline, and anything not caught is rendered here.
"""
import logging
import random
import re

import sqlalchemy as sa
from flask import current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as werkzeug_not_found

from .extensions import db, login_manager

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail=None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self):
        body = {"error": self.code, "title": self.title, "status": self.status, "detail": self.detail}
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    """Input broke a rule. `errors` maps a field name to a list of messages."""

    status = 422
    code = "validation_failed"
    title = "Please correct the highlighted fields"

    def __init__(self, detail=None, errors=None, **extra):
        super().__init__(detail, **extra)
        self.errors = errors or {}

    def problem(self):
        body = super().problem()
        body["errors"] = self.errors
        return body


class Conflict(DomainError):
    """Someone changed the record first (stale version) or the state no longer allows the change."""

    status = 409
    code = "conflict"
    title = "Someone changed this first"

    def __init__(self, detail=None, your_version=None, current_version=None, changed_fields=None, **extra):
        super().__init__(detail, **extra)
        self.your_version = your_version
        self.current_version = current_version
        self.changed_fields = changed_fields or {}

    def problem(self):
        body = super().problem()
        body.update(your_version=self.your_version, current_version=self.current_version,
                    changed_fields=self.changed_fields)
        return body


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"
    title = "You may not do this"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Unavailable(DomainError):
    """A service obcms depends on (the job queue) cannot be reached: nothing was done; try again later."""

    status = 503
    code = "unavailable"
    title = "Temporarily unavailable"


def wants_json():
    if request.path.startswith("/api/"):
        return True
    if request.headers.get("HX-Request"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def problem_type(code):
    """A JSON problem's `type` (RFC 9457): a URI naming the kind of problem, e.g. urn:obcms:problem:conflict."""
    return f"urn:obcms:problem:{code}"


REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id():
    """The caller's X-Request-ID when it is a short plain token (it lands in audit rows), else a new one."""
    if "request_id" not in g:
        sent = request.headers.get("X-Request-ID") or ""
        # random.getrandbits, not uuid4: an id needs no secrecy, and os.urandom lets go of the GIL (a thread
        # switch in the middle of every request)
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else f"{random.getrandbits(64):016x}"
    return g.request_id


def render_error(status, code, title, detail, problem=None):
    """Render an error as JSON, an HTMX fragment (into #errors) or a full page."""
    if wants_json():
        body = problem or {"error": code, "title": title, "status": status, "detail": detail}
        body.setdefault("type", problem_type(body.get("error") or code))
        body.setdefault("request_id", request_id())
        response = jsonify(body)
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    context = dict(status=status, code=code, title=title, detail=detail, request_id=request_id(),
                   problem=problem or {})
    if status == 409 and context["problem"].get("current_version") is not None and request.form:
        return _render_conflict(context)
    if request.headers.get("HX-Request"):
        response = _render_without_the_database_if_need_be("errors/_error.html", context), status
        return response[0], status, {"HX-Retarget": "#errors", "HX-Reswap": "innerHTML"}
    return _render_without_the_database_if_need_be("errors/page.html", context), status


def _forget_the_user():
    """Draw what follows for an anonymous visitor: loading the signed-in user needs the database."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.invalidate()
    g._login_user = login_manager.anonymous_user()


def _render_without_the_database_if_need_be(template, context):
    """An error page drawn while the database is away (its header asks for the signed-in user): drawn again
    for an anonymous visitor rather than failing into a bare 500."""
    try:
        return render_template(template, **context)
    except sa.exc.SQLAlchemyError:
        _forget_the_user()
        return render_template(template, **context)


def conflict_context(problem, resubmit, htmx_target=None):
    """What the 409 panel (workflow/_conflict.html) shows for a stale save of this request (`problem`: the
    Conflict's problem()): the changed fields,
    "Apply mine again" posting `resubmit` ([(name, value)], the version field included) back to this URL,
    "Keep theirs" going back to the page the user came from."""
    referrer = request.referrer if (request.referrer or "").startswith(request.host_url) else None
    back = request.headers.get("HX-Current-URL") or referrer or request.url
    return dict(problem=problem, resubmit=resubmit, action=request.url, htmx_target=htmx_target,
                back_url=back)


def _render_conflict(context):
    """A stale save of a form that did not handle its 409 itself: the conflict panel re-posting what the user
    sent on the current version (keeping theirs in fields the user left alone)."""
    problem = context["problem"]
    changed = problem.get("changed_fields") or {}
    kept = {name: facts.get("current") or "" for name, facts in changed.items() if facts.get("yours_changed") is False}
    resubmit = [("version", str(problem["current_version"]))] + [
        (name, kept.get(name, value)) for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", "version") and "password" not in name]
    context.update(conflict_context(problem, resubmit, request.headers.get("HX-Target")))
    if request.headers.get("HX-Request"):
        return (render_template("workflow/_conflict.html", **context), 409,
                {"HX-Retarget": "#errors", "HX-Reswap": "innerHTML"})
    return render_template("workflow/conflict_page.html", **context), 409


def _matches_no_route(error):
    """A 405 for an address no route takes by any method either: werkzeug compares methods before converters,
    so PATCH /api/v1/ppas/<an id beyond MAX_ID> would be a 405 where GET is a 404."""
    methods = getattr(error, "valid_methods", None)
    if not methods:
        return False
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in methods:
        try:
            adapter.match(method=method)
        except (werkzeug_not_found, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect (a missing slash): the route exists
            return False
        return False
    return True


def http_error_response(error):
    """An HTTP error (404, 405 with its Allow header, 413, 429 with its rate-limit headers …) as a page, a
    fragment or a JSON problem."""
    if error.code == 405 and _matches_no_route(error):
        error = werkzeug_not_found()
    title, detail = error.name, error.description
    if error.code == 404:  # plain words, not werkzeug's "If you entered the URL manually…"
        title = NotFound.title
        if detail == werkzeug_not_found.description:
            detail = "There is nothing at this address. Check the link, or start again from the home page."
    response = current_app.make_response(
        render_error(error.code, (error.name or "error").lower().replace(" ", "_"), title, detail))
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 429:
        for key, value in (error.get_headers() or []):
            if key.lower().startswith(("retry-after", "x-ratelimit")):
                response.headers[key] = value
    return response


def register_error_handlers(app):
    @app.errorhandler(StaleDataError)
    def handle_stale_data(error):
        db.session.rollback()
        conflict = Conflict("Someone saved this record while you were saving it. Reload it and apply your "
                            "change again.")
        return render_error(conflict.status, conflict.code, conflict.title, conflict.detail, conflict.problem())

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.PendingRollbackError)  # a connection lost earlier in this session (a restart)
    def handle_database_trouble(error):
        """The database cannot be reached, cancelled a statement that ran too long, or chose this request as a
        deadlock's victim again and again: a 503 saying so (nothing was saved), rendered without touching the
        database (the page is drawn for an anonymous visitor), never a bare 500."""
        _forget_the_user()
        orig = getattr(error, "orig", None)  # a PendingRollbackError has none
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in ("40P01", "40001"):
            detail = "obcms was too busy to save this just now. Nothing was saved; please try again."
        elif sqlstate == "57014":
            detail = "That took too long and was stopped. Nothing was saved; please try again in a minute."
        else:
            detail = "obcms cannot reach its database just now. Nothing was saved; please try again in a minute."
        log.warning("database trouble (request %s): %s", request_id(), str(orig or error)[:200])
        return render_error(503, "database_unavailable", "The database is unavailable", detail)

    @app.errorhandler(ObjectDeletedError)
    def handle_deleted_meanwhile(error):
        """A row this request had loaded was deleted by someone else's committed change before it was read
        again: a 404, as for a page about something deleted (never a 500)."""
        db.session.rollback()
        gone = NotFound("What this page is about was deleted by someone else a moment ago. Go back and reload.")
        return render_error(gone.status, gone.code, gone.title, gone.detail, gone.problem())

    @app.errorhandler(DomainError)
    def handle_domain_error(error):
        db.session.rollback()
        return render_error(error.status, error.code, error.title, error.detail, error.problem())

    @app.errorhandler(CSRFError)
    def handle_csrf(error):
        return render_error(400, "csrf_failed", "The form expired or was not sent by this site",
                            "Reload the page and try again.")

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def handle_unexpected(error):
        db.session.rollback()
        log.exception("unhandled error (request %s)", request_id())
        return render_error(500, "server_error", "Something went wrong on our side",
                            "We are sorry. Quote this request id when you report it.")
