"""The generic workflow routes: an object's actions panel, and firing one of its transitions.

    GET  /workflow/<object_type>/<id>               the panel (actions + history), templates/workflow/_actions.html
    POST /workflow/<object_type>/<id>/<transition>  fire it (form: version, comment); re-renders the panel

403 when the user may not, 409 on a stale version or a state that moved on, 422 naming missing fields.
A successful HTMX transition also triggers `obcms:transition` ({object_type, id}) for the rest of the page.
"""
import json

import sqlalchemy as sa
from flask import Blueprint, jsonify, make_response, redirect, request, url_for
from flask_login import current_user

from ..auth.permissions import require, scope
from ..errors import NotFound, wants_json
from ..extensions import db
from ..htmx import is_htmx, render_page, toast
from ..transaction import writes
from .machine import machine_for, managed_model
from .services import available_transitions, fire, transition_history

bp = Blueprint("workflow", __name__, url_prefix="/workflow")

TRANSITION_FIRED = "obcms:transition"  # the HX-Trigger event a successful HTMX transition sends


def load_managed(object_type, object_id):
    """The object, if its type is machine-managed and the user may see it (404 otherwise, 403 without the
    machine's permission)."""
    model = managed_model(object_type)
    if model is None:
        raise NotFound(f"No workflow for '{object_type}'.")
    obj = db.session.scalar(scope(sa.select(model).where(model.id == object_id), model, current_user))
    if obj is None:
        raise NotFound()
    machine = machine_for(model)
    if machine.permission:
        require(current_user, machine.permission, obj)
    return obj, machine


def _panel(obj, machine, object_type, errors=None, comment=None, status=200):
    html = render_page("workflow/_actions.html", obj=obj, machine=machine, object_type=object_type,
                       options=available_transitions(obj, current_user), history=transition_history(obj),
                       errors=errors or {}, comment=comment)
    return html, status


@bp.get("/<object_type>/<int:object_id>")
def panel(object_type, object_id):
    obj, machine = load_managed(object_type, object_id)
    return _panel(obj, machine, object_type)


def _panel_again(error, object_type, object_id, transition):
    """In the page (htmx), the panel with the missing fields named; a plain request gets the error page."""
    if not is_htmx():
        raise error
    obj, machine = load_managed(object_type, object_id)
    return _panel(obj, machine, object_type, errors=error.errors, comment=request.form.get("comment"), status=422)


@bp.post("/<object_type>/<int:object_id>/<transition>")
@writes(on_error=_panel_again)
def fire_transition(object_type, object_id, transition):
    obj, machine = load_managed(object_type, object_id)
    comment = request.form.get("comment")
    log = fire(obj, transition, current_user, comment=comment, expected_version=request.form.get("version"))
    if wants_json():
        return jsonify(object_type=object_type, id=object_id, transition=log.transition, from_state=log.from_state,
                       to_state=log.to_state, version=obj.version)
    if not is_htmx():
        back = request.referrer if (request.referrer or "").startswith(request.host_url) else None
        return redirect(back or url_for("workflow.panel", object_type=object_type, object_id=object_id), code=303)
    html, status = _panel(obj, machine, object_type)
    response = make_response(html, status)
    # Other parts of the page that show this object's state (a stepper, header chips) reload on this event.
    response.headers["HX-Trigger"] = json.dumps({TRANSITION_FIRED: {"object_type": object_type, "id": object_id}})
    return toast(response, machine.get(log.transition).done_message(obj))
