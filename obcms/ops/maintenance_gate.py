"""While maintenance is on, every request but a signed-in admin's, /health, the sign-in page and static files is
answered 503 with the message and Retry-After: a page, an htmx fragment, or a JSON problem under /api/.
Admins see a banner on every page instead."""
from flask import g, make_response, render_template, request
from flask_login import current_user

from ..auth.permissions import can
from ..errors import render_error, request_id, wants_json
from .maintenance import OFF, maintenance_state

# Endpoints that stay open: the probe and the metrics, signing in (so an admin can) and out, and static files.
OPEN_DURING_MAINTENANCE = {"ops.health", "metrics.metrics", "auth.login", "auth.logout", "static", "admin.static"}
TITLE = "Down for maintenance"


def may_bypass_maintenance(user):
    return bool(getattr(user, "is_authenticated", False)) and can(user, "maintenance.bypass")


def maintenance_response(state):
    if wants_json() or request.headers.get("HX-Request"):
        response = make_response(render_error(503, "maintenance", TITLE, state.message))
    else:
        response = make_response(render_template("ops/maintenance.html", status=503, title=TITLE,
                                                 detail=state.message, retry_after=state.retry_after,
                                                 request_id=request_id(), bare_layout=True), 503)
    response.headers["Retry-After"] = str(state.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_maintenance(app):
    """Register before the sign-in check, so that anonymous requests get the 503 too (not a redirect)."""

    @app.before_request
    def maintenance_gate():
        if request.endpoint in OPEN_DURING_MAINTENANCE or request.endpoint is None:
            return None  # (no endpoint: a 404 either way, drawn even while the database is away)
        state = g.maintenance = maintenance_state(app)
        if not state.on or may_bypass_maintenance(current_user):
            return None
        return maintenance_response(state)

    @app.context_processor
    def maintenance_banner():
        state = g.get("maintenance", OFF)
        return {"maintenance_banner": state if state.on and may_bypass_maintenance(current_user) else None}
