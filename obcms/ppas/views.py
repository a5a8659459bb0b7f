"""PPA pages: the portfolio list, the dashboard, create/edit, and the detail page with its tabs."""
import functools
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, has_request_context, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..audit.events import group as group_events
from ..auth.models import Organization
from ..auth.permissions import not_found, require, scope
from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..htmx import is_htmx, render_page, toast
from ..templating import url_with
from ..transaction import after_commit, writes
from ..workflow import available_transitions, transition_history
from ..workflow.locking import keep_theirs_where_untouched
from . import services
from .approval import APPROVAL_MACHINE, APPROVAL_PATH
from .forms import MILESTONE_HELP, OUTCOME_HELP, PpaForm, TrancheForm, ppa_form_data
from .funding import with_funding_totals
from .history import ppa_history
from .models import (
    APPROVAL_STATES,
    CATEGORIES,
    MILESTONE_STATUSES,
    SECTORS,
    STATUSES,
    TRANCHE_KINDS,
    FundingTranche,
    Ppa,
    choices,
    label,
)
from .portfolio import PortfolioFilters, dashboard, moa_options, portfolio_page
from .work_items_tab import work_items_context

bp = Blueprint("ppas", __name__, url_prefix="/ppas")

TABS = (("overview", "Overview"), ("work-items", "Work Items"), ("budget", "Budget"), ("funding", "Funding"),
        ("approval", "Approval"), ("history", "History"))
# What a tab shows that a package built on PPAs provides: {tab: context(ppa) → dict}. The budget views add the
# Budget tab's (obcms/budget/views.py), so this package does not import them.
TAB_CONTEXTS = {}


@bp.app_template_global()
def ppa_label(value):
    return label(value)


def _filter_context(filters):
    return dict(filters=filters, category_options=choices(CATEGORIES), sector_options=choices(SECTORS),
                status_options=choices(STATUSES), approval_options=choices(APPROVAL_STATES),
                moa_options=moa_options(current_user))


@bp.route("")
def index():
    require(current_user, "ppa.read")
    filters = PortfolioFilters.from_args(request.args)
    page = portfolio_page(current_user, filters)
    return _pushing_clean_url(render_page("ppas/index.html", block="results", page=page,
                                          **_filter_context(filters)))


@bp.route("/dashboard")
def portfolio_dashboard():
    require(current_user, "ppa.read")
    filters = PortfolioFilters.from_args(request.args)
    data = dashboard(current_user, filters)
    return _pushing_clean_url(render_page("ppas/dashboard.html", block="results", data=data,
                                          **_chart_data(data), **_filter_context(filters)))


def _pushing_clean_url(body):
    """A filtered fragment pushes its URL without the empty filters (?sector=social, not ?q=&sector=social…)."""
    response = current_app.make_response(body)
    if is_htmx():
        response.headers["HX-Push-Url"] = url_with()
    return response


MONEY_SERIES = [("Budget", "#3B82F6"), ("Obligated", "#F59E0B"), ("Disbursed", "#10B981")]


def _chart_data(data):
    return dict(approval_items=[(label(state), n) for state, n in data.by_approval.items()],
                status_items=[(label(status), n) for status, n in data.by_status.items()],
                sector_groups=[(label(sector) if sector else "No sector", list(sums))
                               for sector, *sums in data.by_sector],
                moa_groups=[(acronym or "No implementing MOA", list(sums)) for acronym, *sums in data.by_moa],
                money_series=MONEY_SERIES)


@functools.cache
def _ppa_statement():
    """_load's statement before the user's scope, built once: building and keying it for every request cost
    more than running it (a statement used again is found in SQLAlchemy's cache at once)."""
    return with_funding_totals(
        sa.select(Ppa).where(Ppa.id == sa.bindparam("ppa_id"))
        .options(joinedload(Ppa.implementing_moa), joinedload(Ppa.lead_organization)))


def _load(ppa_id):
    """The PPA with its organizations and funding totals (one query), or 404 when out of the user's scope."""
    row = db.session.execute(scope(_ppa_statement(), Ppa, current_user), {"ppa_id": ppa_id}).first()
    if row is None:
        raise not_found(Ppa, ppa_id, current_user, "PPA")
    require(current_user, "ppa.read", row.Ppa)
    return row


def _organizations():
    return db.session.scalars(sa.select(Organization).where(Organization.is_active.is_(True))
                              .order_by(Organization.acronym)).all()


def _ppa_form_again(error, ppa_id=None):
    """The form as sent, with every error on its field: the text that could not be read and the rules the
    service found broken (422); or, for a stale edit, with the colleague's values kept where the user
    changed nothing (409)."""
    form = PpaForm()
    form.set_organizations(_organizations())
    ppa = _load(ppa_id).Ppa if ppa_id is not None else None
    if isinstance(error, Conflict):
        keep_theirs_where_untouched(form, error, ppa_form_data(ppa))  # the PPA as it is now
        return _form_page(form, ppa, error), 409
    _, errors = form.values()
    for name, messages in error.errors.items():
        errors.setdefault(name, []).extend(m for m in messages if m not in errors[name])
    form.show_errors(errors)
    return _form_page(form, ppa), 422


@bp.route("/new", methods=["GET", "POST"])
@writes(on_error=_ppa_form_again)
def create():
    require(current_user, "ppa.create")
    form = PpaForm() if request.method == "POST" else PpaForm(data=_new_ppa_defaults())
    form.set_organizations(_organizations())
    if form.validate_on_submit():
        ppa = _save(form, lambda values: services.create_ppa(current_user, **values))
        message = f"{ppa.display_code} “{ppa.title}” was created. Next: its work items, budget and funding."
        after_commit(lambda: _flash_in_request(message))  # said only once it is saved
        return redirect(url_for(".detail", ppa_id=ppa.id))
    return _form_page(form, None), 422 if request.method == "POST" else 200


