"""Template filters and globals shared by every page: money, dates, navigation for the role."""
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, request, url_for
from flask_login import current_user

from .auth.permissions import can
from .auth.sessions import browser_label
from .money import format_pesos

# (label, endpoint, permission, group): the daily places stay in view; the rest sit under "More", so the bar
# keeps to one or two lines on a phone. In the order shown; domains add their entries here as they arrive.
NAVIGATION = [
    ("Home", "home.index", "dashboard.view", None),
    ("My tasks", "tasks.index", "task.list", None),
    ("PPAs", "ppas.index", "ppa.read", None),
    ("Work items", "workitems.index", "workitem.read", None),
    ("Calendar", "calendar.index", "calendar.read", None),
    ("Portfolio dashboard", "ppas.portfolio_dashboard", "ppa.read", "More"),
    ("Budget alerts", "alerts.index", "alert.read", "More"),
    ("Assessments", "assessments.index", "assessment.read", "More"),
    ("Reports", "reports.index", "report.generate", "More"),
    ("Audit log", "audit.index", "audit.read", "More"),
    ("Jobs", "jobs.index", "jobs.run", "More"),
    ("Admin console", "admin.index", "admin.console", "More"),
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


@dataclass(frozen=True)
class Navigation:
    """What the main navigation shows a role: `main` in view, `more` under the "More" menu; each entry
    (label, url, endpoint)."""

    main: tuple
    more: tuple

    def __iter__(self):  # every entry, in order
        return iter(self.main + self.more)

    def in_more(self, endpoint):
        return any(entry[2] == endpoint for entry in self.more)


def _navigation(user):
    main, more = [], []
    for label, endpoint, permission, group in NAVIGATION:
        if can(user, permission):
            try:
                (more if group else main).append((label, url_for(endpoint), endpoint))
            except Exception:  # an endpoint of a domain not registered in this app
                continue
    return Navigation(tuple(main), tuple(more))


def init_templating(app):
    app.jinja_env.filters.update(money=format_pesos, date=format_date, datetime=format_datetime,
                                 percent=format_percent, browser=browser_label)
    app.jinja_env.globals.update(can=can, today=date.today, url_with=url_with)

    @app.context_processor
    def inject():
        return {"navigation": navigation_for(current_user) if current_user else Navigation((), ()),
                "app_version": app.config["VERSION"]}
