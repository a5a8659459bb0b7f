"""The audit log (admins) and the per-object History fragment any page can embed.

    {% from "audit/macros.html" import history_panel %}{{ history_panel("work_item", item.id) }}
"""
import sqlalchemy as sa
from flask import Blueprint, Response, request, stream_with_context
from flask_login import current_user

from ..auth.permissions import can, require, scope
from ..db_types import utcnow
from ..errors import NotFound
from ..extensions import db
from ..htmx import render_page
from .events import events_page, group
from .models import AUDIT_ACTIONS
from .objects import audited_object_types, model_for
from .queries import AuditFilters, csv_lines, object_history

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 25  # events


@bp.get("")
def index():
    require(current_user, "audit.read")
    filters = AuditFilters.from_args(request.args)
    page, events = events_page(filters, request.args.get("page"), per_page=PER_PAGE)
    return render_page("audit/index.html", block="results", page=page, events=events, filters=filters,
                       object_type_options=[(t, t.replace("_", " ")) for t in audited_object_types()],
                       action_options=[(a, a) for a in AUDIT_ACTIONS])


@bp.get("/export.csv")
def export():
    require(current_user, "audit.read")
    filters = AuditFilters.from_args(request.args)
    filename = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(csv_lines(filters)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _may_read_history(object_type, object_id):
    """Auditors see every history; others see the history of an object they may read, when its model names
    its read permission (`__read_permission__`, or its state machine's permission)."""
    if can(current_user, "audit.read"):
        return True
    model = model_for(object_type)
    machine = getattr(model, "__state_machine__", None)
    permission = getattr(model, "__read_permission__", None) or getattr(machine, "permission", None)
    if model is None or permission is None:
        return False
    obj = db.session.scalar(scope(sa.select(model).where(model.id == object_id), model, current_user))
    return obj is not None and can(current_user, permission, obj)


@bp.get("/history/<object_type>/<int:object_id>")
def history(object_type, object_id):
    if not _may_read_history(object_type, object_id):
        raise NotFound()
    return render_page("audit/_history.html", events=group(object_history(object_type, object_id)),
                       object_type=object_type, object_id=object_id)
