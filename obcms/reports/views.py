"""The Reports page, "My reports", and the policy register.

    GET       /reports                              the three report cards and My reports
    POST      /reports/generate                     ≤ REPORTS_DIRECT_LIMIT PPAs: the workbook at once; else a job
                                                    → 303 to /reports (its row polls its progress)
    GET       /reports/<id>/progress                one of My reports (a fragment polling itself until done)
    GET       /reports/<id>/download                the kept workbook (its requester only; 7 days)
    GET       /policies                             the policy register
    GET|POST  /policies/new, /policies/<id>/edit    version-checked (a stale save is a 409 with both values)
    POST      /ppas/<ppa_id>/policies               link a policy to the PPA (its Overview tab shows the links)
    POST      /ppas/<ppa_id>/policies/<policy_id>/unlink
"""
import tempfile

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..auth.permissions import can, load_in_scope, require
from ..db_types import utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..form_fields import run_service
from ..htmx import is_htmx, render_page, toast
from ..ppas.models import SECTORS, Ppa, choices
from ..ppas.portfolio import moa_options
from ..ppas.views import TAB_CONTEXTS
from ..transaction import writes
from ..workflow.locking import keep_theirs_where_untouched
from . import policies, services
from .forms import PolicyForm, policy_form_data
from .models import REPORT_KINDS
from .policies import STATUS_LABELS
from .workbooks import REPORT_NAMES

bp = Blueprint("reports", __name__)

REPORT_DESCRIPTIONS = {
    "mfbm_budget_execution": "MOA PPAs: allocation, obligations, disbursements, variance and utilization, with "
                             "remarks and the work tree's expenditure.",
    "bpda_development_alignment": "PPAs with a sector: BDP alignment score, indicators, beneficiaries and SDG "
                                  "contribution, with a summary per sector.",
    "coa_budget_variance": "Budget variance with audit findings, every activity of each work tree, and the audit "
                           "trail of PPAs, work items and tranches.",
}


def _page(errors=None, submitted=None, status=200):
    submitted = submitted or {}
    context = dict(kinds=[(kind, REPORT_NAMES[kind], REPORT_DESCRIPTIONS[kind]) for kind in REPORT_KINDS],
                   errors=errors or {}, submitted=submitted, moa_options=moa_options(current_user),
                   sector_options=choices(SECTORS), reports=services.my_reports(current_user),
                   direct_limit=services.direct_limit(), default_year=utcnow().year,
                   report_names=REPORT_NAMES)
    return render_template("reports/index.html", **context), status


@bp.get("/reports")
def index():
    require(current_user, "report.generate")
    return _page()


def _page_again(error):
    return _page(error.errors or {"report": [error.detail]}, request.form.to_dict(), 422)


@bp.post("/reports/generate")
@writes(on_error=_page_again)
def generate():
    form = request.form
    filters = services.read_filters(current_user, form.get("report"), form.get("fiscal_year"), form.get("moa"),
                                    form.get("sector"))
    outcome = services.request_report(filters, current_user)
    if not outcome.direct:
        return redirect(url_for(".index", _anchor=f"report-{outcome.report.id}"), code=303)
    output = tempfile.TemporaryFile()
    name = services.write_now(filters, current_user, output)
    output.seek(0)
    return send_file(output, mimetype=services.XLSX, as_attachment=True, download_name=name, max_age=0)


@bp.get("/reports/<int:report_id>/progress")
def progress(report_id):
    report = services.get_report(report_id, current_user)
    if not is_htmx():
        return redirect(url_for(".index", _anchor=f"report-{report.id}"))
    return render_template("reports/_report_row.html", report=report, report_names=REPORT_NAMES)


@bp.get("/reports/<int:report_id>/download")
def download(report_id):
    report = services.get_report(report_id, current_user)
    path = services.report_path(report)
    if report.status != "done" or not path.exists():
        raise NotFound("This report is not ready (or its file is gone): generate it again.")
    return send_file(path, mimetype=services.XLSX, as_attachment=True, download_name=report.file_name, max_age=0)


