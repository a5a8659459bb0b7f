"""PPAs in the API: list (filters, sorting, cursor pagination, sparse fields), detail with funding tranches,
create and update through obcms/ppas/services.py, scoped exactly like the pages.

    GET   /api/v1/ppas?fiscal_year=2026&status=ongoing&sort=-updated_at&limit=50&fields=id,title
    GET   /api/v1/ppas/<id>                    ETag: "<version>"
    POST  /api/v1/ppas                         201, Location, ETag
    PATCH /api/v1/ppas/<id>                    If-Match: "<version>" (or "version" in the body); stale → 409
    GET   /api/v1/ppas/<id>/transitions        the approval transitions from its state: allowed, or why not
    POST  /api/v1/ppas/<id>/transitions/<name> fire one (If-Match or "version"; "comment" where needed)

A PPA is not deleted through the API: no page deletes one either (the approval workflow rejects or the
status cancels), so DELETE answers 405.

The cursor is opaque to clients: base64url of [sort, last sort value, last id]; pages are keyset pages over
(sort column, id), so rows inserted meanwhile neither repeat nor shift a page. The list costs one query
whatever its size (plus the signed-in user's).
"""
import base64
import json
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, jsonify, request, url_for
from flask_login import current_user

from ..auth.permissions import load_in_scope, require, scope
from ..errors import ValidationFailed
from ..extensions import db
from ..ppas import services
from ..ppas.approval import APPROVAL_MACHINE
from ..ppas.models import Ppa
from ..transaction import writes
from ..workflow import available_transitions, fire, transition_for
from .schemas import (
    PPA_FIELDS,
    FiredSchema,
    FireSchema,
    PpaCreateSchema,
    PpaDetailSchema,
    PpaListArgs,
    PpaPageSchema,
    PpaPatchSchema,
    PpaSchema,
    TransitionsSchema,
)
from .views import bp, problems, takes_json

IF_MATCH = {"in": "header", "name": "If-Match", "schema": {"type": "string"},
            "description": 'The ETag you read, "<version>" (or send `version`).'}
TRANSITION = {"in": "path", "name": "transition", "required": True,
              "schema": {"type": "string", "enum": [t.name for t in APPROVAL_MACHINE.transitions]},
              "description": "An approval transition (GET …/transitions lists those you may fire now)."}

SORT_COLUMNS = {
    "id": Ppa.id,
    "code": sa.func.coalesce(Ppa.code, ""),
    "title": Ppa.title,
    "fiscal_year": Ppa.fiscal_year,
    "status": Ppa.status,
    "approval_status": Ppa.approval_status,
    "progress": Ppa.progress,
    "created_at": Ppa.created_at,
    "updated_at": Ppa.updated_at,
}
DATETIME_SORTS = {"created_at", "updated_at"}


def etag(ppa):
    return f'"{ppa.version}"'


def ppa_response(ppa, status=200, schema=PpaDetailSchema):
    response = jsonify(schema().dump(ppa))
    response.status_code = status
    response.headers["ETag"] = etag(ppa)
    return response


# The list --------------------------------------------------------------------------------------------------

def encode_cursor(sort, value, last_id):
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, sort):
    """(sort value, id) after which the page starts; a cursor that is not one of ours, or of another sort, is
    a 422 on `cursor`."""
    refused = ValidationFailed("The cursor is not valid for this list: start again without it.",
                               errors={"cursor": ["Use the `next` link of the previous page, with the same sort."]})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
    except (ValueError, TypeError):
        raise refused from None
    if cursor_sort != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
        raise refused
    name = sort.lstrip("-")
    expected = int if name in ("id", "fiscal_year", "progress") else str
    if not isinstance(value, expected) or isinstance(value, bool):
        raise refused
    if name in DATETIME_SORTS:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise refused from None
    return value, last_id


def sparse_fields(requested):
    """The names of `fields=` (id always), or None for every field; unknown names are a 422."""
    if not requested:
        return None
    names = [n.strip() for n in requested.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PPA_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(unknown)}.",
                               errors={"fields": [f"Not a PPA field: {name}." for name in unknown]})
    return ("id", *dict.fromkeys(n for n in names if n != "id"))


