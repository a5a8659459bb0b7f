"""The legacy import: plan what each record of the older system's export becomes, then write it.

    export = read_export(path.read_bytes())
    plan = plan_import(export, actor)                     # reads only: every record's outcome and reason
    apply_plan(plan, actor, "legacy_export.json")         # writes (the caller commits, or rolls back)
    differences = verify(export, actor)                   # [] when the database holds what the file says

What a record becomes:
- a project workflow → its PPA's execution project (found by the PPA's code; generated from the `minimal`
  structure template when the PPA has none, through obcms/ppas/tracking.enable_tracking), whose status
  follows the workflow's stage (STAGE_STATUS, fired through the work items' state machine, so the PPA's
  status follows in turn);
- a staff task → a work item of type task under its workflow's (else its PPA's) execution project, or a
  subtask under its parent task; new items go in through workitems.services.build_tree, one call per parent;
- an event → a calendar event (obcms/calendar/services.create_event), organized by the importing user.

Refusal policy: a record that cannot be imported (missing dates, duplicated ids, a task whose parent was
deleted or is missing, an unknown PPA or organization, invalid characters, an object deleted in obcms since an
earlier run …) is refused with its reason and skipped, and so are the records that hang from it; the rest of
the file lands. The whole file is one transaction: a database error, or a domain error met while writing
(DOMAIN_ERRORS: a rule the plan could not foresee), rolls all of it back. Legacy ids are remembered in
legacy_records with the checksum of the source row: a record seen before with the same checksum is left alone,
one whose checksum moved is updated (through the same services), so a second run creates nothing.
"""
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from ..auth.models import Organization, User
from ..calendar import services as calendar_services
from ..calendar.models import CalendarEvent
from ..db_types import utcnow
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..ppas import tracking
from ..ppas.models import Ppa
from ..workflow import available_transitions, fire
from ..workitems import services as workitem_services
from ..workitems.models import WorkItem
from .models import LegacyRecord

STAGES = ("need_identification", "need_validation", "policy_linkage", "mao_coordination", "budget_planning",
          "approval", "implementation", "monitoring", "completion")
STAGE_STATUS = {stage: "not_started" for stage in STAGES[:6]} | {
    "implementation": "in_progress", "monitoring": "in_progress", "completion": "completed"}
TASK_STATUS = {"todo": "not_started", "not_started": "not_started", "in_progress": "in_progress",
               "at_risk": "at_risk", "blocked": "blocked", "completed": "completed", "done": "completed",
               "cancelled": "cancelled"}
TASK_PRIORITY = {"low": "low", "medium": "medium", "high": "high", "urgent": "urgent", "critical": "critical"}
EVENT_KIND = {"meeting": "meeting", "coordination_meeting": "meeting", "consultation": "meeting",
              "workshop": "workshop", "conference": "conference", "training": "training",
              "site_visit": "site_visit", "field_visit": "site_visit", "deadline": "deadline", "other": "other"}
TRACKING_TEMPLATE = "minimal"  # a PPA without an execution project gets a bare one for the workflow's tasks
DEFAULT_EVENT_HOURS = 1        # an event with a start time and no end time lasts an hour
INVALID_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
OBJECT_TYPES = {"event": "calendar_event", "project_workflow": "work_item", "staff_task": "work_item"}
ORDER = ("project_workflow", "event", "staff_task")
DOMAIN_ERRORS = (ValidationFailed, Conflict, NotAllowed, NotFound)  # raised while writing: the file is refused


class Refused(Exception):
    """A record that cannot be imported, and why."""


@dataclass
class Row:
    record: object
    action: str = "create"          # create | update | unchanged | refused
    reason: str = ""
    values: dict = field(default_factory=dict)
    existing_id: int | None = None  # the obcms object it became (update, unchanged)
    gone: bool = False              # … and that object was deleted since
    parent_legacy_id: str | None = None


