"""A PPA's money in the API: funding tranches, WorkItem tracking, budget distribution, the progress sync and
the ledger's financial entries — through the same services as the PPA's Funding, Work Items and Budget tabs.

    GET  /api/v1/ppas/<id>/tranches                     the tranches, newest first
    POST /api/v1/ppas/<id>/tranches                     record one (201)
    GET  /api/v1/ppas/<id>/tracking?template=…          tracking state; with template, the tree it would generate
    POST /api/v1/ppas/<id>/tracking                     enable: {template, policy} (201)
    DELETE /api/v1/ppas/<id>/tracking                   disable (admin / OOBC executive; the tree is kept)
    POST /api/v1/ppas/<id>/distribution/preview         {node_id?, method, amount?, inputs, rescale}: no writes
    POST /api/v1/ppas/<id>/distribution                 apply with the preview's `versions` (stale → 409)
    POST /api/v1/ppas/<id>/sync                         "Sync now": 202 with the run; GET …/sync/<run id> polls
    GET  /api/v1/ppas/<id>/financial-entries            the ledger, newest first (?work_item_id, kind, before)
    POST /api/v1/ppas/<id>/financial-entries            post an entry on one of its work items (201)
    POST /api/v1/financial-entries/<id>/reverse         {reason}: the reversing entry (201; twice → 409)

Tranches and entries are never edited nor deleted (no page does either: an entry is reversed), so PATCH and
DELETE answer 405.
"""
import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_login import current_user
from sqlalchemy.orm import aliased

from ..auth.models import User
from ..auth.permissions import load_in_scope, require, scope
from ..budget import ledger
from ..budget import services as budget
from ..budget.models import FinancialEntry
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..jobqueue import JobRun, enqueue
from ..ppas import services, tracking
from ..ppas.models import FundingTranche, Ppa
from ..transaction import respond_after_commit, writes
from ..workitems.models import WorkItem
from .money_schemas import (
    DistributionApplySchema,
    DistributionPreviewArgs,
    DistributionPreviewSchema,
    DistributionSchema,
    EnableTrackingSchema,
    FinancialEntryCreateSchema,
    FinancialEntryListArgs,
    FinancialEntryPageSchema,
    FinancialEntrySchema,
    ReverseSchema,
    SyncRunSchema,
    TrackingArgs,
    TrackingSchema,
    TrancheCreateSchema,
    TrancheListSchema,
)
from .ppas import load_ppa, problems
from .schemas import TrancheSchema
from .views import bp, takes_json

SYNC_JOB = "sync_ppa_progress"


def created(body, location):
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def ppa_first(permission):
    """takes_json's `first`: the PPA loaded in scope, then `permission` on it, before the body is read (another
    MOA's is a 404 for every role, not a 403 nor a 415); the view takes it from the session's identity map (scoped_ppa: no second query)."""
    def first(ppa_id, **_):
        load_ppa(ppa_id, permission)
    return first


def scoped_ppa(ppa_id):
    """The PPA `ppa_first` loaded in scope in this request."""
    return db.session.get(Ppa, ppa_id)


def ppa_node(ppa_id, node_id, permission):
    """A work item of PPA `ppa_id` in the user's scope (another PPA's item is no different from none: 404). The
    item's scope is its PPA's (its organization is the implementing MOA), so the PPA itself is not loaded."""
    node = load_in_scope(WorkItem, node_id, current_user, permission, "work item")
    if node.ppa_id != ppa_id:
        raise NotFound(f"There is no work item #{node_id} in this PPA.")
    return node


# Tranches ----------------------------------------------------------------------------------------------------

@bp.route("/ppas/<int:ppa_id>/tranches", methods=["GET"])
@bp.response(200, TrancheListSchema)
@bp.doc(tags=["money"], responses=problems(401, 404))
def tranche_list(ppa_id):
    """A PPA's funding tranches

    As the Funding tab lists them: newest first (a tracked PPA's obligations and disbursements mirror its
    ledger entries: `financial_entry_id`)."""
    ppa = load_ppa(ppa_id)
    rows = db.session.scalars(sa.select(FundingTranche).where(FundingTranche.ppa_id == ppa.id)
                              .order_by(FundingTranche.tranche_date.desc(), FundingTranche.id.desc())).all()
    return jsonify(ppa_id=ppa.id, items=TrancheSchema(many=True).dump(rows))


