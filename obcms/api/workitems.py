"""Work items in the API: a PPA's execution tree (nested or flat), create, read, edit, move and delete — each
through the tree's one write call (obcms/workitems/services.py) — and the status transitions, scoped as the
tree pages are (another MOA's work item is a 404).

    GET    /api/v1/ppas/<ppa_id>/work-items?shape=nested|flat   the whole tree, in tree order
    POST   /api/v1/ppas/<ppa_id>/work-items                     201, Location, ETag (under `parent_id`, default the root)
    GET    /api/v1/work-items/<id>                              ETag: "<version>"
    PATCH  /api/v1/work-items/<id>                              If-Match (or "version"); stale → 409
    DELETE /api/v1/work-items/<id>                              If-Match (or ?version=); its subtree goes too
    POST   /api/v1/work-items/<id>/move                         {parent_id, before_id} or {direction}, version
    GET    /api/v1/work-items/<id>/transitions                  what you may fire, or why not
    POST   /api/v1/work-items/<id>/transitions/<name>           fire one (If-Match or "version")

The tree costs two queries whatever its size (its rows, their assignees), plus the PPA and the user's own.
"""
import sqlalchemy as sa
from flask import current_app, jsonify, request, url_for
from flask_login import current_user

from ..auth.permissions import load_in_scope, require, scope
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..ppas.models import Ppa
from ..transaction import writes
from ..workflow import fire, transition_for
from ..workitems import services, tree
from ..workitems.models import WorkItem, work_item_assignees
from ..workitems.states import WORK_ITEM_MACHINE
from .ppas import IF_MATCH, etag, expected_version, problems, transition_options
from .schemas import FireSchema
from .views import bp, takes_json
from .workitems_schemas import (
    DeleteArgs,
    DeletedSchema,
    MoveSchema,
    WorkItemCreateSchema,
    WorkItemFiredSchema,
    WorkItemPatchSchema,
    WorkItemSchema,
    WorkItemTransitionsSchema,
    WorkItemTreeArgs,
    WorkItemTreeSchema,
)

TAGS = ["work-items"]
ETAG = {"ETag": {"schema": {"type": "string"}, "description": '"<version>"'}}


def load_item(item_id, permission="workitem.read"):
    return load_in_scope(WorkItem, item_id, current_user, permission, "work item")


def item_json(item, assignees=None):
    ids = [user.id for user in item.assignees] if assignees is None else list(assignees)
    return {**WorkItemSchema().dump(item), "assignee_ids": ids}


def item_response(item, status=200, assignees=None):
    """The item with its ETag; `assignees` (ids) when known, else read."""
    response = jsonify(item_json(item, assignees))
    response.status_code = status
    response.headers["ETag"] = etag(item)
    return response


# The tree ----------------------------------------------------------------------------------------------------

# A node's fields as WorkItemSchema names them; what is not a plain JSON value is formatted as it dumps it.
NODE_FIELDS = tuple(name for name in WorkItemSchema().fields if name != "assignee_ids")
AMOUNTS = ("allocated_budget", "actual_expenditure", "obligated", "disbursed", "estimated_hours")
DATES_AND_TIMES = ("start_date", "due_date", "start_time", "end_time", "completed_at", "created_at", "updated_at")
NODE_COLUMNS = (*(WorkItem.__table__.c[name] for name in NODE_FIELDS), WorkItem.__table__.c.rgt)


def tree_items(root_id, shape):
    """The tree of `root_id` as JSON-ready dicts: every node in tree order (flat), or the root with its
    children inside (nested). Two queries: the rows, their assignees. Built in one pass over the rows, as
    WorkItemNodeSchema describes them: its dump of a tree of 131 nodes cost more than the rest of the request."""
    rows = tree.subtree_rows(root_id, NODE_COLUMNS)
    assignees = assignee_ids([row.id for row in rows])
    items, open_nodes = [], []  # open_nodes: (rgt, node) of the ancestors of the next row, nested
    for row in rows:
        node = dict(zip(NODE_FIELDS, row, strict=False))  # all but rgt, the last column
        for name in AMOUNTS:
            node[name] = None if node[name] is None else f"{node[name]:.2f}"
        for name in DATES_AND_TIMES:
            node[name] = None if node[name] is None else node[name].isoformat()
        node["assignee_ids"] = assignees.get(row.id, [])
        if shape == "flat":
            items.append(node)
            continue
        node["children"] = []
        while open_nodes and open_nodes[-1][0] < row.rgt:
            open_nodes.pop()
        (open_nodes[-1][1]["children"] if open_nodes else items).append(node)
        open_nodes.append((row.rgt, node))
    return items


def assignee_ids(item_ids):
    """{work item id: [its assignees' ids, ascending]} of the items that have some; one query (none for no items)."""
    if not item_ids:
        return {}
    link = work_item_assignees.c
    rows = db.session.execute(sa.select(link.work_item_id, link.user_id).where(link.work_item_id.in_(item_ids))
                              .order_by(link.work_item_id, link.user_id))
    by_item = {}
    for item_id, user_id in rows:
        by_item.setdefault(item_id, []).append(user_id)
    return by_item