# ----------------------------------------------------------------------------------------- policy register
@bp.get("/policies")
def policy_list():
    page = policies.policies_page(current_user, request.args.get("page"))
    return render_page("reports/policies.html", block="results", page=page, labels=STATUS_LABELS,
                       may_edit=can(current_user, "policy.edit"))


def _policy_form_again(error, policy_id=None):
    policy = policies.get_policy(policy_id, current_user) if policy_id is not None else None
    form = PolicyForm()
    if isinstance(error, Conflict):
        keep_theirs_where_untouched(form, error, policy_form_data(policy))
        return render_template("reports/policy_form.html", form=form, policy=policy, conflict=error), 409
    form.show_failure(error)
    return render_template("reports/policy_form.html", form=form, policy=policy, conflict=None), 422


@bp.route("/policies/new", methods=["GET", "POST"])
@writes(on_error=_policy_form_again)
def new_policy():
    require(current_user, "policy.edit")
    if request.method == "GET":
        form = PolicyForm(formdata=None, data={"status": "active"})
        return render_template("reports/policy_form.html", form=form, policy=None, conflict=None)
    form = PolicyForm()
    policies.create_policy(current_user, **form.values())
    return redirect(url_for(".policy_list"), code=303)


@bp.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@writes(on_error=_policy_form_again, catch=(ValidationFailed, Conflict))
def edit_policy(policy_id):
    policy = policies.get_policy(policy_id, current_user, "policy.edit")
    if request.method == "GET":
        form = PolicyForm(formdata=None, data=policy_form_data(policy))
        return render_template("reports/policy_form.html", form=form, policy=policy, conflict=None)
    form = PolicyForm()
    run_service({}, lambda: policies.update_policy(policy, form.version.data, current_user, **form.values()))
    return redirect(url_for(".policy_list"), code=303)


# ----------------------------------------------------------------------------------------- PPA ↔ policy links
def _ppa(ppa_id, permission="ppa.edit"):
    return load_in_scope(Ppa, ppa_id, current_user, permission, label="PPA")


def _links_context(ppa, errors=None):
    if can(current_user, "ppa.edit", ppa):
        linked, linkable = policies.policies_of(ppa.id, with_linkable=True)
    else:
        linked, linkable = policies.policies_of(ppa.id), []
    return dict(ppa=ppa, linked_policies=linked, linkable_policies=linkable, policy_errors=errors or {})


TAB_CONTEXTS["overview"] = _links_context  # the Overview tab shows the PPA's policies


def _links_answer(ppa, message=None, errors=None, status=200):
    if not is_htmx():
        return redirect(url_for("ppas.detail", ppa_id=ppa.id), code=303) if status < 400 else \
            (render_template("reports/_ppa_policies_page.html", **_links_context(ppa, errors)), status)
    response = current_app.make_response(
        (render_template("reports/_ppa_policies.html", **_links_context(ppa, errors)), status))
    return toast(response, message) if message else response


def _link_again(error, ppa_id, policy_id=None):
    return _links_answer(_ppa(ppa_id), errors=error.errors or {"policy_id": [error.detail]}, status=422)


@bp.post("/ppas/<int:ppa_id>/policies")
@writes(on_error=_link_again)
def link_policy(ppa_id):
    ppa = _ppa(ppa_id)
    policy = policies.link_policy(ppa, request.form.get("policy_id"), current_user)
    return _links_answer(ppa, f"{policy.reference} linked to {ppa.display_code}.")


@bp.post("/ppas/<int:ppa_id>/policies/<int:policy_id>/unlink")
@writes
def unlink_policy(ppa_id, policy_id):
    ppa = _ppa(ppa_id)
    policies.unlink_policy(ppa, policy_id, current_user)
    return _links_answer(ppa, f"Policy unlinked from {ppa.display_code}.")
