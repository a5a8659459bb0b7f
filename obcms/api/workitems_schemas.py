"""Work items and tasks in the API: what a node of the tree looks like in JSON, and what a request may send.

Shapes only (types, enums, lengths); the rules (types under types, depth, allocation, dates) are
obcms/workitems/services.py's, whose ValidationFailed answers 422 per field. Unknown fields are refused.
"""
from decimal import Decimal

from marshmallow import Schema, fields, validate

from ..ids import MAX_ID
from ..workitems.models import ACTIVITY_CATEGORIES, PRIORITIES, STATUSES, WORK_TYPES
from .schemas import NO_NUL, Money, Strict, TransitionOptionSchema, enum

ID = {"strict": True, "validate": validate.Range(1, MAX_ID)}


class WorkItemFieldsMixin:
    """The fields an editor sets (obcms/workitems/services.py EDITABLE)."""

    title = fields.String(validate=[validate.Length(max=500), NO_NUL])
    description = fields.String(allow_none=True, validate=[validate.Length(max=20000), NO_NUL])
    priority = enum(PRIORITIES)
    activity_category = enum(ACTIVITY_CATEGORIES, allow_none=True)
    start_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    start_time = fields.Time(allow_none=True)
    end_time = fields.Time(allow_none=True)
    progress = fields.Integer(strict=True, validate=validate.Range(0, 100))
    auto_calculate_progress = fields.Boolean()
    allocated_budget = Money()
    budget_notes = fields.String(allow_none=True, validate=[validate.Length(max=20000), NO_NUL])
    calendar_visible = fields.Boolean()
    calendar_color = fields.String(allow_none=True, validate=[validate.Length(max=20), NO_NUL],
                                   metadata={"example": "#1f6feb"})


class WorkItemSchema(WorkItemFieldsMixin, Strict):
    """A work item as the API shows it (money as strings with 2 decimals)."""

    id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    tree_id = fields.Integer(metadata={"description": "The id of its tree's root."})
    depth = fields.Integer(metadata={"description": "0 for a root."})
    work_type = enum(WORK_TYPES)
    status = enum(STATUSES)
    actual_expenditure = Money()
    obligated = Money()
    disbursed = Money()
    estimated_hours = fields.Decimal(allow_none=True, as_string=True, places=2)
    completed_at = fields.DateTime(allow_none=True)
    ppa_id = fields.Integer(allow_none=True)
    organization_id = fields.Integer(allow_none=True)
    assignee_ids = fields.List(fields.Integer())
    version = fields.Integer(metadata={"description": "Send it back (If-Match or `version`) to change the item."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WorkItemNodeSchema(WorkItemSchema):
    """A node of the nested tree: its children inside it, in tree order."""

    children = fields.List(fields.Nested(lambda: WorkItemNodeSchema()))


class WorkItemTreeSchema(Schema):
    ppa_id = fields.Integer()
    execution_project_id = fields.Integer(allow_none=True,
                                          metadata={"description": "The root; null when the PPA is not tracked."})
    shape = enum(("nested", "flat"))
    items = fields.List(fields.Nested(WorkItemNodeSchema), metadata={
        "description": "flat: every node in tree order (no `children`); nested: the root, children inside."})


class WorkItemTreeArgs(Schema):
    shape = enum(("nested", "flat"), load_default="nested")


class WorkItemCreateSchema(WorkItemFieldsMixin, Strict):
    parent_id = fields.Integer(metadata={"description": "Under which node of the PPA's tree (default: its root)."},
                               **ID)
    before_id = fields.Integer(metadata={"description": "Placed before this child of the parent (default: last)."},
                               **ID)
    work_type = enum(WORK_TYPES, required=True)
    title = fields.String(required=True, validate=[validate.Length(max=500), NO_NUL])
    estimated_hours = fields.Decimal(allow_none=True, places=2, validate=validate.Range(0, Decimal("99999.99")),
                                     metadata={"type": "number", "minimum": 0, "maximum": 99999.99})


class WorkItemPatchSchema(WorkItemFieldsMixin, Strict):
    assignee_ids = fields.List(fields.Integer(**ID), validate=validate.Length(max=100),
                               metadata={"description": "Its assignees, all of them (active people)."})
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})


class MoveSchema(Strict):
    """Where to: `parent_id` (null: a tree of its own) and optionally `before_id`; or `direction` up/down."""

    parent_id = fields.Integer(allow_none=True, metadata={"description": "The new parent; null for a tree of its own."},
                               **ID)
    before_id = fields.Integer(allow_none=True, metadata={"description": "Before this child of the new parent."},
                               **ID)
    direction = enum(("up", "down"))
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})


class DeletedSchema(Schema):
    id = fields.Integer()
    deleted = fields.Integer(metadata={"description": "How many work items went (the item and its subtree)."})


class DeleteArgs(Schema):
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})


class WorkItemTransitionsSchema(Schema):
    work_item_id = fields.Integer()
    status = enum(STATUSES)
    version = fields.Integer()
    transitions = fields.List(fields.Nested(TransitionOptionSchema))


class WorkItemFiredSchema(Schema):
    work_item_id = fields.Integer()
    transition = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    version = fields.Integer()


# My tasks ---------------------------------------------------------------------------------------------------
class TaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    work_type = enum(("task", "subtask"))
    status = enum(STATUSES)
    priority = enum(PRIORITIES)
    due_date = fields.Date(allow_none=True)
    overdue = fields.Boolean()
    completed_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    organization_id = fields.Integer(allow_none=True)
    ppa_id = fields.Integer(allow_none=True)
    ppa_code = fields.String(allow_none=True)
    ppa_title = fields.String(allow_none=True)
    snoozed_until = fields.Date(allow_none=True, metadata={"description": "Your reminders of it sleep until then."})


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    next = fields.String(allow_none=True, metadata={"description": "The next page's URL; null on the last."})


class TaskListArgs(Schema):
    """Query arguments of GET /tasks (other arguments are ignored)."""

    person = fields.Integer(validate=validate.Range(1, MAX_ID), metadata={
        "description": "A team member's tasks (task.team), as far as you may see them; default: yours."})
    ppa = fields.Integer(validate=validate.Range(1, MAX_ID), metadata={"description": "Of this PPA only."})
    priority = enum(PRIORITIES)
    status = enum(STATUSES)
    sort = enum(("due", "priority", "title"), load_default="due")
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class CompleteSchema(Strict):
    version = fields.Integer(metadata={"description": "The version you read (or send If-Match: \"<version>\")."})
