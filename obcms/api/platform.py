"""Search, bulk operations, notifications and the audit log in the API — through the services of their pages.

    GET  /api/v1/search?q=…&kind=…&organization=…&fy=…&status=…&page=…   scoped; counts against the search limit
    POST /api/v1/bulk/<kind>/<action>?dry_run=1    the plan: each item allowed or refused, and why (no writes)
    POST /api/v1/bulk/<kind>/<action>              apply (mode all | allowed): DOMAIN.md's answer; over
                                                   JOB_THRESHOLD items a job (202, Location)
    GET  /api/v1/bulk/runs/<run id>                that job's status and, once done, its answer
    GET  /api/v1/notifications?unread=1            your notifications, unread first, and the unread count
    POST /api/v1/notifications/<id>/read           mark one of yours read; POST …/read-all marks them all
    GET  /api/v1/audit?object_type=…&before=…      the audit log, newest first (admins only)
"""
import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_login import current_user

from ..audit.models import AuditEntry
from ..audit.queries import AuditFilters, filtered_entries
from ..auth.permissions import require
from ..bulk import services as bulk
from ..bulk.views import JOB_NAME as BULK_JOB
from ..errors import NotFound
from ..extensions import db
from ..jobqueue import JobRun, enqueue
from ..notifications import services as notifications
from ..notifications.models import Notification
from ..search import queries
from ..search import services as search
from ..search.views import search_limit
from ..transaction import respond_after_commit, writes
from .platform_schemas import (
    AuditArgs,
    AuditEntrySchema,
    AuditPageSchema,
    BulkAnswerSchema,
    BulkArgs,
    BulkRunSchema,
    BulkSchema,
    HitSchema,
    MarkedSchema,
    NotificationArgs,
    NotificationSchema,
    NotificationsSchema,
    SearchArgs,
    SearchPageSchema,
)
from .ppas import problems
from .views import bp, takes_json

