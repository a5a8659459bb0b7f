"""Template filters and globals shared by every page: money, dates, navigation for the role."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, request, url_for
from flask_login import current_user

from .auth.permissions import can
from .money import format_pesos

# (label, endpoint, permission) in the order shown. Domains add their entries here as they arrive.
NAVIGATION = [
    ("Home", "home.index", "dashboard.view"),
    ("My tasks", "tasks.index", "task.list"),
    ("PPAs", "ppas.index", "ppa.read"),
    ("Portfolio dashboard", "ppas.portfolio_dashboard", "ppa.read"),
    ("Work items", "workitems.index", "workitem.read"),
    ("Calendar", "calendar.index", "calendar.read"),
    ("Budget alerts", "alerts.index", "alert.read"),
    ("Assessments", "assessments.index", "assessment.read"),
    ("Audit log", "audit.index", "audit.read"),
    ("Jobs", "jobs.index", "jobs.run"),
    ("Admin console", "admin.index", "admin.console"),
]


def format_date(value):
    if value is None or value == "":
        return "—"
    if isinstance(value, str):  # ISO dates kept in JSON (milestones)
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = local_time(value)
    return f"{value.day} {value:%b %Y}"


def local_time(value):
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_datetime(value):
    if value is None:
        return "—"
    value = local_time(value)
    return f"{value.day} {value:%b %Y %H:%M}"


def format_percent(value, places=0):
    if value is None:
        return "—"
    return f"{Decimal(value):.{places}f} %"


def url_with(**changes):
    """The current URL with some query arguments changed (None removes one): sort links, pagination."""
    args = {key: value for key, value in request.args.items() if value != ""}
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def navigation_for(user):
    """The main navigation of `user`: the same for every user of a role, so built once per role (and
    application root) and application; every page and fragment asks for it."""
    signed_in = getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)
    key = (user.role if signed_in else None, request.script_root)
    built = current_app.extensions.setdefault("obcms.navigation", {})
    if key not in built:
        built[key] = _navigation(user)
    return built[key]


def _navigation(user):
    items = []
    for label, endpoint, permission in NAVIGATION:
        if can(user, permission):
            try:
                items.append((label, url_for(endpoint), endpoint))
            except Exception:  # an endpoint of a domain not registered in this app
                continue
    return items


def init_templating(app):
    app.jinja_env.filters.update(money=format_pesos, date=format_date, datetime=format_datetime,
                                 percent=format_percent)
    app.jinja_env.globals.update(can=can, today=date.today, url_with=url_with)

    @app.context_processor
    def inject():
        return {"navigation": navigation_for(current_user) if current_user else [],
                "app_version": app.config["VERSION"]}