def load_ppa(ppa_id):
    return load_in_scope(Ppa, ppa_id, current_user, "ppa.read", "PPA")


@bp.route("/ppas/<int:ppa_id>/work-items", methods=["GET"])
@bp.arguments(WorkItemTreeArgs, location="query", as_kwargs=False)
@bp.response(200, WorkItemTreeSchema)
@bp.doc(tags=TAGS, responses=problems(401, 403, 404, 422))
def ppa_work_items(args, ppa_id):
    """A PPA's work items

    The execution tree of the PPA (empty when it is not tracked) in tree order: `shape=nested` (default) gives
    the root with each node's `children` inside it, `shape=flat` every node in a list."""
    require(current_user, "workitem.read")
    ppa = load_ppa(ppa_id)
    root_id = ppa.execution_project_id
    items = tree_items(root_id, args["shape"]) if root_id else []
    return jsonify({"ppa_id": ppa.id, "execution_project_id": root_id, "shape": args["shape"], "items": items})


def node_of(ppa, node_id, field):
    """The work item `node_id` of the PPA's tree that the user may edit; ValidationFailed on `field` when it
    is none (missing, out of scope or of another tree)."""
    node = db.session.scalar(scope(sa.select(WorkItem).where(WorkItem.id == node_id), WorkItem, current_user))
    if node is None or node.tree_id != ppa.execution_project_id:
        raise ValidationFailed(f"There is no work item #{node_id} in this PPA's tree.",
                               errors={field: ["Not a work item of this PPA's tree."]})
    require(current_user, "workitem.edit", node)
    return node


def may_add_to(ppa_id):
    """Before the body is read, as the pages order it: a PPA out of scope is a 404, then a 403 for someone
    who may not add work items."""
    load_ppa(ppa_id)
    require(current_user, "workitem.edit")


@bp.route("/ppas/<int:ppa_id>/work-items", methods=["POST"])
@takes_json("workitem.read", first=may_add_to)
@bp.arguments(WorkItemCreateSchema)
@bp.response(201, WorkItemSchema, headers=ETAG)
@bp.doc(tags=TAGS, responses=problems(400, 401, 403, 404, 415, 422, missing="PPA"))
@writes
def work_item_create(values, ppa_id):
    """Add a work item to a PPA's tree

    Under `parent_id` (default: the tree's root), last or before its child `before_id`, through the tree's
    write call: the same type, depth and allocation rules as the tree page, roll-ups and audit included."""
    ppa = load_ppa(ppa_id)
    if ppa.execution_project_id is None:
        message = "This PPA's work is not tracked yet: enable tracking first."
        raise ValidationFailed(message, errors={"parent_id": [message]})
    parent = node_of(ppa, values.pop("parent_id", ppa.execution_project_id), "parent_id")
    if "before_id" in values:
        values["before"] = node_of(ppa, values.pop("before_id"), "before_id")
    item = services.create_work_item(parent, current_user, **values)
    response = item_response(item, 201, assignees=())
    response.headers["Location"] = url_for("api.work_item_detail", item_id=item.id)
    return response


# One work item -----------------------------------------------------------------------------------------------

@bp.route("/work-items/<int:item_id>", methods=["GET"])
@bp.response(200, WorkItemSchema, headers=ETAG)
@bp.doc(tags=TAGS, responses=problems(401, 403, 404, missing="work item"))
def work_item_detail(item_id):
    """One work item

    `ETag` is its version in quotes: send it back as `If-Match` to change it; `If-None-Match` with it answers
    304 while it has not changed."""
    item = load_item(item_id)
    if etag(item) in request.headers.get("If-None-Match", ""):
        return current_app.response_class(status=304, headers={"ETag": etag(item)})
    return item_response(item)


@bp.route("/work-items/<int:item_id>", methods=["PATCH"])
@takes_json("workitem.read", first=lambda item_id: load_item(item_id, "workitem.edit"))
@bp.arguments(WorkItemPatchSchema)
@bp.response(200, WorkItemSchema, headers=ETAG)
@bp.doc(tags=TAGS, parameters=[IF_MATCH], responses=problems(400, 401, 403, 404, 409, 415, 422, missing="work item"))
@writes
def work_item_update(changes, item_id):
    """Change a work item

    Only the fields sent change (`assignee_ids`: all its assignees), as the tree's edit form does. Status
    moves through its transitions, the place in the tree through `move`. A stale version is a 409 naming the
    fields a colleague changed (`changed_fields`); nothing is saved."""
    item = load_item(item_id, "workitem.edit")
    version = expected_version(item_id, changes)
    assignees = changes.pop("assignee_ids", None)
    services.edit_work_item(item, current_user, version,
                            assignees=sorted(set(assignees)) if assignees is not None else None, **changes)
    return item_response(item)