TOO_MANY = {429: {"description": "Too many searches: wait (Retry-After) and try again",
                  "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}


# Search ------------------------------------------------------------------------------------------------------

@bp.route("/search", methods=["GET"])
@search_limit
@bp.arguments(SearchArgs, location="query", as_kwargs=False)
@bp.response(200, SearchPageSchema)
@bp.doc(tags=["search"], responses={**problems(401, 422), **TOO_MANY})
def search_page(args):
    """Search

    PPAs, work items, tasks, calendar events, organizations and people you may see, best first, filtered as on
    the results page; one page of `per_page` hits (`page=`)."""
    filters = queries.Filters(args.get("kind"), args.get("organization"), args.get("fy"), args.get("status"))
    found = search.full(current_user, args["q"], filters, str(args["page"]))
    return jsonify(items=HitSchema(many=True).dump(found.items), page=found.page, pages=found.pages,
                   per_page=found.per_page, total=found.total)


# Bulk --------------------------------------------------------------------------------------------------------

def plan_json(found):
    return {"total": found.total, "allowed": len(found.allowed), "refused": len(found.refused),
            "items": [{"id": item.id, "label": item.label, "allowed": item.allowed, "reason": item.reason,
                       "detail": item.detail, "version": item.version} for item in found.items]}


def bulk_run_response(run_id, status=200):
    run = db.session.get(JobRun, run_id)
    if run is None or run.name != BULK_JOB or run.requested_by_id != current_user.id:
        raise NotFound("There is no such bulk operation of yours.")
    response = jsonify(run_id=run.id, status=run.status, result=run.counts if run.status == "succeeded" else None,
                       error=run.error)
    response.status_code = status
    response.headers["Location"] = url_for("api.bulk_run", run_id=run.id)
    return response


def _may_bulk(kind, action):
    require(current_user, bulk.kind_of(kind).permission)


@bp.route(f"/bulk/<any({','.join(bulk.KINDS)}):kind>/<any({','.join(bulk.ACTIONS)}):action>", methods=["POST"])
@takes_json("dashboard.view", first=_may_bulk)  # any role; `first`: the kind's permission
@bp.arguments(BulkArgs, location="query", as_kwargs=False)
@bp.arguments(BulkSchema, as_kwargs=False)
@bp.response(200, BulkAnswerSchema)
@bp.doc(tags=["bulk"], responses={202: {"description": "A large operation: its job (poll Location)"},
                                  **problems(400, 401, 403, 404, 415, 422)})
@writes
def bulk_operation(args, body, kind, action):
    """A bulk operation on PPAs or tasks

    `kind` ppa (actions transition, approve, reject) or task (transition, assign, priority, reschedule).
    With `dry_run=1` the plan: each item allowed or refused and why, nothing written. Else applied item by
    item through each domain's own write: mode `all` writes everything or nothing (`rolled_back`), `allowed`
    the items that pass. Over the job threshold (200 items) it runs as a job: 202 with its run."""
    ids, versions, params = body["ids"], {str(k): v for k, v in body["versions"].items()}, body["params"]
    if args["dry_run"]:
        found = bulk.plan(current_user, kind, action, ids, params, versions)
        return jsonify(plan_json(found))
    if len(ids) > bulk.JOB_THRESHOLD:
        kind_ = bulk.kind_of(kind)
        cleaned = bulk.clean_ids(ids)
        bulk.clean_params(kind_, kind_.action(action), params)
        run_id = enqueue(BULK_JOB, requested_by=current_user, user_id=current_user.id, kind=kind, action=action,
                         ids=cleaned, params={k: str(v) for k, v in params.items()}, versions=versions,
                         mode=body["mode"], operation=bulk.new_operation_id()).id
        return respond_after_commit(lambda: bulk_run_response(run_id, 202))
    _, result = bulk.apply_planned(current_user, kind, action, ids, params, versions, body["mode"])
    return jsonify({**result, "failures": {str(k): v for k, v in result["failures"].items()}})


@bp.route("/bulk/runs/<int:run_id>", methods=["GET"])
@bp.response(200, BulkRunSchema)
@bp.doc(tags=["bulk"], responses=problems(401, 404))
def bulk_run(run_id):
    """A large bulk operation's job

    Yours only: its status and, once succeeded, its answer."""
    return bulk_run_response(run_id)


# Notifications -----------------------------------------------------------------------------------------------

@bp.route("/notifications", methods=["GET"])
@bp.arguments(NotificationArgs, location="query", as_kwargs=False)
@bp.response(200, NotificationsSchema)
@bp.doc(tags=["notifications"], responses=problems(401, 403, 422))
def notification_list(args):
    """Your notifications

    The latest, unread first then newest first (`unread=1`: unread only), and how many are unread."""
    require(current_user, "notification.read")
    items = notifications.recent(current_user, unread_only=args["unread"])
    return jsonify(unread=notifications.unread_count(current_user),
                   items=NotificationSchema(many=True).dump(items))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@bp.response(200, MarkedSchema)
@bp.doc(tags=["notifications"], responses=problems(401, 403, 404))
@writes
def notification_read(notification_id):
    """Mark a notification read

    Only your own (anyone else's is a 404). Marking it again changes nothing."""
    require(current_user, "notification.read")
    owner = db.session.scalar(sa.select(Notification.user_id).where(Notification.id == notification_id))
    if owner is None or owner != current_user.id:
        raise NotFound()
    marked = notifications.mark_read(current_user, [notification_id])
    return jsonify(marked=marked, unread=notifications.unread_count(current_user))


@bp.route("/notifications/read-all", methods=["POST"])
@bp.response(200, MarkedSchema)
@bp.doc(tags=["notifications"], responses=problems(401, 403))
@writes
def notification_read_all():
    """Mark all your notifications read"""
    require(current_user, "notification.read")
    return jsonify(marked=notifications.mark_all_read(current_user), unread=0)


# Audit -------------------------------------------------------------------------------------------------------

@bp.route("/audit", methods=["GET"])
@bp.arguments(AuditArgs, location="query", as_kwargs=False)
@bp.response(200, AuditPageSchema)
@bp.doc(tags=["audit"], responses=problems(401, 403, 422))
def audit_list(args):
    """The audit log (admins)

    Every recorded change, newest first, filtered as on the audit page; follow `next` for older entries."""
    require(current_user, "audit.read")
    filters = AuditFilters(object_type=args.get("object_type"), object_id=args.get("object_id"),
                           user=args.get("user"), action=args.get("action"), date_from=args.get("date_from"),
                           date_to=args.get("date_to"))
    stmt = filtered_entries(filters)
    if "before" in args:
        stmt = stmt.where(AuditEntry.id < args["before"])
    rows = db.session.scalars(stmt.limit(args["limit"] + 1)).all()
    next_url = None
    if len(rows) > args["limit"]:
        rows = rows[:args["limit"]]
        query = {k: v for k, v in request.args.items() if k != "before"}
        next_url = url_for("api.audit_list", **query, before=rows[-1].id)
    return jsonify(items=AuditEntrySchema(many=True).dump(rows), next=next_url)
