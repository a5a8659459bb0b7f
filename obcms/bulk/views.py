"""The bulk routes behind the lists' bulk bar (templates/bulk/_bar.html on the lists).

    POST /bulk/<kind>/plan      the dry run (form: items = "id:version" per checked row, or all_matching with the
                                list's filters as filter-<name>; action; transition, comment, to, priority, days):
                                a dialog (htmx) or a page listing each item allowed or refused and why, with
                                "Apply to all" and "Apply to the N allowed"; 422 with the action's fields again
                                when something is missing (a reject's comment, the person to assign)
    POST /bulk/<kind>/apply     apply (the same fields, and mode = all | allowed): the summary; over
                                services.JOB_THRESHOLD items a job, answered with its self-polling progress
    GET  /bulk/runs/<run_id>    that progress (the person who asked only), then the summary

kind is "ppa" (the PPA list), "task" (My tasks), "workitem" (a tree; filter-tree = its root), "booking" (a
resource's bookings: filter-resource, filter-from) or "alert" (the Alerts page). JSON callers
(Accept: application/json) get the plan's items or DOMAIN.md's answer.
"""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from ..auth.permissions import require, scope
from ..errors import NotFound, ValidationFailed, wants_json
from ..extensions import db
from ..htmx import is_htmx, render_page, toast, trigger
from ..ids import parse_id
from ..jobqueue import JobRun, enqueue
from ..ppas.alert_views import AlertFilters, filtered_alerts
from ..ppas.models import Ppa
from ..ppas.portfolio import PortfolioFilters, filtered
from ..ppas.variances import BudgetAlert
from ..tasks import queries as task_queries
from ..transaction import respond_after_commit, writes
from ..workflow import machine_for
from ..workitems import tree
from ..workitems.models import PRIORITIES, WorkItem
from ..workitems.reminders import local_today
from . import services

bp = Blueprint("bulk", __name__, url_prefix="/bulk")

KIND_ROUTE = "<any(ppa,task,workitem,booking,alert):kind>"
PARAMS = ("transition", "comment", "to", "priority", "days")
FILTER_PREFIX = "filter-"
BULK_APPLIED = "obcms:bulk-applied"  # the HX-Trigger after an apply: the list reloads its rows
JOB_NAME = "bulk_apply"


# ------------------------------------------------------------------------------------------------- reading the form
def _filter_args(form):
    return {key[len(FILTER_PREFIX):]: value for key, value in form.items() if key.startswith(FILTER_PREFIX)}


def _list_url(kind, form):
    """The list the operation came from, with its filters."""
    args = {key: value for key, value in _filter_args(form).items() if value and key != "person"}
    if kind == "workitem" and parse_id(args.get("tree")) is not None:
        return url_for("workitems.show", item_id=parse_id(args["tree"]))
    if kind == "booking" and parse_id(args.get("resource")) is not None:
        return url_for("calendar.resource", resource_id=parse_id(args["resource"]),
                       **{"from": args["from"]} if args.get("from") else {})
    lists = {"ppa": "ppas.index", "task": "tasks.index", "workitem": "workitems.index", "booking": "bookings.index",
             "alert": "alerts.index"}
    return url_for(lists[kind], **(args if kind in ("ppa", "task", "alert") else {}))


