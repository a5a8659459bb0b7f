"""The JSON API under /api/v1: a flask-smorest blueprint whose OpenAPI 3.1 description is generated from the
code. Signed in by session or bearer token (obcms/api/tokens.py); every error is a problem+json
(obcms/errors.py), with field errors as `errors: {field: [messages]}`.

    GET  /api/v1/openapi.json                         the OpenAPI 3.1 description
    GET  /api/v1/docs                                 the interactive reference (Swagger UI, vendored)
    GET  /api/v1/ppas/<id>/budget-allocation-tree     the PPA's execution project as an allocation tree
    …    /api/v1/ppas…                                obcms/api/ppas.py

flask-smorest's own error handler would answer every HTTP error of the whole app (HTML pages too) as JSON and
drop the `Allow` header of a 405: it is not registered; this blueprint's handler answers its errors instead,
and a URL under /api/ that matches no route is answered by obcms/errors.py (JSON for /api/ paths).

The description documents each operation's answers, and only those (no catch-all `default`): a resource module
lists its errors with `problems(…)`; 400 (a NUL character anywhere is refused before any view), 401, 429 and
503, which any request may get, are added to every operation here. Each operation is tagged with its resource
(`@bp.doc(tags=["ppas"])`); each tag is declared once, with its TAGS description.

Every API request counts against one window per token (per user for a signed-in browser): API_RATE_LIMIT, in
the limiter's storage (Redis when REDIS_URL is set); past it, a 429 problem with Retry-After and X-RateLimit-*.
"""
import functools

import flask
from apispec import BasePlugin
from flask import current_app, g, jsonify, render_template, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from ..auth.permissions import load_in_scope, require
from ..budget.allocation import allocation_json
from ..errors import NotAllowed, ValidationFailed, http_error_response, render_error
from ..extensions import csrf, limiter
from ..ppas.models import Ppa
from ..transaction import commit_bookkeeping
from ..workitems import rollup
from .schemas import AllocationTreeSchema, ProblemSchema
from .tokens import touch_token

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="obcms JSON API, version 1")
csrf.exempt(bp)


def _api_limit():
    return current_app.config["API_RATE_LIMIT"]


def api_client():
    """Whom an API request counts against (API_RATE_LIMIT): its token, else its signed-in user, else its address.
    Reading current_user here loads the token's (or session's) user, which the request needs anyway."""
    signed_in = current_user.is_authenticated
    if g.get("api_token_id") is not None:
        return f"api-token:{g.api_token_id}"
    if signed_in:
        return f"api-user:{current_user.id}"
    return f"api-address:{get_remote_address()}"


# One window per client over every API operation: 429 problem+json with Retry-After and X-RateLimit-*.
limiter.shared_limit(_api_limit, scope="api", key_func=api_client)(bp)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_CONFIG = {
    "API_TITLE": "obcms API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": None,  # the description and the reference are served by this blueprint
}


# The resources' tags, in the reference's order (an operation's tag missing here is declared without a text).
TAGS = {
    "ppas": "PPAs: list, detail, create, edit, the approval workflow and the allocation tree.",
}

ERRORS = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "No such object (or not yours to see)",
          409: "Someone changed it first: changed_fields, your_version, current_version", 415: "Not JSON",
          422: "Invalid fields: errors {field: [messages]}"}


def problems(*codes, missing=None):
    """The documented error answers of an operation: problems(401, 404, 422); `missing` names what a 404 did
    not find ("work item")."""
    return {code: {"description": f"No such {missing} (or not yours to see)" if code == 404 and missing
                   else ERRORS[code],
                   "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in codes}


RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}},
    "X-RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window ends (Unix time).", "schema": {"type": "integer"}},
}
# Answers any operation may give: (status, the response component documenting it). 400: a NUL character
# anywhere in the request (obcms/ops/security.py), a body that is not JSON.
COMMON_RESPONSES = ((400, "BAD_REQUEST"), (401, "UNAUTHORIZED"), (429, "RATE_LIMITED"), (503, "SERVICE_UNAVAILABLE"))


class EveryOperation(BasePlugin):
    """Declares each operation's tags once (in TAGS' order first) and documents the answers any request may
    get on every operation."""

    def init_spec(self, spec):
        self.spec = spec
        self.declared = set()

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            for tag in operation.get("tags") or ():
                self.declare(tag)
            responses = operation.setdefault("responses", {})
            for status, component in COMMON_RESPONSES:
                if status not in responses and str(status) not in responses:
                    responses[status] = component

    def declare(self, tag):
        if tag not in self.declared:
            self.declared.add(tag)
            self.spec.tag({"name": tag, "description": TAGS[tag]} if tag in TAGS else {"name": tag})