def _flash_in_request(message):
    """A success message for the page the browser goes to next — only from inside the request that saved."""
    if has_request_context():
        flash(message, "success")


def _save(form, call):
    """Run the service with the values the form could read; text it could not read fails the save as well
    (ValidationFailed: the view's error handler shows every error on its field)."""
    values, errors = form.values()
    result = call(values)
    if errors:
        raise ValidationFailed(errors=errors)
    return result


def _form_page(form, ppa, conflict=None):
    return render_template("ppas/form.html", form=form, ppa=ppa, conflict=conflict,
                           milestone_help=MILESTONE_HELP, milestone_statuses=MILESTONE_STATUSES,
                           outcome_help=OUTCOME_HELP,
                           field_labels={name: f.label.text for name, f in form._fields.items()})


def _new_ppa_defaults():
    defaults = {"status": "planning", "priority": "medium", "progress": 0, "fiscal_year": date.today().year,
                "budget_distribution_policy": "equal", "auto_sync_progress": True, "auto_sync_status": True}
    if current_user.role == "moa_staff" and current_user.organization_id:
        defaults.update(category="moa_ppa", implementing_moa_id=str(current_user.organization_id))
    return defaults


@bp.route("/<int:ppa_id>/edit", methods=["GET", "POST"])
@writes(on_error=_ppa_form_again, catch=(ValidationFailed, Conflict))
def edit(ppa_id):
    row = _load(ppa_id)
    ppa = row.Ppa
    require(current_user, "ppa.edit", ppa)
    form = PpaForm() if request.method == "POST" else PpaForm(data=ppa_form_data(ppa))
    form.set_organizations(_organizations())
    if form.validate_on_submit():
        _save(form, lambda values: services.update_ppa(ppa, form.version.data, actor=current_user, **values))
        return redirect(url_for(".detail", ppa_id=ppa_id))
    return _form_page(form, ppa), 422 if request.method == "POST" else 200


@bp.route("/<int:ppa_id>", defaults={"tab": "overview"})
@bp.route("/<int:ppa_id>/<any('work-items', budget, funding, approval, history):tab>")
def detail(ppa_id, tab):
    row = _load(ppa_id)
    context = _tab_context(row, tab)
    return render_page("ppas/detail.html", block="tab", **context)


@bp.route("/<int:ppa_id>/header")
def header(ppa_id):
    """The detail page's header (chips, key figures, progress): the page's `header` block for htmx, which
    reloads it after a transition or a sync; the detail page otherwise. Two queries (user, PPA)."""
    row = _load(ppa_id)
    if not is_htmx():
        return redirect(url_for(".detail", ppa_id=ppa_id))
    return render_page("ppas/detail.html", block="header", row=row, ppa=row.Ppa)


def _tab_context(row, tab, tranche_form=None):
    context = dict(row=row, ppa=row.Ppa, tab=tab,
                   tabs=[(key, text, url_for("ppas.detail", ppa_id=row.Ppa.id, tab=key)) for key, text in TABS],
                   approval_states=APPROVAL_STATES)
    if tab == "funding":
        context["tranches"] = db.session.scalars(
            sa.select(FundingTranche).where(FundingTranche.ppa_id == row.Ppa.id)
            .order_by(FundingTranche.tranche_date.desc(), FundingTranche.id.desc())).all()
        context["tranche_form"] = tranche_form or TrancheForm(formdata=None)
        context["tranche_kinds"] = TRANCHE_KINDS
    if tab == "history":
        context.update(events=group_events(ppa_history(row.Ppa.id)), object_type="ppa", object_id=row.Ppa.id)
    if tab == "work-items":
        context["work_items"] = work_items_context(row.Ppa, current_user, request.args.get("open"))
    if tab in TAB_CONTEXTS:
        context.update(TAB_CONTEXTS[tab](row.Ppa))
    if tab == "approval":
        ppa = row.Ppa
        context.update(obj=ppa, object_type="ppa", machine=APPROVAL_MACHINE, errors={}, comment=None,
                       options=available_transitions(ppa, current_user), history=transition_history(ppa),
                       approval_path=APPROVAL_PATH)
    return context


def _tranche_form_again(error, ppa_id):
    form = TrancheForm()
    form.show_errors(error.errors)
    row = _load(ppa_id)
    return render_page("ppas/detail.html", block="tab", **_tab_context(row, "funding", form)), 422


@bp.route("/<int:ppa_id>/funding", methods=["POST"])
@writes(on_error=_tranche_form_again)
def add_tranche(ppa_id):
    row = _load(ppa_id)
    require(current_user, "ppa.funding.edit", row.Ppa)
    form = TrancheForm()  # CSRF is checked for every POST by CSRFProtect; the service checks the values
    services.add_tranche(row.Ppa, current_user, kind=form.kind.data, amount=form.amount.data,
                         tranche_date=form.tranche_date.data, source=form.source.data,
                         remarks=form.remarks.data)
    if not is_htmx():
        return redirect(url_for(".detail", ppa_id=ppa_id, tab="funding"))
    row = _load(ppa_id)
    response = current_app.make_response(render_page("ppas/detail.html", block="tab", oob_figures=True,
                                                     **_tab_context(row, "funding")))
    return toast(response, f"{label(form.kind.data).capitalize()} recorded.")