def _matching_ids(kind, form):
    """"All N matching the filter": the ids the list's filter selects, resolved here (at most MAX_ITEMS)."""
    args = _filter_args(form)
    if kind == "ppa":
        filters = PortfolioFilters.from_args(args)
        stmt = filtered(sa.select(Ppa.id), filters, current_user).order_by(Ppa.id)
        ids = services.matching_ids(current_user, kind, stmt)
    elif kind == "workitem":  # the whole tree, in tree order
        root_id = parse_id(args.get("tree"))
        stmt = scope(sa.select(WorkItem.id).where(WorkItem.tree_id == (root_id or 0)), WorkItem, current_user)
        ids = services.matching_ids(current_user, kind, stmt.order_by(tree.position()))
    elif kind == "alert":
        stmt = filtered_alerts(current_user, AlertFilters.from_args(args))
        stmt = stmt.with_only_columns(BudgetAlert.id).order_by(BudgetAlert.id)
        ids = services.matching_ids(current_user, kind, stmt)
    elif kind == "booking":
        message = "Select the bookings with their boxes."
        raise ValidationFailed(message, errors={"ids": [message]})
    else:
        require(current_user, "task.list")
        ids = task_queries.assigned_task_ids(current_user, task_queries.Filters.from_args(args),
                                             limit=services.MAX_ITEMS + 1, today=local_today())
    if len(ids) > services.MAX_ITEMS:
        noun = services.kind_of(kind).noun
        message = (f"The filter matches more than {services.MAX_ITEMS:,} {noun}s; an operation takes at most "
                   f"{services.MAX_ITEMS:,}. Narrow the filter, or select rows on the page.")
        raise ValidationFailed(message, errors={"ids": [message]})
    return ids


def _operation(kind, form):
    """(ids, versions, params) from a bulk form."""
    if form.get("all_matching"):
        ids, versions = _matching_ids(kind, form), {}
    else:
        ids, versions = [], {}
        for value in form.getlist("items"):
            item_id, _, version = value.partition(":")
            ids.append(item_id)
            if version:
                versions[item_id] = version
    return ids, versions, {name: form.get(name) for name in PARAMS if form.get(name) is not None}


def _carried(form):
    """[(name, value)] of the form's selection (items, all_matching, the list's filters), to send it again."""
    return [(key, value) for key in form for value in form.getlist(key)
            if key in ("items", "all_matching") or key.startswith(FILTER_PREFIX)]


# ------------------------------------------------------------------------------------------------- pages
def _context(kind, form, **extra):
    kind_ = services.kind_of(kind)
    return dict(kind=kind_, action=services.ACTIONS.get(form.get("action")), actions=services.ACTIONS,
                form=form, carried=_carried(form), back_url=_list_url(kind, form), dialog=is_htmx(),
                transitions=machine_for(kind_.model).transitions, priorities=PRIORITIES,
                job_threshold=services.JOB_THRESHOLD, **extra)


def _errors_page(error, kind, status=422):
    """The action's fields again with what is missing or wrong beside each (a dialog for htmx, else a page)."""
    people = services.assignable_people(current_user) if kind in ("task", "workitem") else []
    body = render_page("bulk/plan.html", block="dialog",
                       **_context(kind, request.form, errors=error.errors or {"ids": [error.detail]}, people=people))
    return _in_dialog(current_app.make_response((body, status)))


def _in_dialog(response):
    if is_htmx():
        response.headers["HX-Retarget"] = "#bulk-dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def _plan_json(found):
    return {"total": found.total, "allowed": len(found.allowed), "refused": len(found.refused),
            "items": [{"id": item.id, "label": item.label, "allowed": item.allowed, "reason": item.reason,
                       "detail": item.detail, "version": item.version} for item in found.items]}


@bp.post(f"/{KIND_ROUTE}/plan")
def plan(kind):
    require(current_user, services.kind_of(kind).permission)
    try:
        ids, versions, params = _operation(kind, request.form)
        found = services.plan(current_user, kind, request.form.get("action"), ids, params, versions)
    except ValidationFailed as error:  # a dry run writes nothing: its refusals are the form again
        if wants_json():
            raise
        return _errors_page(error, kind)
    if wants_json():
        return jsonify(_plan_json(found))
    body = render_page("bulk/plan.html", block="dialog", **_context(kind, request.form, plan=found, errors={}))
    return _in_dialog(current_app.make_response(body))


def _apply_again(error, kind):
    if wants_json():
        raise error
    return _errors_page(error, kind)


def _serializable(params):
    return {name: str(value) for name, value in params.items() if value is not None}


