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
"""
import functools

import flask
from flask import current_app, g, jsonify, render_template, request
from flask_login import current_user
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException, UnsupportedMediaType

from ..auth.permissions import load_in_scope, require
from ..budget.allocation import allocation_json
from ..errors import NotAllowed, ValidationFailed, http_error_response, render_error
from ..extensions import csrf
from ..ppas.models import Ppa
from ..transaction import commit_bookkeeping
from ..workitems import rollup
from .schemas import ProblemSchema
from .tokens import touch_token

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="obcms JSON API, version 1")
csrf.exempt(bp)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_CONFIG = {
    "API_TITLE": "obcms API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": None,  # the description and the reference are served by this blueprint
}


class ObcmsApi(Api):
    """flask-smorest without its app-wide error handler (see the module docstring), its error responses
    documented as the problems this API answers."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        self.DEFAULT_RESPONSE_CONTENT_TYPE = "application/problem+json"
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def init_api(app):
    """Mount the API blueprint and build its OpenAPI description (one per app)."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = ObcmsApi(app, spec_kwargs={
        "info": {"description": "The PPAs of obcms and their workflow, for other systems and scripts. Authenticate with "
                                "`Authorization: Bearer obcms_…` (a personal access token from your account "
                                "page) or a signed-in session. Errors are `application/problem+json`."},
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A personal access token: obcms_…"})
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


@bp.route("/ppas/<int:ppa_id>/budget-allocation-tree")
@bp.doc(tags=["ppas"], responses={401: {"description": "Not signed in"}, 404: {"description": "No such PPA"}})
def budget_allocation_tree(ppa_id):
    """The PPA's allocation tree

    The allocation tree of the PPA's execution project in tree order (an empty list when the PPA is not
    tracked); decimals as strings. Three queries with the user's own."""
    ppa = load_in_scope(Ppa, ppa_id, current_user, "ppa.read", "PPA")
    nodes = rollup.allocation_tree(ppa.execution_project_id) if ppa.execution_project_id else []
    return jsonify(ppa_id=ppa.id, ppa_code=ppa.display_code, execution_project_id=ppa.execution_project_id,
                   nodes=allocation_json(nodes))
