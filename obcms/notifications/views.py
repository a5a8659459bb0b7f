"""The signed-in user's notifications: the list (page or fragment), the header badge, mark read.

    GET  /notifications             the list (HTMX: the "list" block); ?unread=1 for unread only
    GET  /notifications/badge       the header badge (loaded lazily, so pages pay no query for it)
    POST /notifications/<id>/read   mark one read (only one's own; others' ids answer 404)
    POST /notifications/read-all    mark all read
Every change answers the refreshed list and triggers `obcms:notifications` so the badge reloads.
"""
from flask import Blueprint, current_app, redirect, request, url_for
from flask_login import current_user

from ..auth.permissions import require
from ..errors import NotFound
from ..extensions import db
from ..htmx import is_htmx, render_page
from ..transaction import writes
from . import services
from .models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

CHANGED = "obcms:notifications"


def _list_page():
    unread_only = request.values.get("unread") == "1"
    return render_page("notifications/index.html", block="list",
                       notifications=services.recent(current_user, unread_only=unread_only),
                       unread_only=unread_only)


@bp.get("")
def index():
    require(current_user, "notification.read")
    return _list_page()


@bp.get("/badge")
def badge():
    require(current_user, "notification.read")
    return render_page("notifications/_badge.html", unread=services.unread_count(current_user))


def _changed():
    if not is_htmx():
        return redirect(url_for(".index", unread=request.values.get("unread") or None), code=303)
    response = current_app.make_response(_list_page())
    response.headers["HX-Trigger"] = CHANGED
    return response


@bp.post("/<int:notification_id>/read")
@writes
def read(notification_id):
    require(current_user, "notification.read")
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        raise NotFound()
    services.mark_read(current_user, [notification_id])
    if request.form.get("open") and _local(notification.url):
        return redirect(notification.url, code=303)
    return _changed()


def _local(url):
    return bool(url) and url.startswith("/") and not url.startswith("//")


@bp.post("/read-all")
@writes
def read_all():
    require(current_user, "notification.read")
    services.mark_all_read(current_user)
    return _changed()
