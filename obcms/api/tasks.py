"""My tasks in the API: the tasks and subtasks assigned to you (or, for a lead, to a team member), as the My
tasks page lists them (obcms/tasks/queries.py), and completing one through the work items' status machine.

    GET  /api/v1/tasks?priority=high&status=in_progress&ppa=3&sort=due&page=2   open ones by default
    GET  /api/v1/tasks?person=12                                                a team member's (task.team)
    POST /api/v1/tasks/<id>/complete                                            If-Match (or "version")

The list costs two queries (its count and its page) with the user's own.
"""
import dataclasses

from flask import jsonify, request, url_for
from flask_login import current_user

from ..auth.permissions import load_in_scope, require
from ..errors import ValidationFailed
from ..tasks import queries
from ..transaction import writes
from ..workflow import fire
from ..workitems.models import WorkItem
from ..workitems.reminders import local_today
from .ppas import IF_MATCH, expected_version, problems
from .views import bp, takes_json
from .workitems import ETAG, item_response
from .workitems_schemas import CompleteSchema, TaskListArgs, TaskPageSchema, WorkItemSchema

TAGS = ["tasks"]


def whose(person_id):
    """The person whose tasks are listed: you, or a team member you may see (404) when you may look at your
    team (403), as the team view decides."""
    if person_id is None or person_id == current_user.id:
        return current_user
    person = queries.team_member(current_user, person_id)
    require(current_user, "task.team")
    return person


@bp.route("/tasks", methods=["GET"])
@bp.arguments(TaskListArgs, location="query", as_kwargs=False)
@bp.response(200, TaskPageSchema)
@bp.doc(tags=TAGS, responses=problems(401, 403, 404, 422, missing="person"))
def task_list(args):
    """My tasks

    The tasks and subtasks assigned to you (or to `person`, for a team lead) that you may see: open ones, or
    exactly `status`; soonest due first (or by `priority`, `title`), a page at a time (`next`)."""
    require(current_user, "task.list")
    person = whose(args.get("person"))
    filters = queries.Filters(ppa_id=args.get("ppa"), priority=args.get("priority"), status=args.get("status"),
                              sort=args["sort"])
    today = local_today()
    page = queries.assigned_tasks(person, filters, page=args["page"], per_page=args["per_page"],
                                  viewer=current_user, today=today)
    next_url = None
    if page.has_next:
        next_url = url_for("api.task_list", **{**request.args.to_dict(), "page": page.page + 1})
    items = [{**dataclasses.asdict(row), "overdue": row.overdue(today)} for row in page.items]
    return jsonify(TaskPageSchema().dump({"items": items, "page": page.page, "per_page": page.per_page,
                                          "total": page.total, "next": next_url}))


def load_task(item_id):
    item = load_in_scope(WorkItem, item_id, current_user, "workitem.edit", "task")
    if item.work_type not in queries.TASK_TYPES:
        raise ValidationFailed(f"“{item.title}” is not a task.", errors={"work_type": ["Not a task or subtask."]})
    return item


@bp.route("/tasks/<int:item_id>/complete", methods=["POST"])
@takes_json("task.list", first=lambda item_id: load_in_scope(WorkItem, item_id, current_user, "workitem.edit", "task"))
@bp.arguments(CompleteSchema)
@bp.response(200, WorkItemSchema, headers=ETAG)
@bp.doc(tags=TAGS, parameters=[IF_MATCH], responses=problems(400, 401, 403, 404, 409, 415, 422, missing="task"))
@writes
def task_complete(body, item_id):
    """Complete a task

    The `complete` transition, as My tasks' button fires it (progress 100, its ancestors rolled up). A
    stale version, or a task no longer open, is a 409."""
    item = load_task(item_id)
    version = expected_version(item_id, body)
    fire(item, "complete", current_user, expected_version=version)
    return item_response(item)
