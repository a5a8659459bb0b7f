"""JSON endpoints under /api/v1. Signed in by session or bearer token (obcms/api/tokens.py); errors are
problem+json (obcms/errors.py answers JSON for every /api/ path, 401 included).

    GET /api/v1/ppas/<id>/budget-allocation-tree     the PPA's execution project as an allocation tree
"""
from flask import Blueprint, g, jsonify, request
from flask_login import current_user

from ..auth.permissions import load_in_scope
from ..budget.allocation import allocation_json
from ..extensions import csrf
from ..ppas.models import Ppa
from ..transaction import commit_bookkeeping
from ..workitems import rollup
from .tokens import touch_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def csrf_unless_token():
    """CSRF for session-authenticated writes; a bearer-token request is exempt."""
    if request.method not in SAFE_METHODS and g.get("api_token_id") is None:
        csrf.protect()


@bp.after_request
def record_token_use(response):
    if g.get("api_token_touch"):
        commit_bookkeeping(touch_token, g.api_token_id)
    return response


@bp.get("/ppas/<int:ppa_id>/budget-allocation-tree")
def budget_allocation_tree(ppa_id):
    """The allocation tree of the PPA's execution project in tree order (an empty list when the PPA is not
    tracked); decimals as strings. Three queries with the user's own."""
    ppa = load_in_scope(Ppa, ppa_id, current_user, "ppa.read", "PPA")
    nodes = rollup.allocation_tree(ppa.execution_project_id) if ppa.execution_project_id else []
    return jsonify(ppa_id=ppa.id, ppa_code=ppa.display_code, execution_project_id=ppa.execution_project_id,
                   nodes=allocation_json(nodes))