@dataclass
class Plan:
    export: object
    rows: list
    ppas: dict                      # code → Ppa
    users: dict                     # username → User
    workflow_ppa: dict              # workflow legacy id → Ppa

    def counts(self):
        """{kind: {action: n}}."""
        out = {kind: Counter() for kind in ORDER}
        for row in self.rows:
            out[row.record.kind][row.action] += 1
        return out

    @property
    def refused(self):
        return [row for row in self.rows if row.action == "refused"]


# ------------------------------------------------------------------------------------------------- reading
def _text(fields, name, limit, required=False):
    value = fields.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise Refused(f"{name} is empty")
    if INVALID_CHARACTERS.search(value):
        raise Refused(f"{name} holds invalid characters (control characters)")
    if len(value) > limit:
        raise Refused(f"{name} is longer than {limit} characters ({len(value)})")
    return value


def _date(fields, name, required=False):
    value = fields.get(name)
    if value in (None, ""):
        if required:
            raise Refused(f"missing {name}")
        return None
    try:
        parsed = date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Refused(f"{name} {value!r} is not a date") from None
    if not 2000 <= parsed.year <= 2100:
        raise Refused(f"{name} {value} is out of range")
    return parsed


def _time(fields, name):
    value = fields.get(name)
    if value in (None, ""):
        return None
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise Refused(f"{name} {value!r} is not a time") from None


def _natural(value):
    """A natural key as dumpdata writes it (["MSSD"]) or a plain value → text, or None."""
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value in (None, "") else str(value)


def _usernames(fields, name):
    """The usernames of a many-to-many field ([["jdoe"], ["amina"]]); anything else is no one."""
    values = fields.get(name)
    return [n for n in (_natural(v) for v in values if isinstance(v, (list, str)))
            if n] if isinstance(values, list) else []


def _choice(mapping, value):
    return mapping.get(value) if isinstance(value, str) else None


def _hours(fields):
    value = fields.get("estimated_hours")
    if value in (None, ""):
        return None
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise Refused(f"estimated_hours {value!r} is not a number") from None
    if not Decimal(0) <= hours < Decimal(100000):
        raise Refused(f"estimated_hours {value} is out of range")
    return hours


# ------------------------------------------------------------------------------------------------- planning
def plan_import(export, actor):
    """Every record's outcome (create, update, unchanged, refused with its reason): reads, writes nothing."""
    records = export.records
    codes = {_natural(r.fields.get("ppa")) for r in records if r.kind == "project_workflow"}
    codes |= {_natural(r.fields.get("linked_ppa")) for r in records if r.kind == "staff_task"}
    codes.discard(None)
    ppas = {p.code: p for p in db.session.scalars(sa.select(Ppa).where(Ppa.code.in_(sorted(codes))))}
    usernames = set()
    for r in records:
        for name in ("organizer", "project_lead"):
            usernames.add(_natural(r.fields.get(name)))
        for name in ("participants", "assignees"):
            usernames.update(_usernames(r.fields, name))
    usernames.discard(None)
    users = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_(sorted(usernames)), User.is_active))}
    organizations = {o.acronym: o.id for o in db.session.scalars(sa.select(Organization))}
    known = _known()

    seen = defaultdict(list)
    for r in records:
        seen[r.kind, r.legacy_id].append(r)
    plan = Plan(export, [], ppas, users, {})
    rows = {}  # id(record) → its Row

    def row_of(record, chain=()):
        """The record's Row, planned once; a task's parents first (`chain`: the tasks waiting below it)."""
        if id(record) in rows:
            return rows[id(record)]
        if record.legacy_id in chain:
            raise Refused(f"its parents loop back to task {record.legacy_id}")
        if len(chain) >= workitem_services.MAX_LEVELS:
            raise Refused(f"subtasks nested deeper than {workitem_services.MAX_LEVELS} levels")
        row = Row(record)
        try:
            _check_identity(record, seen)
            _against_known(row, known)
            if record.kind == "project_workflow":
                _plan_workflow(row, plan)
            elif record.kind == "event":
                _plan_event(row, users, organizations)
            else:
                _plan_task(row, lambda kind, key: first(kind, key, (*chain, record.legacy_id)), plan)
        except Refused as refusal:
            row.action, row.reason = "refused", str(refusal)
        rows[id(record)] = row
        return row

    def first(kind, legacy_id, chain):
        """The Row of the first record with this id (it answers for a duplicated id), or None."""
        copies = seen.get((kind, legacy_id))
        return row_of(copies[0], chain) if copies else None

    for kind in ORDER:
        for record in records:
            if record.kind == kind:
                row_of(record)
    plan.rows = sorted(rows.values(), key=lambda row: row.record.number)
    return plan