@bp.route("/work-items/<int:item_id>", methods=["DELETE"])
@bp.arguments(DeleteArgs, location="query", as_kwargs=False)
@bp.response(200, DeletedSchema)
@bp.doc(tags=TAGS, parameters=[IF_MATCH], responses=problems(401, 403, 404, 409, 422, missing="work item"))
@writes
def work_item_delete(args, item_id):
    """Delete a work item and everything under it

    As the tree's delete does: refused (422) when money was posted under it, 409 when it changed since the
    version you send (If-Match, or `?version=`)."""
    item = load_item(item_id, "workitem.delete")
    version = expected_version(item_id, dict(args))
    gone = services.delete_work_item(item, current_user, version)
    return jsonify(DeletedSchema().dump({"id": item_id, "deleted": gone}))


def target(node_id, field):
    """A move's new parent or sibling: a work item the user may edit (ValidationFailed on `field` when none)."""
    if node_id is None:
        return None
    try:
        return load_item(node_id, "workitem.edit")
    except NotFound:
        raise ValidationFailed(f"There is no work item #{node_id} here.", errors={field: ["No such work item."]}) from None


@bp.route("/work-items/<int:item_id>/move", methods=["POST"])
@takes_json("workitem.read", first=lambda item_id: load_item(item_id, "workitem.edit"))
@bp.arguments(MoveSchema)
@bp.response(200, WorkItemSchema, headers=ETAG)
@bp.doc(tags=TAGS, parameters=[IF_MATCH], responses=problems(400, 401, 403, 404, 409, 415, 422, missing="work item"))
@writes
def work_item_move(body, item_id):
    """Move a work item with its subtree

    Under `parent_id` (null: a tree of its own), last or before its child `before_id`; or one place `up` or
    `down` among its siblings (`direction`). The type, depth and allocation rules of the new place apply."""
    item = load_item(item_id, "workitem.edit")
    version = expected_version(item_id, body)
    if "direction" in body:
        if {"parent_id", "before_id"} & set(body):
            message = "Send either a direction or a new place (parent_id, before_id), not both."
            raise ValidationFailed(message, errors={"direction": [message]})
        services.reorder_work_item(item, current_user, version, body["direction"])
    elif "parent_id" not in body:
        message = "Say where to: parent_id (null for a tree of its own), or a direction."
        raise ValidationFailed(message, errors={"parent_id": [message]})
    else:
        services.move_work_item(item, current_user, version, parent=target(body["parent_id"], "parent_id"),
                                before=target(body.get("before_id"), "before_id"))
    db.session.refresh(item)
    return item_response(item)


# Its status --------------------------------------------------------------------------------------------------

@bp.route("/work-items/<int:item_id>/transitions", methods=["GET"])
@bp.response(200, WorkItemTransitionsSchema, headers=ETAG)
@bp.doc(tags=TAGS, responses=problems(401, 403, 404, missing="work item"))
def work_item_transitions(item_id):
    """What you may fire on a work item's status

    Every transition from its current status, each with `allowed` and, when not, the reasons."""
    item = load_item(item_id, WORK_ITEM_MACHINE.permission)
    response = jsonify(WorkItemTransitionsSchema().dump({
        "work_item_id": item.id, "status": item.status, "version": item.version,
        "transitions": transition_options(item, current_user)}))
    response.headers["ETag"] = etag(item)
    return response


def _may_ever_fire(item_id, transition):
    """Before the body is read: out of scope is a 404, a transition the machine lacks a 404, then someone
    who may not (its role, or editing the item) a 403."""
    item = load_item(item_id, WORK_ITEM_MACHINE.permission)
    transition_for(item, transition, current_user)
    require(current_user, "workitem.edit", item)


@bp.route("/work-items/<int:item_id>/transitions/<transition>", methods=["POST"])
@takes_json(WORK_ITEM_MACHINE.permission, first=_may_ever_fire)
@bp.arguments(FireSchema)
@bp.response(200, WorkItemFiredSchema, headers=ETAG)
@bp.doc(tags=TAGS, parameters=[IF_MATCH], responses=problems(400, 401, 403, 404, 409, 415, 422, missing="work item"))
@writes
def work_item_fire(body, item_id, transition):
    """Fire a status transition

    As the tree's edit form and My tasks do: the same checks, effects (roll-ups of its ancestors), log and
    audit. A stale version is a 409."""
    item = load_item(item_id, WORK_ITEM_MACHINE.permission)
    version = expected_version(item_id, body)
    log = fire(item, transition, current_user, comment=body.get("comment"), expected_version=version)
    response = jsonify(WorkItemFiredSchema().dump({"work_item_id": item.id, "transition": log.transition,
                                                   "from_state": log.from_state, "to_state": log.to_state,
                                                   "version": item.version}))
    response.headers["ETag"] = etag(item)
    return response
