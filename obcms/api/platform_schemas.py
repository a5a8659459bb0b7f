"""Schemas of the API's platform resources (obcms/api/platform.py): search, bulk operations, notifications,
the audit log."""
from datetime import date

from marshmallow import Schema, fields, validate

from ..audit.models import AUDIT_ACTIONS
from ..bulk.services import ACTIONS, MAX_COMMENT, MAX_ITEMS, MODES
from ..ids import MAX_ID
from ..search import queries, text
from ..workitems.models import PRIORITIES
from .money_schemas import described
from .schemas import NO_NUL, Strict, enum

NO_CONTROL = validate.Regexp(r"^[^\x00-\x08\x0a-\x1f]*$", error="Search text cannot contain control characters.")


class SearchArgs(Schema):
    q = fields.String(load_default="", validate=[validate.Length(max=text.MAX_QUERY_LENGTH), NO_CONTROL])
    kind = enum(tuple(queries.KINDS))
    organization = fields.Integer(validate=validate.Range(1, MAX_ID))
    fy = fields.Integer(validate=validate.Range(1900, 2200), metadata={"description": "A fiscal year."})
    status = enum(queries.STATUSES)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10000))


class HitSchema(Schema):
    kind = enum(tuple(queries.KINDS))
    id = fields.Integer()
    title = fields.String()
    code = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    organization = fields.String(allow_none=True)
    context = fields.String(allow_none=True)
    fiscal_year = fields.Integer(allow_none=True)
    at = fields.DateTime(allow_none=True)
    score = fields.Float()


class SearchPageSchema(Schema):
    items = fields.List(fields.Nested(HitSchema))
    page = fields.Integer()
    pages = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class BulkArgs(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Plan only: each item allowed or "
                                                                          "refused and why; nothing written."})


class BulkParamsSchema(Strict):
    transition = fields.String(validate=[validate.Length(max=80), NO_NUL])
    comment = fields.String(validate=[validate.Length(max=MAX_COMMENT), NO_NUL])
    to = fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), metadata={"description": "assign: a user id"})
    priority = enum(PRIORITIES)
    days = fields.Integer(strict=True, validate=validate.Range(-366, 366))


class BulkSchema(Strict):
    ids = fields.List(fields.Integer(strict=True, validate=validate.Range(1, MAX_ID)), required=True,
                      validate=validate.Length(max=MAX_ITEMS))
    versions = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,12}$")),
                           values=fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1)),
                           load_default=dict, metadata={"description": "{id: version} you saw: changed since → "
                                                                       "refused."})
    params = fields.Nested(BulkParamsSchema, load_default=dict)
    mode = described(enum(MODES, load_default="all"), "all: everything or nothing; allowed: the "
                                                                    "items that pass.")


class PlanItemSchema(Schema):
    id = fields.Integer()
    label = fields.String()
    allowed = fields.Boolean()
    reason = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)


class BulkAnswerSchema(Schema):
    """The plan (dry run: total, allowed, refused, items) or DOMAIN.md's answer (operation, total, succeeded,
    failed, succeeded_ids, failures, rolled_back), or a job (run_id, status) for a large operation."""

    total = fields.Integer()
    allowed = fields.Integer()
    refused = fields.Integer()
    items = fields.List(fields.Nested(PlanItemSchema))
    operation = fields.String()
    succeeded = fields.Integer()
    failed = fields.Integer()
    succeeded_ids = fields.List(fields.Integer())
    failures = fields.Dict(keys=fields.String(), values=fields.String())
    rolled_back = fields.Boolean()
    run_id = fields.Integer()
    status = fields.String()


class BulkRunSchema(Schema):
    run_id = fields.Integer()
    status = fields.String()
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


BULK_ACTIONS = tuple(ACTIONS)


class NotificationArgs(Schema):
    unread = fields.Boolean(load_default=False)


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    url = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    is_read = fields.Boolean()


class NotificationsSchema(Schema):
    unread = fields.Integer(metadata={"description": "How many are unread in all."})
    items = fields.List(fields.Nested(NotificationSchema))


class MarkedSchema(Schema):
    marked = fields.Integer(metadata={"description": "How many were marked read (0: already read)."})
    unread = fields.Integer()


class AuditArgs(Schema):
    object_type = fields.String(validate=[validate.Length(max=80), NO_NUL])
    object_id = fields.Integer(validate=validate.Range(0, MAX_ID))
    user = fields.String(validate=[validate.Length(max=120), NO_NUL], metadata={"description": "The actor's label."})
    action = enum(AUDIT_ACTIONS)
    date_from = fields.Date(validate=validate.Range(date(1900, 1, 1), date(2200, 12, 31)), metadata={"description": "From this day (the app's time zone)."})
    date_to = fields.Date(validate=validate.Range(date(1900, 1, 1), date(2200, 12, 31)), metadata={"description": "To this day, inclusive."})
    before = fields.Integer(validate=validate.Range(1, 2**63 - 1), metadata={"description": "Older than this id."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_user_id = fields.Integer(allow_none=True)
    actor_label = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.Integer(allow_none=True)
    object_version = fields.Integer(allow_none=True)
    field = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)
    cause = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))
    next = fields.String(allow_none=True)