def _check_identity(record, seen):
    if not record.legacy_id:
        raise Refused("no id (pk)")
    if len(record.legacy_id) > 64:
        raise Refused("id longer than 64 characters")
    copies = seen[record.kind, record.legacy_id]
    if len(copies) > 1:
        if any(copy.checksum != record.checksum for copy in copies):
            numbers = ", ".join(f"#{copy.number}" for copy in copies)
            raise Refused(f"duplicated id {record.legacy_id} with different contents (records {numbers})")
        if copies[0] is not record:
            raise Refused(f"duplicated id {record.legacy_id}: the same record as #{copies[0].number}")
    if record.fields.get("is_deleted"):
        raise Refused("deleted in the older system")


def _known():
    """{(kind, legacy id): (object id, checksum, whether the object is still there)}: three queries."""
    rows = db.session.execute(sa.select(LegacyRecord.legacy_kind, LegacyRecord.legacy_id, LegacyRecord.object_type,
                                        LegacyRecord.object_id, LegacyRecord.checksum)).all()
    present = {"calendar_event": set(), "work_item": set()}
    for object_type, model in (("calendar_event", CalendarEvent), ("work_item", WorkItem)):
        ids = sorted({row.object_id for row in rows if row.object_type == object_type})
        if ids:
            present[object_type] = set(db.session.scalars(sa.select(model.id).where(model.id.in_(ids))))
    return {(row.legacy_kind, row.legacy_id): (row.object_id, row.checksum, row.object_id in present[row.object_type])
            for row in rows}


def _against_known(row, known):
    mapped = known.get((row.record.kind, row.record.legacy_id))
    if mapped is None:
        return
    object_id, checksum, present = mapped
    row.existing_id = object_id
    if not present:
        row.gone = True
        what = "calendar event" if OBJECT_TYPES[row.record.kind] == "calendar_event" else "work item"
        raise Refused(f"the {what} #{object_id} it became on an earlier run was deleted in obcms")
    row.action = "unchanged" if checksum == row.record.checksum else "update"


def _plan_workflow(row, plan):
    fields = row.record.fields
    code = _natural(fields.get("ppa"))
    if code is None:
        raise Refused("no PPA")
    ppa = plan.ppas.get(code)
    if ppa is None:
        raise Refused(f"unknown PPA {code}")
    if ppa in plan.workflow_ppa.values():
        raise Refused(f"PPA {code} already has a workflow in this file")
    stage = fields.get("current_stage")
    if _choice(STAGE_STATUS, stage) is None:
        raise Refused(f"unknown stage {stage!r}")
    _date(fields, "initiated_date", required=True)
    plan.workflow_ppa[row.record.legacy_id] = ppa
    row.values = {"status": STAGE_STATUS[stage], "ppa_id": ppa.id}


def _plan_event(row, users, organizations):
    fields = row.record.fields
    title = _text(fields, "title", 200, required=True)
    start = _date(fields, "start_date", required=True)
    end = _date(fields, "end_date") or start
    start_time, end_time = _time(fields, "start_time"), _time(fields, "end_time")
    all_day = start_time is None
    if not all_day and end_time is None:
        moment = datetime.combine(start, start_time) + timedelta(hours=DEFAULT_EVENT_HOURS)
        end, end_time = moment.date(), moment.time()
    if end < start or (not all_day and datetime.combine(end, end_time) <= datetime.combine(start, start_time)):
        raise Refused("ends before it starts")
    acronym = _natural(fields.get("organization"))
    if acronym is not None and acronym not in organizations:
        raise Refused(f"unknown organization {acronym}")
    kind = _choice(EVENT_KIND, fields.get("event_type") or "other")
    if kind is None:
        raise Refused(f"unknown event type {fields.get('event_type')!r}")
    participants = sorted({users[name].id for name in _usernames(fields, "participants") if name in users})
    row.values = dict(title=title, description=_text(fields, "description", 5000),
                      location=_text(fields, "venue", 200), kind=kind, visibility="organization",
                      organization_id=organizations.get(acronym), all_day=all_day, start_date=start,
                      start_time=None if all_day else start_time, end_date=end,
                      end_time=None if all_day else end_time, participant_ids=participants)


