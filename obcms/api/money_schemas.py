"""Schemas of the API's money resources (obcms/api/money.py): tranches, tracking, distributions, sync runs,
ledger entries. Shapes only; the rules stay in the services."""
from marshmallow import Schema, fields, validate

from ..budget.distribution import METHODS
from ..budget.models import ENTRY_KINDS
from ..ids import MAX_ID
from ..ppas.models import DISTRIBUTION_POLICIES, TRANCHE_KINDS
from ..ppas.tracking import TEMPLATES
from .schemas import NO_NUL, Money, Strict, TrancheSchema, enum


def described(field, description):
    """A field with its description in the OpenAPI document (for fields built by `enum`)."""
    field.metadata = {**field.metadata, "description": description}
    return field


ID = {"validate": validate.Range(1, MAX_ID), "strict": True}


class TrancheCreateSchema(Strict):
    kind = enum(TRANCHE_KINDS, required=True)
    amount = Money(required=True)
    tranche_date = fields.Date(required=True)
    source = fields.String(load_default="", validate=[validate.Length(max=200), NO_NUL])
    remarks = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])


class TrancheListSchema(Schema):
    ppa_id = fields.Integer()
    items = fields.List(fields.Nested(TrancheSchema))


class TrackingArgs(Schema):
    template = described(enum(TEMPLATES), "Preview the tree this template would generate.")


class TrackingNodeSchema(Schema):
    depth = fields.Integer()
    title = fields.String()
    work_type = fields.String()
    priority = fields.String()
    status = fields.String()
    allocated_budget = Money()
    start_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)


class TrackingSchema(Schema):
    ppa_id = fields.Integer()
    enabled = fields.Boolean()
    execution_project_id = fields.Integer(allow_none=True)
    structure_template = fields.String(allow_none=True)
    budget_distribution_policy = fields.String()
    version = fields.Integer()
    preview = fields.List(fields.Nested(TrackingNodeSchema), allow_none=True,
                          metadata={"description": "With ?template=: the tree it would generate (nothing written)."})


class EnableTrackingSchema(Strict):
    template = enum(TEMPLATES, required=True)
    policy = enum(DISTRIBUTION_POLICIES, required=True)


class DistributionPreviewArgs(Strict):
    node_id = fields.Integer(metadata={"description": "The work item whose children receive the shares; "
                                                      "default: the PPA's execution project."}, **ID)
    method = enum(METHODS, required=True)
    amount = Money(allow_none=True, metadata={"description": "Default: the node's allocation (the root: the "
                                                             "PPA's budget allocation)."})
    inputs = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,12}$")),
                         values=fields.String(validate=[validate.Length(max=40), NO_NUL]), load_default=dict,
                         metadata={"description": "{child id: weight (weighted) or amount (manual)}."})
    rescale = fields.Boolean(load_default=False, metadata={"description": "Scale down the items under a child "
                                                                          "whose share is less than they hold."})


def version_map(**kwargs):
    """{id: version}: the ids as JSON keys (text)."""
    return fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,12}$")),
                       values=fields.Integer(strict=True, validate=validate.Range(1, 2**31 - 1)), **kwargs)


class DistributionApplySchema(DistributionPreviewArgs):
    versions = version_map(required=True, metadata={"description": "{id: version} of the node and its children as the preview "
                                                    "gave them: any change since is a 409."})
    rescaled_versions = version_map(metadata={"description": "The preview's rescaled_versions, with rescale."})


class RescaledItemSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    allocated = Money(attribute="allocated_budget")
    share = Money()
    version = fields.Integer()


class DistributionLineSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    version = fields.Integer(attribute="member.version")
    allocated = Money()
    entered = fields.String()
    share = Money(allow_none=True)
    changed = fields.Boolean()
    errors = fields.List(fields.String())
    rescaled = fields.List(fields.Nested(RescaledItemSchema))


class DistributionPreviewSchema(Schema):
    node_id = fields.Integer(attribute="node.id")
    node_title = fields.String(attribute="node.title")
    method = fields.String()
    amount = Money(allow_none=True)
    total = Money(allow_none=True)
    remainder = Money(allow_none=True)
    is_valid = fields.Boolean()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), attribute="error_fields")
    lines = fields.List(fields.Nested(DistributionLineSchema))
    versions = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "Send them back to apply."})
    rescaled_versions = fields.Dict(keys=fields.String(), values=fields.Integer())


class DistributionSchema(Schema):
    id = fields.Integer()
    ppa_id = fields.Integer()
    node_id = fields.Integer()
    method = fields.String()
    amount = Money()
    inputs = fields.Dict()
    result = fields.Dict()
    before = fields.Dict()
    restored_from_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class SyncRunSchema(Schema):
    run_id = fields.Integer(attribute="id")
    ppa_id = fields.Integer()
    status = fields.String()
    queued_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict()
    error = fields.String(allow_none=True)


class FinancialEntrySchema(Schema):
    id = fields.Integer()
    work_item_id = fields.Integer()
    ppa_id = fields.Integer()
    kind = enum(ENTRY_KINDS)
    amount = Money()
    entry_date = fields.Date()
    reference = fields.String()
    payee = fields.String()
    reason = fields.String(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    reversed_by_id = fields.Integer(allow_none=True)
    over_allocation = fields.Boolean()
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


class FinancialEntryListArgs(Schema):
    work_item_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    kind = enum(ENTRY_KINDS)
    before = fields.Integer(validate=validate.Range(1, MAX_ID),
                            metadata={"description": "Entries older than this id (the `next` link carries it)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class FinancialEntryPageSchema(Schema):
    items = fields.List(fields.Nested(FinancialEntrySchema))
    next = fields.String(allow_none=True)


class FinancialEntryCreateSchema(Strict):
    work_item_id = fields.Integer(required=True, **ID)
    kind = enum(ENTRY_KINDS, required=True)
    amount = Money(required=True)
    entry_date = fields.Date(required=True)
    reference = fields.String(load_default="", validate=[validate.Length(max=60), NO_NUL])
    payee = fields.String(load_default="", validate=[validate.Length(max=200), NO_NUL])
    reason = fields.String(allow_none=True, validate=[validate.Length(max=500), NO_NUL])
    override = fields.Boolean(load_default=False, metadata={"description": "Beyond the allocation (with a reason)."})


class ReverseSchema(Strict):
    reason = fields.String(required=True, validate=[validate.Length(max=500), NO_NUL])