@bp.route("/ppas/<int:ppa_id>/tranches", methods=["POST"])
@takes_json("ppa.read", first=ppa_first("ppa.funding.edit"))
@bp.arguments(TrancheCreateSchema)
@bp.response(201, TrancheSchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 415, 422))
@writes
def tranche_create(values, ppa_id):
    """Record a money movement

    Allocation, obligation, disbursement or adjustment (only adjustments may be negative). A tracked PPA's
    obligations and disbursements are posted on its work items instead (financial-entries)."""
    ppa = scoped_ppa(ppa_id)
    tranche = services.add_tranche(ppa, current_user, **values)
    return created(TrancheSchema().dump(tranche), url_for("api.tranche_list", ppa_id=ppa.id))


# Tracking ----------------------------------------------------------------------------------------------------

def tracking_state(ppa, preview=None):
    nodes = None
    if preview is not None:
        nodes = [{"depth": depth, **node} for depth, node in tracking.flatten(preview)]
    return TrackingSchema().dump({"ppa_id": ppa.id, "enabled": ppa.workitem_tracking_enabled,
                                  "execution_project_id": ppa.execution_project_id,
                                  "structure_template": ppa.structure_template,
                                  "budget_distribution_policy": ppa.budget_distribution_policy,
                                  "version": ppa.version, "preview": nodes})


@bp.route("/ppas/<int:ppa_id>/tracking", methods=["GET"])
@bp.arguments(TrackingArgs, location="query", as_kwargs=False)
@bp.response(200, TrackingSchema)
@bp.doc(tags=["money"], responses=problems(401, 403, 404, 422))
def tracking_show(args, ppa_id):
    """A PPA's WorkItem tracking

    Whether it is on and its execution project; with `template`, the tree that template would generate (as
    the Work Items tab previews it: for the PPA's editors; nothing is written)."""
    ppa = load_ppa(ppa_id)
    preview = None
    if "template" in args:
        require(current_user, "ppa.edit", ppa)
        preview = tracking.preview_structure(ppa, args["template"])
    return jsonify(tracking_state(ppa, preview))


@bp.route("/ppas/<int:ppa_id>/tracking", methods=["POST"])
@takes_json("ppa.read", first=ppa_first("ppa.edit"))
@bp.arguments(EnableTrackingSchema)
@bp.response(201, TrackingSchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 409, 415, 422))
@writes
def tracking_enable(values, ppa_id):
    """Enable WorkItem tracking

    Generates the execution project from the template (the PPA's progress and status follow it from then on).
    Already enabled is a 409."""
    ppa = scoped_ppa(ppa_id)
    tracking.enable_tracking(ppa, current_user, values["template"], values["policy"])
    return created(tracking_state(ppa), url_for("api.tracking_show", ppa_id=ppa.id))


@bp.route("/ppas/<int:ppa_id>/tracking", methods=["DELETE"])
@bp.response(200, TrackingSchema)
@bp.doc(tags=["money"], responses=problems(401, 403, 404, 409))
@writes
def tracking_disable(ppa_id):
    """Disable WorkItem tracking

    Admins and OOBC executives (the request is the confirmation). The work items are kept, detached from the
    PPA. Not enabled is a 409."""
    ppa = load_ppa(ppa_id)
    tracking.disable_tracking(ppa, current_user, confirmed=True)
    return jsonify(tracking_state(ppa))


# Distribution ------------------------------------------------------------------------------------------------

def distribution_node(ppa_id, values):
    """The node named, else the PPA's execution project."""
    if values.get("node_id"):
        return ppa_node(ppa_id, values["node_id"], "budget.distribute")
    node_id = scoped_ppa(ppa_id).execution_project_id
    if node_id is None:
        raise ValidationFailed("This PPA has no execution project: enable tracking, or name the node.",
                               errors={"node_id": ["Required: the PPA is not tracked."]})
    return ppa_node(ppa_id, node_id, "budget.distribute")