def _plan_task(row, first, plan):
    fields = row.record.fields
    title = _text(fields, "title", 500, required=True)
    start, due = _date(fields, "start_date"), _date(fields, "due_date")
    if start and due and due < start:
        raise Refused(f"due {due} before start {start}")
    status = _choice(TASK_STATUS, fields.get("status") or "todo")
    if status is None:
        raise Refused(f"unknown status {fields.get('status')!r}")
    parent = fields.get("parent")
    if parent not in (None, ""):
        above = first("staff_task", str(parent))
        if above is None:
            raise Refused(f"its parent task {parent} is not in the export (deleted)")
        if above.action == "refused":
            raise Refused(f"its parent task {parent} is refused")
        row.parent_legacy_id = str(parent)
        row.values["depth"] = above.values["depth"] + 1
        if row.values["depth"] >= workitem_services.MAX_LEVELS:
            raise Refused(f"subtasks nested deeper than {workitem_services.MAX_LEVELS} levels")
    else:
        workflow, code = fields.get("linked_workflow"), _natural(fields.get("linked_ppa"))
        if workflow not in (None, ""):
            above = first("project_workflow", str(workflow))
            if above is None:
                raise Refused(f"its workflow {workflow} is not in the export")
            if above.action == "refused":
                raise Refused(f"its workflow {workflow} is refused")
            ppa = plan.workflow_ppa[str(workflow)]
        elif code is not None:
            ppa = plan.ppas.get(code)
            if ppa is None:
                raise Refused(f"unknown PPA {code}")
            if ppa.execution_project_id is None and ppa not in plan.workflow_ppa.values():
                raise Refused(f"PPA {code} has no execution project and no workflow in the export")
        else:
            raise Refused("belongs to no workflow and no PPA")
        row.values["ppa"] = ppa
        row.values["depth"] = 1
    row.values.update(
        title=title, description=_text(fields, "description", 20000) or None, status=status,
        priority=_choice(TASK_PRIORITY, fields.get("priority")) or "medium", start_date=start, due_date=due,
        estimated_hours=_hours(fields),
        assignees=sorted({plan.users[name].id for name in _usernames(fields, "assignees") if name in plan.users}))


# ------------------------------------------------------------------------------------------------- writing
def apply_plan(plan, actor, file_name, progress=None):
    """Write what the plan says (the caller owns the transaction). `progress(n)` is told of each n records
    done. Returns {kind: {action: n}} as written."""
    progress = progress or (lambda n: None)
    rows = {kind: [row for row in plan.rows if row.record.kind == kind] for kind in ORDER}
    mapped = {}  # (kind, legacy id) → object id, for every record that landed
    for row in plan.rows:
        if row.existing_id is not None and row.action != "refused":
            mapped[row.record.kind, row.record.legacy_id] = row.existing_id
    new_records, changed = [], []

    for row in rows["project_workflow"]:
        if row.action == "create":
            root_id = _execution_project(plan.workflow_ppa[row.record.legacy_id], actor)
            mapped["project_workflow", row.record.legacy_id] = root_id
            new_records.append((row, root_id))
        elif row.action == "update":
            changed.append(row)
    progress(len(rows["project_workflow"]))

    for row in rows["event"]:
        if row.action == "create":
            new_records.append((row, calendar_services.create_event(actor, **row.values).id))
        elif row.action == "update":
            event = db.session.get(CalendarEvent, row.existing_id)
            calendar_services.update_event(event, event.version, actor, **row.values)
            changed.append(row)
        progress(1)

    created = _create_tasks(rows["staff_task"], actor, mapped, progress)
    new_records += created
    for row in rows["staff_task"]:
        if row.action == "update":
            _update_task(row, actor)
            changed.append(row)
    progress(len(rows["staff_task"]) - len(created))

    for row in rows["project_workflow"]:
        if row.action in ("create", "update"):
            _follow_stage(mapped["project_workflow", row.record.legacy_id], row.values["status"], actor)
    _remember(new_records, changed, file_name)
    return plan.counts()