class ObcmsApi(Api):
    """flask-smorest without its app-wide error handler (see the module docstring), its error responses
    documented as the problems this API answers, with no catch-all `default` answer, and no tag named after
    the blueprint (operations carry their resource's tag)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass

    def register_blueprint(self, blp, **options):
        """flask-smorest's, less the tag it declares for the blueprint itself (an empty group in the reference)."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        blp.register_views_in_doc(self, self._app, self.spec, name=name, parameters=None)

    def _register_responses(self):
        self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/problem+json"
        try:
            super()._register_responses()
            self.spec.components.response("RATE_LIMITED", {
                "description": "Too many requests from this token (or user): wait Retry-After seconds.",
                "headers": RATE_LIMIT_HEADERS,
                "content": {"application/problem+json": {"schema": "Problem"}}}, lazy=True)
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def init_api(app):
    """Mount the API blueprint and build its OpenAPI description (one per app)."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    plugin = EveryOperation()
    api = ObcmsApi(app, spec_kwargs={
        "extra_plugins": [plugin],
        "info": {"description": "The PPAs of obcms and their workflow, for other systems and scripts. Authenticate with "
                                "`Authorization: Bearer obcms_…` (a personal access token from your account "
                                "page) or a signed-in session. Errors are `application/problem+json`."},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A personal access token: obcms_…"})
    for tag in TAGS:
        plugin.declare(tag)
    api.register_blueprint(bp)
    app.extensions["obcms_api"] = api
    return api


@bp.before_request
def csrf_unless_token():
    """CSRF for session-authenticated writes; a bearer-token request is exempt."""
    if request.method not in SAFE_METHODS and g.get("api_token_id") is None:
        csrf.protect()


@bp.before_request
def read_tokens_only_read():
    if request.method not in SAFE_METHODS and g.get("api_token_scope") == "read":
        raise NotAllowed("This token may only read. Create a token with the write scope to change data.")


def takes_json(permission, first=None):
    """Decorate a write operation (above its @bp.arguments): a user without `permission` is refused first (403,
    whatever the body) — and by `first(**view_kwargs)` when given (e.g. "may this role ever fire it") — then a
    body that is not JSON is a 415 before any schema reads it. The object-level check (scope) stays in the
    view."""
    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            require(current_user, permission)
            if first is not None:
                first(**kwargs)
            if not request.is_json:
                raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
            return view(*args, **kwargs)
        return checked
    return decorate


@bp.after_request
def record_token_use(response):
    if g.get("api_token_touch"):
        commit_bookkeeping(touch_token, g.api_token_id)
    return response


def field_errors(messages, prefix=""):
    """webargs/marshmallow messages ({"json": {"title": [...], "milestones": {0: {...}}}}) as a flat
    {field: [messages]} (the location dropped, nested fields dotted)."""
    out = {}
    if isinstance(messages, dict):
        locations = ("json", "query", "querystring", "headers", "form", "files", "path", "view_args")
        for key, value in messages.items():
            name = str(key) if prefix or key not in locations else ""
            name = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for field, listed in field_errors(value, name).items():
                out.setdefault(field, []).extend(listed)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list | tuple):
        for message in messages:
            for field, listed in field_errors(message, prefix).items():
                out.setdefault(field, []).extend(listed)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


@bp.errorhandler(HTTPException)
def api_http_error(error):
    """HTTP errors raised in the API's views: a schema's refusal (webargs' 422 with its messages) as a
    ValidationFailed problem naming each field, a body that is no JSON as a 400 saying so; any other as
    obcms/errors.py answers it."""
    data = getattr(error, "data", None) or {}
    if error.code == 422 and "messages" in data:
        errors = field_errors(data["messages"])
        unknown = sorted(name for name, messages in errors.items() if "Unknown field." in messages)
        detail = (f"Unknown fields: {', '.join(unknown)}." if unknown
                  else "Some values are missing or invalid: see errors.")
        failed = ValidationFailed(detail, errors=errors)
        return render_error(failed.status, failed.code, failed.title, failed.detail, failed.problem())
    if error.code == 400 and "messages" in data:
        return render_error(400, "bad_request", "Bad request", "The body is not valid JSON.",
                            {"error": "bad_request", "title": "Bad request", "status": 400,
                             "detail": "The body is not valid JSON.", "errors": field_errors(data["messages"])})
    return http_error_response(error)


def openapi_document():
    return current_app.extensions["obcms_api"].spec.to_dict()


def openapi_json():
    """The OpenAPI 3.1 description of this API, generated from the code."""
    return jsonify(openapi_document())


def docs():
    """The interactive reference: Swagger UI, vendored under static/vendor (allowed by the CSP, no CDN)."""
    return render_template("api/docs.html")


# Not operations of the API: registered past flask-smorest's documentation.
flask.Blueprint.add_url_rule(bp, "/openapi.json", "openapi_json", openapi_json)
flask.Blueprint.add_url_rule(bp, "/docs", "docs", docs)


@bp.route("/ppas/<int:ppa_id>/budget-allocation-tree", methods=["GET"])
@bp.response(200, AllocationTreeSchema)
@bp.doc(tags=["ppas"], responses=problems(401, 404))
def budget_allocation_tree(ppa_id):
    """The PPA's allocation tree

    The allocation tree of the PPA's execution project in tree order (an empty list when the PPA is not
    tracked); decimals as strings. Three queries with the user's own."""
    ppa = load_in_scope(Ppa, ppa_id, current_user, "ppa.read", "PPA")
    nodes = rollup.allocation_tree(ppa.execution_project_id) if ppa.execution_project_id else []
    return jsonify(ppa_id=ppa.id, ppa_code=ppa.display_code, execution_project_id=ppa.execution_project_id,
                   nodes=allocation_json(nodes))
