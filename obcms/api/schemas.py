"""Marshmallow schemas of the API: what a resource looks like in JSON, and what a request may send.

Input schemas describe shapes (types, the allowed values of an enum); the rules (required together, within the
ceiling, an MOA's own organization …) stay in the services, whose ValidationFailed answers 422 per field.
Unknown fields are refused (marshmallow's default, RAISE), so a typo is a 422 naming it, never ignored.
"""
from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate

from ..ids import MAX_ID
from ..ppas.models import (
    APPROPRIATION_CLASSES,
    APPROVAL_STATES,
    CATEGORIES,
    DISTRIBUTION_POLICIES,
    FUNDING_SOURCES,
    PRIORITIES,
    SECTORS,
    STATUSES,
    TRANCHE_KINDS,
)
from ..workitems.models import STATUSES as WORK_ITEM_STATUSES
from ..workitems.models import WORK_TYPES

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Contains an invalid character.")


class Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class Money(fields.String):
    """An amount in pesos: a string "1250000.00" (or a JSON number), read by obcms.money through the services;
    written as a string with 2 decimals (never a float)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update(format="decimal", example="1250000.00")
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("Send an amount as a string, e.g. \"1250000.00\".")
        return value if isinstance(value, str) else str(value)


def enum(values, **kwargs):
    return fields.String(validate=validate.OneOf(values), metadata={"enum": list(values)}, **kwargs)


class MilestoneSchema(Strict):
    date = fields.String(required=True, validate=NO_NUL, metadata={"format": "date", "example": "2026-03-31"})
    title = fields.String(required=True, validate=validate.Length(max=200))
    status = enum(("pending", "in_progress", "completed", "missed"), load_default="pending")


class OutcomeSchema(Strict):
    title = fields.String(required=True, validate=validate.Length(max=500))
    outputs = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list)


class TrancheSchema(Strict):
    id = fields.Integer(dump_only=True)
    kind = enum(TRANCHE_KINDS)
    amount = Money()
    tranche_date = fields.Date()
    source = fields.String()
    remarks = fields.String()
    financial_entry_id = fields.Integer(allow_none=True)
    version = fields.Integer()


class PpaFieldsMixin:
    """The fields a PPA's editors set (obcms/ppas/services.py EDITABLE_FIELDS)."""

    title = fields.String(validate=[validate.Length(max=500), NO_NUL])
    code = fields.String(allow_none=True, validate=[validate.Length(max=50), NO_NUL])
    category = enum(CATEGORIES)
    summary = fields.String(validate=[validate.Length(max=20000), NO_NUL])
    status = enum(STATUSES)
    priority = enum(PRIORITIES)
    progress = fields.Integer(validate=validate.Range(0, 100))
    fiscal_year = fields.Integer(validate=validate.Range(2000, 2100))
    sector = enum(SECTORS, allow_none=True)
    appropriation_class = enum(APPROPRIATION_CLASSES, allow_none=True)
    funding_source = enum(FUNDING_SOURCES, allow_none=True)
    funding_source_other = fields.String(allow_none=True, validate=[validate.Length(max=200), NO_NUL])
    implementing_moa_id = fields.Integer(allow_none=True, strict=True)
    lead_organization_id = fields.Integer(allow_none=True, strict=True)
    budget_ceiling = Money(allow_none=True)
    budget_allocation = Money(allow_none=True)
    budget_obc_allocation = Money(allow_none=True)
    cost_per_beneficiary = Money(allow_none=True)
    total_slots = fields.Integer(allow_none=True)
    obc_slots = fields.Integer(allow_none=True)
    start_date = fields.Date(allow_none=True)
    target_end_date = fields.Date(allow_none=True)
    actual_end_date = fields.Date(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneSchema))
    outcome_framework = fields.List(fields.Nested(OutcomeSchema))
    supports_sdg = fields.Boolean()
    moral_governance_pillar = fields.String(allow_none=True, validate=[validate.Length(max=200), NO_NUL])
    benefits_indigenous_peoples = fields.Boolean()
    supports_peace_agenda = fields.Boolean()
    budget_distribution_policy = enum(DISTRIBUTION_POLICIES)
    auto_sync_progress = fields.Boolean()
    auto_sync_status = fields.Boolean()