def _create_tasks(rows, actor, mapped, progress):
    """New tasks, one build_tree call per parent that exists already (an execution project, or a task from
    an earlier run); new subtasks ride inside their new parent's node."""
    nodes, groups = {}, defaultdict(list)  # legacy id → node; parent work item id → [(row, node)]
    for row in sorted(rows, key=lambda row: row.values.get("depth", 0)):  # parents before their subtasks
        if row.action != "create":
            continue
        v = row.values
        node = {"title": v["title"], "description": v["description"], "priority": v["priority"],
                "status": v["status"], "progress": 100 if v["status"] == "completed" else 0,
                "start_date": v["start_date"], "due_date": v["due_date"], "estimated_hours": v["estimated_hours"],
                "work_type": "task" if row.parent_legacy_id is None else "subtask", "children": []}
        nodes[row.record.legacy_id] = (row, node)
        if row.parent_legacy_id is None:
            groups[mapped["project_workflow", _workflow_of(row)] if _workflow_of(row) else
                   v["ppa"].execution_project_id].append((row, node))
        elif row.parent_legacy_id in nodes:
            nodes[row.parent_legacy_id][1]["children"].append((row, node))
        else:
            groups[mapped["staff_task", row.parent_legacy_id]].append((row, node))
    created, assignments = [], []
    for parent_id, top in groups.items():
        parent = db.session.get(WorkItem, parent_id)
        ids = workitem_services.build_tree([_plain(node) for _, node in top], actor, parent=parent)
        for (row, _), item_id in zip(_preorder(top), ids, strict=True):
            created.append((row, item_id))
            mapped["staff_task", row.record.legacy_id] = item_id
            assignments += [(item_id, user_id) for user_id in row.values["assignees"]]
        progress(len(ids))
    workitem_services.add_assignees(assignments)
    done = [item_id for row, item_id in created if row.values["status"] == "completed"]
    if done:  # completed means done at some time: as generated structures, stamped in one UPDATE
        table = WorkItem.__table__
        db.session.execute(sa.update(table).where(table.c.id.in_(done)).values(completed_at=utcnow()))
    return created


def _workflow_of(row):
    workflow = row.record.fields.get("linked_workflow")
    return None if workflow in (None, "") else str(workflow)


def _plain(node):
    return {**node, "children": [_plain(child) for _, child in node["children"]]}


def _preorder(pairs):
    for row, node in pairs:
        yield row, node
        yield from _preorder(node["children"])


def _execution_project(ppa, actor):
    """The id of the PPA's execution project, generated (TRACKING_TEMPLATE) when it has none."""
    if ppa.execution_project_id is None and ppa.workitem_tracking_enabled:
        tracking.ensure_execution_project(ppa, actor)
    if ppa.execution_project_id is None:
        tracking.enable_tracking(ppa, actor, TRACKING_TEMPLATE, ppa.budget_distribution_policy or "equal")
    return ppa.execution_project_id


def _update_task(row, actor):
    item = db.session.get(WorkItem, row.existing_id)
    v = row.values
    changes = {name: v[name] for name in ("title", "description", "priority", "start_date", "due_date")}
    workitem_services.update_work_item(item, item.version, actor, **changes)
    if item.status != v["status"]:
        _fire_to(item, v["status"], actor)
    if sorted(u.id for u in item.assignees) != v["assignees"]:
        workitem_services.assign_users(item, actor, v["assignees"])


