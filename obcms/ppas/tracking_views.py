"""Execution tracking actions on a PPA's Work Items tab (the tab itself: views.detail + work_items_tab.py).

    GET  /ppas/<id>/tracking/preview?template=…   the tree a template would generate (the form's live preview)
    POST /ppas/<id>/tracking/enable               template, policy → the tree, linked; answers the tab
    POST /ppas/<id>/tracking/disable              confirm=1 (admin / OOBC executive) → the tab
    POST /ppas/<id>/tracking/sync                 "Sync now": enqueues sync_ppa_progress for this PPA
    GET  /ppas/<id>/tracking/sync/<run id>        the run's status (polls itself until it is done)
"""
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.permissions import require
from ..errors import NotFound
from ..extensions import db
from ..htmx import is_htmx, render_page, toast
from ..jobqueue import JobRun, enqueue
from ..transaction import respond_after_commit, writes
from ..workitems import tree
from . import tracking
from .views import _load, _tab_context
from .work_items_tab import enable_form_context

bp = Blueprint("ppa_tracking", __name__, url_prefix="/ppas")


def _tab(ppa_id, status=200, **extra):
    """The Work Items tab again (the whole page for plain requests)."""
    row = _load(ppa_id)
    context = _tab_context(row, "work-items")
    context.update(extra)
    return render_page("ppas/detail.html", block="tab", oob_figures=True, **context), status


@bp.get("/<int:ppa_id>/tracking/preview")
def preview(ppa_id):
    row = _load(ppa_id)
    require(current_user, "ppa.edit", row.Ppa)
    form = enable_form_context(row.Ppa, request.args.get("template"), request.args.get("policy"))
    return render_template("ppas/_tracking_preview.html", ppa=row.Ppa, form=form)


def _enable_form_again(error, ppa_id):
    row = _load(ppa_id)
    context = _tab_context(row, "work-items")
    context["work_items"]["form"] = enable_form_context(row.Ppa, request.form.get("template"),
                                                        request.form.get("policy"), error.errors)
    return render_page("ppas/detail.html", block="tab", **context), 422


@bp.post("/<int:ppa_id>/tracking/enable")
@writes(on_error=_enable_form_again)
def enable(ppa_id):
    row = _load(ppa_id)
    root = tracking.enable_tracking(row.Ppa, current_user, request.form.get("template"), request.form.get("policy"))
    size = tree.subtree_size(root)
    if not is_htmx():
        return redirect(url_for("ppas.detail", ppa_id=ppa_id, tab="work-items"), code=303)
    body, status = _tab(ppa_id)
    return toast(current_app.make_response((body, status)), f"Tracking enabled: {size} work items generated.")


@bp.post("/<int:ppa_id>/tracking/disable")
@writes
def disable(ppa_id):
    row = _load(ppa_id)
    tracking.disable_tracking(row.Ppa, current_user, confirmed=request.form.get("confirm") == "1")
    if not is_htmx():
        return redirect(url_for("ppas.detail", ppa_id=ppa_id, tab="work-items"), code=303)
    body, status = _tab(ppa_id)
    return toast(current_app.make_response((body, status)),
                 "Tracking disabled. The work items are kept, no longer linked to the PPA.")


@bp.post("/<int:ppa_id>/tracking/sync")
@writes
def sync_now(ppa_id):
    row = _load(ppa_id)
    tracking.check_sync_allowed(row.Ppa, current_user)
    run_id = enqueue("sync_ppa_progress", requested_by=current_user, ppa_ids=[ppa_id]).id
    if not is_htmx():
        return redirect(url_for("ppas.detail", ppa_id=ppa_id, tab="work-items"), code=303)
    # The commit starts the run (inline without Redis; with Redis a worker picks it up): the status after it.
    return respond_after_commit(lambda: sync_status(ppa_id, run_id))


@bp.get("/<int:ppa_id>/tracking/sync/<int:run_id>")
def sync_status(ppa_id, run_id):
    row = _load(ppa_id)
    require(current_user, "ppa.read", row.Ppa)
    run = db.session.get(JobRun, run_id)
    if run is None or run.name != "sync_ppa_progress" or run.arguments.get("ppa_ids") != [ppa_id]:
        raise NotFound("There is no such sync run for this PPA.")
    response = current_app.make_response(render_template("ppas/_sync_status.html", ppa=row.Ppa, run=run))
    if run.status == "succeeded":
        response.headers["HX-Trigger"] = "obcms:ppa-synced"  # the page header shows the synced figures
    return response