def filtered(stmt, args, user):
    stmt = scope(stmt, Ppa, user)
    if "fiscal_year" in args:
        stmt = stmt.where(Ppa.fiscal_year == args["fiscal_year"])
    if "status" in args:
        stmt = stmt.where(Ppa.status == args["status"])
    if "approval_status" in args:
        stmt = stmt.where(Ppa.approval_status == args["approval_status"])
    if "organization" in args:
        stmt = stmt.where(Ppa.implementing_moa_id == args["organization"])
    if args.get("q"):
        stmt = stmt.where(sa.or_(Ppa.title.icontains(args["q"], autoescape=True),
                                 Ppa.code.icontains(args["q"], autoescape=True)))
    return stmt


def ppa_page(user, args):
    """(PPAs of the page, the cursor of the next page or None)."""
    sort, limit = args["sort"], args["limit"]
    name, descending = sort.lstrip("-"), sort.startswith("-")
    column = SORT_COLUMNS[name]
    stmt = filtered(sa.select(Ppa), args, user)
    if args.get("cursor"):
        value, last_id = decode_cursor(args["cursor"], sort)
        if name == "id":
            stmt = stmt.where(Ppa.id < last_id if descending else Ppa.id > last_id)
        elif descending:
            stmt = stmt.where(sa.or_(column < value, sa.and_(column == value, Ppa.id < last_id)))
        else:
            stmt = stmt.where(sa.or_(column > value, sa.and_(column == value, Ppa.id > last_id)))
    order = (column.desc(), Ppa.id.desc()) if descending else (column.asc(), Ppa.id.asc())
    if name == "id":
        order = order[:1]
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    value = getattr(last, name) if name != "code" else (last.code or "")
    return rows, encode_cursor(sort, value, last.id)


@bp.route("/ppas", methods=["GET"])
@bp.arguments(PpaListArgs, location="query", as_kwargs=False)
@bp.response(200, PpaPageSchema)
@bp.doc(tags=["ppas"], responses=problems(401, 403, 422))
def ppa_list(args):
    """List PPAs

    The PPAs you may see (another MOA's are never listed), filtered, sorted (`sort=field` or `-field`) and
    paged by cursor: follow `next` (also in the `Link` header) until it is null."""
    require(current_user, "ppa.read")
    only = sparse_fields(args.get("fields_"))
    rows, cursor = ppa_page(current_user, args)
    next_url = None
    if cursor:
        query = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("api.ppa_list", **{**query, "cursor": cursor}, _external=False)
    response = jsonify(items=PpaSchema(many=True, only=only).dump(rows), next=next_url, limit=args["limit"])
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


# One PPA -----------------------------------------------------------------------------------------------------

def load_ppa(ppa_id, permission="ppa.read"):
    return load_in_scope(Ppa, ppa_id, current_user, permission, "PPA")


@bp.route("/ppas/<int:ppa_id>", methods=["GET"])
@bp.response(200, PpaDetailSchema, headers={"ETag": {"schema": {"type": "string"}, "description": '"<version>"'}})
@bp.doc(tags=["ppas"], responses=problems(401, 404))
def ppa_detail(ppa_id):
    """One PPA, with its funding tranches

    `ETag` is the PPA's version in quotes: send it back as `If-Match` to change it; `If-None-Match` with it
    answers 304 while it has not changed."""
    ppa = load_ppa(ppa_id)
    if etag(ppa) in request.headers.get("If-None-Match", ""):
        return current_app.response_class(status=304, headers={"ETag": etag(ppa)})
    return ppa_response(ppa)


@bp.route("/ppas", methods=["POST"])
@takes_json("ppa.create")
@bp.arguments(PpaCreateSchema)
@bp.response(201, PpaDetailSchema)
@bp.doc(tags=["ppas"], responses=problems(400, 401, 403, 415, 422))
@writes
def ppa_create(values):
    """Create a PPA

    Through the same service as the page (its rules, its audit). An MOA's staff create their own MOA's PPAs."""
    ppa = services.create_ppa(current_user, **values)
    response = ppa_response(ppa, 201)
    response.headers["Location"] = url_for("api.ppa_detail", ppa_id=ppa.id)
    return response


