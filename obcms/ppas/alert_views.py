"""The budget variance Alerts page (MFBM and OOBC: "alert.read" / "alert.act").

    GET  /alerts                                     the list; filters severity, kind, status (open by default),
                                                     ppa; htmx: the "results" block
    POST /alerts/<id>/<acknowledge|resolve>          form: version → the alert machine's transition (fire():
                                                     version-checked, logged, audited); htmx: the row again
A colleague who acted first makes the action a 409 that shows the alert as they left it.
"""
from dataclasses import dataclass, fields

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..auth.permissions import load_in_scope, require, scope
from ..errors import Conflict
from ..htmx import is_htmx, render_page, toast
from ..ids import parse_id
from ..pagination import paginate
from ..transaction import writes
from ..workflow import fire
from ..workflow.locking import version_number
from .variances import ALERT_MACHINE, ALERT_STATUSES, KIND_LABELS, KINDS, OPEN, SEVERITIES, BudgetAlert

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

PER_PAGE = 50
STATUS_FILTERS = ("open", *ALERT_STATUSES, "all")


@dataclass(frozen=True)
class AlertFilters:
    severity: str = ""
    kind: str = ""
    status: str = "open"
    ppa: str = ""
    page: str = "1"

    @classmethod
    def from_args(cls, args):
        """The filters from query arguments; unknown values fall back to the defaults."""
        values = {f.name: (args.get(f.name) or "").strip() for f in fields(cls)}
        for name, allowed in (("severity", SEVERITIES), ("kind", KINDS), ("status", STATUS_FILTERS)):
            if values[name] not in allowed:
                values[name] = cls.status if name == "status" else ""
        if parse_id(values["ppa"]) is None:
            values["ppa"] = ""
        return cls(**values)

    @property
    def active(self):
        return {k: v for k, v in self.__dict__.items() if v and k != "page" and not (k == "status" and v == "open")}


def filtered_alerts(user, filters):
    """A SELECT of the alerts the user may see that the filters keep (the page, and the bulk bar's "all N
    matching the filter")."""
    stmt = scope(sa.select(BudgetAlert), BudgetAlert, user)
    if filters.severity:
        stmt = stmt.where(BudgetAlert.severity == filters.severity)
    if filters.kind:
        stmt = stmt.where(BudgetAlert.kind == filters.kind)
    if filters.status == "open":
        stmt = stmt.where(BudgetAlert.status.in_(OPEN))
    elif filters.status != "all":
        stmt = stmt.where(BudgetAlert.status == filters.status)
    if filters.ppa:
        stmt = stmt.where(BudgetAlert.ppa_id == int(filters.ppa))
    return stmt


def alerts_page(user, filters):
    """A page of the alerts the user may see, most severe and most recent first (two queries)."""
    stmt = filtered_alerts(user, filters)
    count = sa.select(sa.func.count()).select_from(stmt.with_only_columns(BudgetAlert.id).subquery())
    rank = sa.case(*((BudgetAlert.severity == s, n) for n, s in enumerate(SEVERITIES)))
    stmt = (stmt.options(joinedload(BudgetAlert.ppa), joinedload(BudgetAlert.acknowledged_by),
                         joinedload(BudgetAlert.resolved_by))
            .order_by(BudgetAlert.status == "resolved", rank.desc(), BudgetAlert.last_detected_at.desc(),
                      BudgetAlert.id.desc()))
    return paginate(stmt, filters.page, per_page=PER_PAGE, count_stmt=count)


def _options():
    return {"severity_options": [(s, s.capitalize()) for s in SEVERITIES],
            "kind_options": list(KIND_LABELS.items()),
            "status_options": [(s, s.capitalize()) for s in STATUS_FILTERS if s != "open"]}


@bp.get("")
def index():
    require(current_user, "alert.read")
    filters = AlertFilters.from_args(request.args)
    return render_page("ppas/alerts.html", block="results", filters=filters,
                       page=alerts_page(current_user, filters), **_options())


def _acted_first(error, alert_id, action):
    """409: the alert as the colleague who acted first left it (the row, or the page)."""
    alert = load_in_scope(BudgetAlert, alert_id, current_user, "alert.read", label="alert")
    if is_htmx():
        return render_template("ppas/_alert_row.html", alert=alert, problem=error.detail), 409
    filters = AlertFilters.from_args(request.args)
    return render_template("ppas/alerts.html", filters=filters, page=alerts_page(current_user, filters),
                           problem=error.detail, **_options()), 409


@bp.post("/<int:alert_id>/<any(acknowledge, resolve):action>")
@writes(on_error=_acted_first, catch=(Conflict,))
def act(alert_id, action):
    alert = load_in_scope(BudgetAlert, alert_id, current_user, "alert.act", label="alert")
    version = version_number(request.form.get("version"))  # required: 422 without it
    fire(alert, action, current_user, expected_version=version)
    if not is_htmx():
        return redirect(url_for(".index"), code=303)
    response = current_app.make_response(render_template("ppas/_alert_row.html", alert=alert))
    return toast(response, ALERT_MACHINE.get(action).done_message(alert))