def _fire_to(item, status, actor):
    """Move `item` to `status` by the transition open to `actor` that leads there from where it is; none (such
    as completing a project whose rules refuse it): left as it is, the obcms rules win over the old data."""
    for option in available_transitions(item, actor):
        if option.allowed and option.transition.target == status:
            fire(item, option.name, actor)
            return


def _follow_stage(root_id, status, actor):
    root = db.session.get(WorkItem, root_id)
    if root.status != status:
        _fire_to(root, status, actor)


def _remember(new_records, changed, file_name):
    name = file_name[-255:]
    if new_records:
        db.session.execute(sa.insert(LegacyRecord), [
            {"legacy_kind": row.record.kind, "legacy_id": row.record.legacy_id,
             "object_type": OBJECT_TYPES[row.record.kind], "object_id": object_id, "checksum": row.record.checksum,
             "source_file": name} for row, object_id in new_records])
    if changed:
        table = LegacyRecord.__table__
        db.session.execute(
            sa.update(table).where(table.c.legacy_kind == sa.bindparam("_kind"),
                                   table.c.legacy_id == sa.bindparam("_id"))
            .values(checksum=sa.bindparam("_checksum"), source_file=name, updated_at=sa.func.now()),
            [{"_kind": row.record.kind, "_id": row.record.legacy_id, "_checksum": row.record.checksum}
             for row in changed])


# ------------------------------------------------------------------------------------------------- verifying
def verify(export, actor):
    """The differences between the file and the database, one line each ([] when they agree): records not
    imported or changed since, counts per kind, the sum of the tasks' estimated hours, titles."""
    plan = plan_import(export, actor)
    differences = []
    for kind, counts in plan.counts().items():
        for action in ("create", "update"):
            if counts[action]:
                said = "not imported yet" if action == "create" else "changed since the import"
                differences.append(f"{kind}: {counts[action]} record(s) {said}")
    for kind, n in sorted(Counter(row.record.kind for row in plan.rows if row.gone).items()):
        differences.append(f"{kind}: {n} imported record(s) whose object was deleted in obcms")
    landed = [row for row in plan.rows if row.action != "refused"]
    expected = Counter(row.record.kind for row in landed)
    found = _found(landed)
    for kind in ORDER:
        have = sum(1 for row in landed if row.record.kind == kind and (kind, row.existing_id) in found)
        if have != expected[kind]:
            differences.append(f"{kind}: the file has {expected[kind]}, the database {have}")
    tasks = [row for row in landed if row.record.kind == "staff_task"]
    file_hours = sum((row.values["estimated_hours"] or Decimal(0) for row in tasks), Decimal(0))
    db_hours = sum((found.get(("staff_task", row.existing_id), (None, None))[1] or Decimal(0) for row in tasks),
                   Decimal(0))
    if file_hours != db_hours:
        differences.append(f"staff_task: estimated hours {file_hours} in the file, {db_hours} in the database")
    titles = sum(1 for row in landed if row.record.kind != "project_workflow"
                 and (row.record.kind, row.existing_id) in found
                 and found[row.record.kind, row.existing_id][0] != row.values["title"])
    if titles:
        differences.append(f"{titles} title(s) differ between the file and the database")
    return differences


def _found(rows):
    """{(kind, object id): (title, hours)} of the imported objects still in the database (two queries)."""
    event_ids = [row.existing_id for row in rows if row.record.kind == "event" and row.existing_id]
    kinds = {(row.existing_id, row.record.kind) for row in rows if row.record.kind != "event" and row.existing_id}
    found = {("event", i): (t, None) for i, t in db.session.execute(
        sa.select(CalendarEvent.id, CalendarEvent.title).where(CalendarEvent.id.in_(event_ids)))}
    items = db.session.execute(sa.select(WorkItem.id, WorkItem.title, WorkItem.estimated_hours)
                               .where(WorkItem.id.in_({i for i, _ in kinds}))).all()
    for i, t, h in items:
        for kind in ("project_workflow", "staff_task"):
            if (i, kind) in kinds:
                found[kind, i] = (t, h)
    return found