def expected_version(ppa_id, body):
    """The version the client read: If-Match ("<n>", W/"<n>" or n) or `version` in the body (If-Match wins)."""
    header = request.headers.get("If-Match", "").strip()
    sent = header.removeprefix("W/").strip('"') if header else body.pop("version", None)
    body.pop("version", None)
    if sent in (None, ""):
        raise ValidationFailed("Send the version you read: If-Match: \"<version>\" or \"version\" in the body.",
                               errors={"version": ["Required (or the If-Match header)."]})
    try:
        return int(sent)
    except (TypeError, ValueError):
        raise ValidationFailed("The If-Match header is not a version: send the ETag you read.",
                               errors={"version": ["A whole number: the ETag you read."]}) from None


@bp.route("/ppas/<int:ppa_id>", methods=["PATCH"])
@takes_json("ppa.edit")
@bp.arguments(PpaPatchSchema)
@bp.response(200, PpaDetailSchema)
@bp.doc(tags=["ppas"], parameters=[IF_MATCH],
        responses=problems(400, 401, 403, 404, 409, 415, 422))
@writes
def ppa_update(changes, ppa_id):
    """Change a PPA

    Only the fields sent change. A stale version is a 409 naming the fields a colleague changed
    (`changed_fields`), with `your_version` and `current_version`; nothing is saved."""
    ppa = load_ppa(ppa_id, "ppa.edit")
    version = expected_version(ppa_id, changes)
    services.update_ppa(ppa, version, actor=current_user, **changes)
    return ppa_response(ppa)


# The approval workflow ---------------------------------------------------------------------------------------

def transition_options(obj, user):
    """The transitions from the object's state as TransitionOptionSchema reads them: allowed, or why not."""
    return [{"name": o.name, "label": o.label, "target": o.transition.target, "allowed": o.allowed,
             "reasons": o.reasons, "missing_fields": list(o.missing_fields), "comment_required": o.comment_required}
            for o in available_transitions(obj, user)]


@bp.route("/ppas/<int:ppa_id>/transitions", methods=["GET"])
@bp.response(200, TransitionsSchema)
@bp.doc(tags=["ppas"], responses=problems(401, 404))
def ppa_transitions(ppa_id):
    """What you may fire on a PPA's approval

    Every approval transition from the PPA's current state, each with `allowed` and, when not, the reasons
    (your role, its state, the fields it needs first)."""
    ppa = load_ppa(ppa_id, APPROVAL_MACHINE.permission)
    options = transition_options(ppa, current_user)
    response = jsonify(TransitionsSchema().dump({"ppa_id": ppa.id, "approval_status": ppa.approval_status,
                                                 "version": ppa.version, "transitions": options}))
    response.headers["ETag"] = etag(ppa)
    return response


def _may_ever_fire(ppa_id, transition):
    """Before the body is read: a PPA out of scope is a 404, a transition the machine lacks a 404, one the
    user's role may never fire a 403."""
    transition_for(load_ppa(ppa_id, APPROVAL_MACHINE.permission), transition, current_user)


@bp.route("/ppas/<int:ppa_id>/transitions/<transition>", methods=["POST"])
@takes_json(APPROVAL_MACHINE.permission, first=_may_ever_fire)
@bp.arguments(FireSchema)
@bp.response(200, FiredSchema)
@bp.doc(tags=["ppas"], parameters=[IF_MATCH, TRANSITION],
        responses=problems(400, 401, 403, 404, 409, 415, 422))
@writes
def ppa_fire(body, ppa_id, transition):
    """Fire an approval transition

    As the Approval tab does: the same checks (role, state, required fields, a comment where needed), effects,
    log and audit. A stale version is a 409."""
    ppa = load_ppa(ppa_id, APPROVAL_MACHINE.permission)
    version = expected_version(ppa_id, body)
    log = fire(ppa, transition, current_user, comment=body.get("comment"), expected_version=version)
    response = jsonify(FiredSchema().dump({"ppa_id": ppa.id, "transition": log.transition,
                                           "from_state": log.from_state, "to_state": log.to_state,
                                           "version": ppa.version}))
    response.headers["ETag"] = etag(ppa)
    return response