class PpaSchema(PpaFieldsMixin, Strict):
    """A PPA as the API shows it (money as strings with 2 decimals)."""

    id = fields.Integer()
    display_code = fields.String()
    approval_status = enum(APPROVAL_STATES)
    execution_project_id = fields.Integer(allow_none=True)
    workitem_tracking_enabled = fields.Boolean()
    version = fields.Integer(metadata={"description": "Send it back (If-Match or `version`) to change the PPA."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PpaDetailSchema(PpaSchema):
    tranches = fields.List(fields.Nested(TrancheSchema))


PPA_FIELDS = tuple(PpaSchema().fields)


class PpaCreateSchema(PpaFieldsMixin, Strict):
    title = fields.String(required=True, validate=[validate.Length(max=500), NO_NUL])
    category = enum(CATEGORIES, required=True)
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2000, 2100))


class PpaPatchSchema(PpaFieldsMixin, Strict):
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})


class PpaPageSchema(Schema):
    items = fields.List(fields.Nested(PpaSchema))
    next = fields.String(allow_none=True, metadata={"description": "The next page's URL; null on the last."})
    limit = fields.Integer()


SORT_FIELDS = ("id", "code", "title", "fiscal_year", "status", "approval_status", "progress", "created_at",
               "updated_at")


class PpaListArgs(Schema):
    """Query arguments of GET /ppas (other arguments are ignored)."""

    fiscal_year = fields.Integer(validate=validate.Range(2000, 2100))
    status = enum(STATUSES)
    approval_status = enum(APPROVAL_STATES)
    organization = fields.Integer(validate=validate.Range(1, MAX_ID),
                                  metadata={"description": "The implementing MOA's id."})
    q = fields.String(validate=[validate.Length(max=100), NO_NUL], metadata={"description": "In title or code."})
    sort = fields.String(load_default="id", validate=validate.OneOf(SORT_FIELDS + tuple("-" + f for f in SORT_FIELDS)),
                         metadata={"description": "A field, descending with a leading '-'."})
    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "Opaque: the `next` link of the previous page carries it."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    fields_ = fields.String(data_key="fields", validate=validate.Length(max=2000),
                            metadata={"description": "Comma-separated fields to return (id always)."})


class TransitionOptionSchema(Schema):
    name = fields.String()
    label = fields.String()
    target = fields.String(metadata={"description": "The approval status it leads to."})
    allowed = fields.Boolean(metadata={"description": "Whether you may fire it now."})
    reasons = fields.List(fields.String(), metadata={"description": "Why not, when not allowed."})
    missing_fields = fields.List(fields.String(), metadata={"description": "Fields to fill in first."})
    comment_required = fields.Boolean()


class TransitionsSchema(Schema):
    ppa_id = fields.Integer()
    approval_status = enum(APPROVAL_STATES)
    version = fields.Integer()
    transitions = fields.List(fields.Nested(TransitionOptionSchema))


class FireSchema(Strict):
    comment = fields.String(validate=[validate.Length(max=5000), NO_NUL])
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})


class FiredSchema(Schema):
    ppa_id = fields.Integer()
    transition = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    version = fields.Integer()


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details, obcms/errors.py), with the members a kind of problem adds: `errors` for
    invalid fields, the versions and `changed_fields` for a conflict; others may follow (extension members)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(metadata={"description": "urn:obcms:problem:<error>"})
    error = fields.String(metadata={"description": "The kind of problem, e.g. validation_failed, conflict."})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    request_id = fields.String(metadata={"description": "Quote it when you report a problem."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Invalid fields (422): {field: [messages]}."})
    your_version = fields.Integer(allow_none=True, metadata={"description": "The version you sent (409)."})
    current_version = fields.Integer(allow_none=True, metadata={"description": "The version now (409)."})
    changed_fields = fields.Dict(keys=fields.String(), metadata={
        "description": "What a colleague changed since your version (409): {field: {yours, current, …}}."})


class AllocationNodeSchema(Schema):
    """A node of the allocation tree (obcms/budget/allocation.py), amounts as strings with 2 decimals."""

    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    title = fields.String()
    work_type = enum(WORK_TYPES)
    status = enum(WORK_ITEM_STATUSES)
    progress = fields.Integer()
    allocated = Money()
    children_allocated = Money()
    unallocated = Money()
    actual_expenditure = Money()
    variance = Money()
    variance_pct = Money(allow_none=True, metadata={"description": "Of allocated; null when nothing is allocated."})


class AllocationTreeSchema(Schema):
    ppa_id = fields.Integer()
    ppa_code = fields.String()
    execution_project_id = fields.Integer(allow_none=True)
    nodes = fields.List(fields.Nested(AllocationNodeSchema), metadata={"description": "In tree order."})