@bp.route("/ppas/<int:ppa_id>/distribution/preview", methods=["POST"])
@takes_json("ppa.read", first=ppa_first("budget.distribute"))
@bp.arguments(DistributionPreviewArgs)
@bp.response(200, DistributionPreviewSchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 415, 422))
def distribution_preview(values, ppa_id):
    """Preview a budget distribution

    What distributing the amount over the node's children would give, every problem named (`errors`, by
    child id), and the `versions` to send back to apply. Without `inputs`, weighted and manual start from the
    current allocations (as the dialog does). Writes nothing."""
    node = distribution_node(ppa_id, values)
    facts, children = budget.read_family(node)
    inputs = values["inputs"] or budget.initial_inputs(values["method"], children)
    items = budget.read_items(facts) if values["rescale"] else None
    preview = budget.compute_preview(facts, children, values["method"], inputs, values.get("amount"), items)
    body = DistributionPreviewSchema().dump(preview)
    body["is_valid"] = preview.is_valid
    return jsonify(body)


@bp.route("/ppas/<int:ppa_id>/distribution", methods=["POST"])
@takes_json("ppa.read", first=ppa_first("budget.distribute"))
@bp.arguments(DistributionApplySchema)
@bp.response(201, DistributionSchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 409, 415, 422))
@writes
def distribution_apply(values, ppa_id):
    """Apply a budget distribution

    As the dialog's Apply: checked again inside the tree's lock against the `versions` you previewed (a change
    since is a 409 naming it), any problem a 422 naming the child, recorded for the PPA's history."""
    node = distribution_node(ppa_id, values)
    applied = budget.apply(node.id, values["method"], values["inputs"], current_user, values["versions"],
                           values.get("amount"), values["rescale"], values.get("rescaled_versions"))
    return created(DistributionSchema().dump(applied.record), url_for("api.tranche_list", ppa_id=ppa_id))


# Sync --------------------------------------------------------------------------------------------------------

def sync_run(ppa_id, run_id):
    run = db.session.get(JobRun, run_id)
    if run is None or run.name != SYNC_JOB or run.arguments.get("ppa_ids") != [ppa_id]:
        raise NotFound("There is no such sync run for this PPA.")
    return run


def sync_response(ppa_id, run_id, status=200):
    run = sync_run(ppa_id, run_id)
    response = jsonify(SyncRunSchema().dump({**{c: getattr(run, c) for c in
                                                ("id", "status", "queued_at", "finished_at", "counts", "error")},
                                             "ppa_id": ppa_id}))
    response.status_code = status
    response.headers["Location"] = url_for("api.sync_status", ppa_id=ppa_id, run_id=run_id)
    return response


@bp.route("/ppas/<int:ppa_id>/sync", methods=["POST"])
@bp.response(202, SyncRunSchema)
@bp.doc(tags=["money"], responses=problems(401, 403, 404, 422))
@writes
def sync_now(ppa_id):
    """Sync the PPA from its work items now

    Enqueues the progress sync of this PPA ("Sync now"): 202 with the run; poll its `Location` until
    `status` is succeeded or failed. The PPA must be tracked (else 422)."""
    ppa = load_ppa(ppa_id, "ppa.edit")
    tracking.check_sync_allowed(ppa, current_user)
    run_id = enqueue(SYNC_JOB, requested_by=current_user, ppa_ids=[ppa.id]).id
    return respond_after_commit(lambda: sync_response(ppa.id, run_id, 202))


@bp.route("/ppas/<int:ppa_id>/sync/<int:run_id>", methods=["GET"])
@bp.response(200, SyncRunSchema)
@bp.doc(tags=["money"], responses=problems(401, 404))
def sync_status(ppa_id, run_id):
    """A sync run's status"""
    load_ppa(ppa_id)
    return sync_response(ppa_id, run_id)


# Financial entries -------------------------------------------------------------------------------------------