@bp.post(f"/{KIND_ROUTE}/apply")
@writes(on_error=_apply_again)
def apply(kind):
    kind_ = services.kind_of(kind)
    require(current_user, kind_.permission)
    ids, versions, params = _operation(kind, request.form)
    mode = request.form.get("mode") or "all"
    action = request.form.get("action")
    if mode not in services.MODES:
        raise ValidationFailed("Apply to all, or to the allowed ones.", errors={"mode": ["Choose how to apply."]})
    if len(ids) > services.JOB_THRESHOLD:
        # checked now (a 422 here, not a failed job later); the job plans again when it runs
        cleaned = services.clean_ids(ids)
        services.clean_params(kind_, kind_.action(action), params)
        run = enqueue(JOB_NAME, requested_by=current_user, user_id=current_user.id, kind=kind, action=action,
                      ids=cleaned, params=_serializable(params), versions=versions, mode=mode,
                      operation=services.new_operation_id())
        run_id = run.id
        if not is_htmx() and not wants_json():
            return redirect(url_for(".run_status", run_id=run_id), code=303)
        return respond_after_commit(lambda: run_status(run_id))
    found, result = services.apply_planned(current_user, kind, action, ids, params, versions, mode)
    if wants_json():
        return jsonify(result)
    body = render_page("bulk/result.html", block="dialog",
                       **_context(kind, request.form, result=result, labels=_labels(found), run=None))
    response = _in_dialog(current_app.make_response(body))
    if result["succeeded"]:
        trigger(response, BULK_APPLIED, {"kind": kind})
    return toast(response, summary_sentence(kind_, action, result), "warning" if result["failed"] else "success")


def _labels(found):
    return {item.id: item.label for item in found.items}


def summary_sentence(kind, action, result):
    verb = services.ACTIONS[action].label if action in services.ACTIONS else "Changed"
    if result["rolled_back"]:
        return f"{verb}: nothing changed — {result['failed']} of {result['total']} {kind.noun}s refused."
    done = f"{verb}: {result['succeeded']} of {result['total']} {kind.noun}s done"
    return done + (f", {result['failed']} refused." if result["failed"] else ".")


@bp.get("/runs/<int:run_id>")
def run_status(run_id):
    """A large operation's job: progress while it runs (the fragment polls itself), then its summary."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.name != JOB_NAME or run.requested_by_id != current_user.id:
        raise NotFound("There is no such bulk operation of yours.")
    arguments = run.arguments or {}
    kind = arguments.get("kind") if arguments.get("kind") in services.KINDS else "ppa"
    result = run.counts if run.status == "succeeded" else None
    if wants_json():
        return jsonify(status=run.status, result=result, error=run.error)
    labels = {int(key): value for key, value in ((result or {}).get("labels") or {}).items()}
    block = "status" if request.args.get("part") == "status" else "dialog"
    body = render_page("bulk/result.html", block=block,
                       **_context(kind, _Form(action=arguments.get("action") or ""), result=result, labels=labels,
                                  run=run))
    response = current_app.make_response(body)
    if result and result.get("succeeded"):
        trigger(response, BULK_APPLIED, {"kind": kind})
    return response


class _Form(dict):
    """A stand-in for request.form when a page is made from stored arguments."""

    def getlist(self, key):
        return [self[key]] if key in self else []


def failures_of(result):
    """[(id, reason)] of a result whose keys may have become text (a job's counts are JSON)."""
    return sorted(((int(key), reason) for key, reason in (result.get("failures") or {}).items()), key=lambda p: p[0])


@bp.app_template_global()
def bulk_failures(result):
    return failures_of(result)


@bp.app_template_global()
def bulk_bar_options(kind):
    """What a list's bulk bar offers (templates/bulk/_bar.html); no query."""
    kind_ = services.kind_of(kind)
    return dict(noun=kind_.noun, actions=kind_.actions,
                labels={name: services.ACTIONS[name].label for name in kind_.actions},
                transitions=machine_for(kind_.model).transitions, priorities=PRIORITIES, max=services.MAX_ITEMS,
                max_days=services.MAX_DAYS, max_comment=services.MAX_COMMENT)
