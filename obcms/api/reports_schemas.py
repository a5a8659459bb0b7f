"""Schemas of the API's reports (obcms/api/reports.py)."""
from marshmallow import Schema, fields, validate

from ..ids import MAX_ID
from ..ppas.models import SECTORS
from ..reports.models import REPORT_KINDS, REPORT_STATUSES
from .schemas import Strict, enum


class ReportKindSchema(Schema):
    kind = enum(REPORT_KINDS)
    name = fields.String()
    description = fields.String()


class ReportSchema(Schema):
    id = fields.Integer()
    kind = enum(REPORT_KINDS)
    fiscal_year = fields.Integer()
    moa_id = fields.Integer(allow_none=True)
    sector = fields.String(allow_none=True)
    status = enum(REPORT_STATUSES)
    rows_done = fields.Integer()
    rows_total = fields.Integer()
    percent_done = fields.Integer()
    file_name = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    as_of = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    download = fields.String(allow_none=True, metadata={"description": "The workbook's URL once done."})


class ReportsSchema(Schema):
    kinds = fields.List(fields.Nested(ReportKindSchema))
    direct_limit = fields.Integer(metadata={"description": "Up to this many PPAs a report is answered at once."})
    reports = fields.List(fields.Nested(ReportSchema), metadata={"description": "Your reports still kept."})


class ReportRequestSchema(Strict):
    report = enum(REPORT_KINDS, required=True)
    fiscal_year = fields.Integer(required=True, strict=True, validate=validate.Range(2000, 2100))
    moa = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, MAX_ID),
                         metadata={"description": "An MOA's id (one of those you may report on)."})
    sector = enum(SECTORS, allow_none=True)