def entry_rows(stmt):
    reversal, recorder = aliased(FinancialEntry), aliased(User)
    stmt = (stmt.add_columns(ledger._name(recorder).label("recorded_by"), reversal.id.label("reversed_by_id"))
            .outerjoin(recorder, recorder.id == FinancialEntry.recorded_by_id)
            .outerjoin(reversal, reversal.reverses_id == FinancialEntry.id))
    schema = FinancialEntrySchema(exclude=("recorded_by", "reversed_by_id"))
    return [{**schema.dump(row.FinancialEntry), "recorded_by": row.recorded_by,
             "reversed_by_id": row.reversed_by_id} for row in db.session.execute(stmt)]


@bp.route("/ppas/<int:ppa_id>/financial-entries", methods=["GET"])
@bp.arguments(FinancialEntryListArgs, location="query", as_kwargs=False)
@bp.response(200, FinancialEntryPageSchema)
@bp.doc(tags=["money"], responses=problems(401, 404, 422))
def entry_list(args, ppa_id):
    """A PPA's ledger

    Its obligations, disbursements and adjustments on every work item (or one: `work_item_id`), newest first,
    each with who recorded it and the entry that reversed it; follow `next` for older ones."""
    ppa = load_ppa(ppa_id)
    require(current_user, "workitem.read")
    stmt = scope(sa.select(FinancialEntry).where(FinancialEntry.ppa_id == ppa.id), FinancialEntry, current_user)
    for name in ("work_item_id", "kind"):
        if name in args:
            stmt = stmt.where(getattr(FinancialEntry, name) == args[name])
    if "before" in args:
        stmt = stmt.where(FinancialEntry.id < args["before"])
    rows = entry_rows(stmt.order_by(FinancialEntry.id.desc()).limit(args["limit"] + 1))
    next_url = None
    if len(rows) > args["limit"]:
        rows = rows[:args["limit"]]
        query = {k: v for k, v in request.args.items() if k != "before"}
        next_url = url_for("api.entry_list", ppa_id=ppa.id, **query, before=rows[-1]["id"])
    return jsonify(items=rows, next=next_url)


def entry_response(entry):
    """A new entry (recorded by the current user, reversed by none) without reading it again."""
    body = {**FinancialEntrySchema(exclude=("recorded_by", "reversed_by_id")).dump(entry),
            "recorded_by": current_user.display_name, "reversed_by_id": None}
    return created(body, url_for("api.entry_list", ppa_id=entry.ppa_id, work_item_id=entry.work_item_id))


@bp.route("/ppas/<int:ppa_id>/financial-entries", methods=["POST"])
@takes_json("ppa.read", first=ppa_first("budget.record"))
@bp.arguments(FinancialEntryCreateSchema)
@bp.response(201, FinancialEntrySchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 415, 422))
@writes
def entry_create(values, ppa_id):
    """Post a ledger entry

    On one of the tracked PPA's work items, as its ledger dialog does: rolled up to the root with its mirror
    tranche. Beyond an allocation takes `override` with a reason (flagged `over_allocation`)."""
    node = ppa_node(ppa_id, values.pop("work_item_id"), "budget.record")
    return entry_response(ledger.record_entry(node, current_user, **values))


@bp.route("/financial-entries/<int:entry_id>/reverse", methods=["POST"])
@takes_json("workitem.read", first=lambda entry_id: ledger.get_entry(entry_id, current_user, "budget.record"))
@bp.arguments(ReverseSchema)
@bp.response(201, FinancialEntrySchema)
@bp.doc(tags=["money"], responses=problems(400, 401, 403, 404, 409, 415, 422))
@writes
def entry_reverse(values, entry_id):
    """Reverse a ledger entry

    A new entry of the same kind with the opposite amount (a reason is required). An entry already reversed,
    or itself a reversal, is a 409."""
    entry = db.session.get(FinancialEntry, entry_id)  # loaded in scope by takes_json's `first`
    reversal = ledger.reverse_entry(entry, current_user, values["reason"])
    return entry_response(reversal)
