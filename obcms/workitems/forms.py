"""The tree's inline forms. They render, keep what the user typed and turn text into values; the rules live in
obcms/workitems/services.py, whose field errors are put back on the fields (`show_errors`).

Several forms may be open in one tree at once, so each carries a prefix naming its row ("e12-title" edits
#12, "n12-title" adds a child under #12, "m12-parent" moves #12): ids stay unique on the page.
"""
from datetime import date

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField

from ..form_fields import Needed, ServiceForm, VersionField, date_field, money_field, options
from ..ids import parse_id
from .models import PRIORITIES
from .services import TYPE_LABELS


def _label(value):
    return value.replace("_", " ")


def parse_date(text, name, errors):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.setdefault(name, []).append("A date such as 2026-11-26.")
        return None


class _ItemForm(ServiceForm):
    def _dates(self, values, errors):
        values["start_date"] = parse_date(self.start_date.data, "start_date", errors)
        values["due_date"] = parse_date(self.due_date.data, "due_date", errors)


class ChildForm(_ItemForm):
    """A new child under a node: only the types the parent may hold are offered."""

    title = StringField("Title", validators=[Needed()])
    work_type = SelectField("Type", choices=[], validate_choice=False, validators=[Needed()])
    priority = SelectField("Priority", choices=options([(p, _label(p)) for p in PRIORITIES]), default="medium",
                           validate_choice=False)
    start_date = date_field("Start")
    due_date = date_field("Due")
    allocated_budget = money_field("Allocated (₱)")

    def set_types(self, types):
        self.work_type.choices = options([(t, TYPE_LABELS[t]) for t in types])

    def values(self):
        errors = {}
        values = {"title": self.title.data, "work_type": self.work_type.data or None,
                  "priority": self.priority.data, "allocated_budget": (self.allocated_budget.data or "").strip() or "0"}
        self._dates(values, errors)
        return values, errors


class ProjectForm(ChildForm):
    """A new tree: a root project, for one organization."""

    organization_id = SelectField("Organization", choices=[], validate_choice=False, validators=[Needed()])

    def set_organizations(self, organizations):
        self.organization_id.choices = options([(str(o.id), f"{o.acronym} · {o.name}") for o in organizations])

    def values(self):
        values, errors = super().values()
        values["work_type"] = "project"
        try:
            values["organization_id"] = int(self.organization_id.data)
        except (TypeError, ValueError):
            errors.setdefault("organization_id", []).append("Choose an organization.")
            values["organization_id"] = None
        return values, errors


class EditForm(_ItemForm):
    """Edit one node. Status moves through the workflow transitions the user may fire; progress only where it
    is not derived from the children."""

    version = VersionField()
    title = StringField("Title", validators=[Needed()])
    transition = SelectField("Status", choices=[], validate_choice=False)
    priority = SelectField("Priority", choices=options([(p, _label(p)) for p in PRIORITIES]), validate_choice=False)
    progress = StringField("Progress (%)", render_kw={"inputmode": "numeric", "type": "number", "min": 0,
                                                      "max": 100})
    auto_calculate_progress = BooleanField("Progress from the children")
    start_date = date_field("Start")
    due_date = date_field("Due")
    allocated_budget = money_field("Allocated (₱)")
    assignees = SelectMultipleField("Assignees", choices=[], validate_choice=False)

    def setup(self, item, transitions, users, container):
        """Choices for this node: the status actions allowed to the user, the assignable users; a leaf has no
        'progress from the children' switch."""
        keep = f"{_label(item.status)} (keep)"
        self.transition.choices = options([("", keep)] + [
            (o.name, f"{o.label} → {_label(o.transition.target)}") for o in transitions if o.allowed])
        self.assignees.choices = options([(str(u.id), u.display_name) for u in users])
        if not container:
            del self.auto_calculate_progress

    @classmethod
    def for_item(cls, item, assignee_ids, **kwargs):
        return cls(data=edit_form_data(item, assignee_ids), **kwargs)

    def values(self):
        errors = {}
        values = {"title": self.title.data, "priority": self.priority.data,
                  "allocated_budget": (self.allocated_budget.data or "").strip() or "0"}
        if (self.progress.data or "").strip() != "":
            values["progress"] = self.progress.data.strip()
        if "auto_calculate_progress" in self._fields:
            values["auto_calculate_progress"] = bool(self.auto_calculate_progress.data)
        self._dates(values, errors)
        try:
            assignees = sorted({int(i) for i in self.assignees.data or []})
        except ValueError:
            errors.setdefault("assignees", []).append("Choose people from the list.")
            assignees = []
        allowed = {int(choice.value) for choice in self.assignees.choices}
        if set(assignees) - allowed:
            errors.setdefault("assignees", []).append("Choose people of this organization or the OOBC.")
        return values, assignees, errors


def edit_form_data(item, assignee_ids):
    """The edit form's data for `item` as it is (also: the colleague's values kept after a 409)."""
    return {"version": item.version, "title": item.title, "priority": item.priority,
            "progress": item.progress, "auto_calculate_progress": item.auto_calculate_progress,
            "start_date": item.start_date.isoformat() if item.start_date else "",
            "due_date": item.due_date.isoformat() if item.due_date else "",
            "allocated_budget": f"{item.allocated_budget:.2f}",
            "assignees": [str(i) for i in assignee_ids]}


class MoveForm(_ItemForm):
    """Move a node: under another node (last, or before one of its children), or to a tree of its own."""

    version = VersionField()
    q = StringField("Find the new parent", render_kw={"type": "search", "autocomplete": "off",
                                                      "placeholder": "Type part of a title"})
    parent = StringField("New parent")
    before = StringField("Position")

    def target(self):
        """(parent id or None for its own tree, before id or None), and the errors of what was sent."""
        errors = {}
        parent = (self.parent.data or "").strip()
        before = (self.before.data or "").strip()
        if parent == "root":
            return None, None, errors
        if parse_id(parent) is None:
            errors["parent"] = ["Choose the new parent from the list."]
            return None, None, errors
        if before and parse_id(before) is None:
            errors["before"] = ["Choose a position from the list."]
        return parse_id(parent), parse_id(before), errors


class VersionForm(ServiceForm):
    """Delete and reorder: only the version the user saw."""

    version = VersionField()
