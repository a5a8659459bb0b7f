"""Budget distribution on the tree (DOMAIN.md "Budget distribution"): preview, apply, restore, history.

The arithmetic is obcms/budget/distribution.py (pure); this module reads the chosen node with its children,
checks what the tree allows, and writes. Never a flat list of the whole tree: only the direct children of one
node receive shares.

    preview = preview_distribution(node, "weighted", {12: "50", 13: "50"})     # no writes
    preview.is_valid, preview.total, preview.remainder, preview.errors         # errors name the child
    record = apply_distribution(node, "weighted", {12: "50", 13: "50"}, user, preview.versions)
    restore_distribution(record, user)                                         # a new record
    distribution_history(ppa)                                                  # newest first

The amount defaults to the node's allocated budget; for a PPA's execution project (the root) to the PPA's
budget allocation. Applying goes through the work items' one write call for allocations
(obcms.workitems.services.set_allocations): inside its tree lock this module re-reads the node and its
children, compares their versions with the ones the user saw (Conflict, 409), validates everything
(ValidationFailed, 422, nothing written) and records the Distribution; set_allocations then writes the
changed children's allocations (version + 1) with the roll-ups of the node and its ancestors and the PPA
sync, every audit row with the cause "budget distribution #<id>".
"""
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload, make_transient_to_detached

from ..audit.models import AuditEntry
from ..audit.objects import object_type_of
from ..audit.recording import creation_entries, storage_type
from ..auth.permissions import can, require
from ..database import is_sqlite
from ..db_types import utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..money import format_pesos
from ..ppas.models import Ppa
from ..workitems import rollup, tree
from ..workitems.models import WorkItem
from ..workitems.money_sql import money_sum
from ..workitems.services import Allocations, set_allocations
from .distribution import ALL, AMOUNT, METHODS, distribute, rescale_below, weights_from_amounts
from .models import Distribution

work_items = WorkItem.__table__
ZERO = Decimal("0.00")
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class Member:
    """The node or one of its children, as read (inside the tree lock when applying)."""

    __scope_column__ = "organization_id"  # scoped like its work item (obcms.auth.permissions.can)

    id: int
    parent_id: int | None
    tree_id: int
    title: str
    work_type: str
    status: str
    progress: int
    version: int
    allocated_budget: Decimal
    actual_expenditure: Decimal
    completed_at: object
    children_allocated: Decimal
    ppa_id: int | None
    organization_id: int | None
    ppa_budget: Decimal | None  # the PPA's budget allocation when this node is its execution project
    # The node's PPA, for the Budget tab's parts after an apply: its execution project, policy and MOA.
    ppa_root: int | None
    ppa_policy: str | None
    ppa_moa: int | None


@dataclass(frozen=True)
class Line:
    """One child in a preview: what it has, what the user entered, what it would get."""

    member: Member
    entered: str
    share: Decimal | None
    errors: tuple = ()
    rescaled: tuple = ()  # the Items under it a rescale changes, in tree order

    @property
    def short(self):
        """Its share is less than what its items hold: they must be rescaled for the share to be valid."""
        return self.share is not None and self.member.children_allocated > self.share

    @property
    def id(self):
        return self.member.id

    @property
    def title(self):
        return self.member.title

    @property
    def allocated(self):
        return self.member.allocated_budget

    @property
    def changed(self):
        return self.share is not None and self.share != self.member.allocated_budget


@dataclass(frozen=True)
class Preview:
    node: Member
    method: str
    amount: Decimal | None
    amount_entered: str
    lines: tuple
    result: object  # distribution.DistributionResult
    general_errors: tuple = ()  # about the amount or the distribution as a whole
    below: dict | None = None  # a rescale: {container id: {item id: new amount}}; None when not asked

    @property
    def rescale(self):
        """A rescale of the items below was asked for."""
        return self.below is not None

    @property
    def may_rescale(self):
        """Some share is less than what the child's items hold: the dialog offers to rescale them."""
        return any(line.short or line.rescaled for line in self.lines)

    @property
    def rescaled_versions(self):
        """{id: version} of the items a rescale changes, as previewed (what apply checks them against)."""
        return {item.id: item.version for line in self.lines for item in line.rescaled}

    @property
    def errors(self):
        """Every problem as a sentence naming the child (or the amount)."""
        return list(self.general_errors) + [message for line in self.lines for message in line.errors]

    @property
    def is_valid(self):
        return not self.errors

    @property
    def total(self):
        return self.result.total

    @property
    def remainder(self):
        return self.result.remainder

    @property
    def versions(self):
        """{id: version} of the node and its children: what apply_distribution checks."""
        return {self.node.id: self.node.version, **{line.id: line.member.version for line in self.lines}}

    @property
    def error_fields(self):
        """{field: [messages]} for ValidationFailed: "amount", "distribution", or the child's id."""
        out = {}
        if self.general_errors:
            out["distribution"] = list(self.general_errors)
        for line in self.lines:
            if line.errors:
                out[str(line.id)] = list(line.errors)
        return out


@dataclass(frozen=True)
class Item:
    """A work item under a child of the node (read when a rescale is asked for): what it holds, what it would
    hold after the rescale."""

    id: int
    parent_id: int
    title: str
    allocated_budget: Decimal
    version: int
    share: Decimal | None = None


@dataclass
class HistoryEntry:
    distribution: Distribution
    node_title: str
    lines: list = field(default_factory=list)  # [(child id, title, before, after)]
    restorable: bool = True
    why_not: str | None = None
    undoable: bool = False  # the latest distribution of its node: "Undo" brings the Before values back

    @property
    def rescaled_count(self):
        """How many items below the children this distribution rescaled."""
        return sum(len(items) for items in (self.distribution.inputs or {}).get("rescaled", {}).values())

    @property
    def undoes(self):
        """The id of the distribution this one undid (None for a distribution or a restore)."""
        return (self.distribution.inputs or {}).get("undo_of")


# ------------------------------------------------------------------------------------------------- reading
@cache
def _family_statement(sqlite):
    column, k = work_items.c, aliased(work_items, name="k")
    children_allocated = (sa.select(money_sum(k.c.allocated_budget, sqlite)).where(k.c.parent_id == column.id)
                          .scalar_subquery())
    ppa = Ppa.__table__.c
    ppa_budget = sa.case((ppa.execution_project_id == column.id, ppa.budget_allocation), else_=None)
    node = sa.bindparam("_node", type_=sa.Integer)
    return (sa.select(column.id, column.parent_id, column.tree_id, column.title, column.work_type, column.status,
                      column.progress, column.version,
                      column.allocated_budget, column.actual_expenditure, column.completed_at,
                      children_allocated.label("children_allocated"),
                      column.ppa_id, column.organization_id, ppa_budget.label("ppa_budget"),
                      ppa.execution_project_id.label("ppa_root"), ppa.budget_distribution_policy.label("ppa_policy"),
                      ppa.implementing_moa_id.label("ppa_moa"))
            .select_from(work_items.outerjoin(Ppa.__table__, ppa.id == column.ppa_id))
            .where(sa.or_(column.id == node, column.parent_id == node)).order_by(tree.position()))


def read_family(node, session=None):
    """(the node, [its children in tree order]) as Members; ONE query. NotFound when the node is gone."""
    session = session or db.session
    node_id = node if isinstance(node, int) else node.id
    rows = session.execute(_family_statement(is_sqlite(session)), {"_node": node_id}).all()
    members = [Member(**{**row._mapping, "children_allocated": row.children_allocated or ZERO}) for row in rows]
    if not members or members[0].id != node_id:
        raise NotFound(f"Work item #{node_id} does not exist (any more).")
    return members[0], members[1:]


def default_amount(node):
    """The amount distributed unless the user says otherwise: the PPA budget for an execution project,
    else the node's own allocation."""
    if node.ppa_budget is not None:
        return node.ppa_budget
    return node.allocated_budget


@cache
def _items_columns():
    column = work_items.c
    return (column.id, column.parent_id, column.title,
            sa.type_coerce(column.allocated_budget, storage_type(column.allocated_budget)).label("allocated_budget"),
            column.version)


def read_items(node, session=None):
    """Everything under `node` (its children included) as Items in tree order: what a rescale reads. ONE
    query."""
    node_id = node if isinstance(node, int) else node.id
    rows = tree.subtree_rows(node_id, _items_columns(), session=session or db.session)
    return [Item(*row) for row in rows if row.id != node_id]


# ------------------------------------------------------------------------------------------------- preview
def _text(value):
    return "" if value is None else str(value).strip()


def compute_preview(node, children, method, inputs, amount=None, items=None):
    """The preview of a family already read (read_family): the pure distribution plus what the tree allows.
    With `items` (read_items: a rescale was asked for), a child whose share is less than what its items hold
    has them scaled down in proportion (distribution.rescale_below) instead of an error. No query."""
    if method not in METHODS:
        raise ValidationFailed(f"Choose a method: {', '.join(METHODS)}.",
                               errors={"method": [f"Choose one of: {', '.join(METHODS)}."]})
    inputs = {int(k): v for k, v in (inputs or {}).items()}
    raw_amount = default_amount(node) if amount is None or _text(amount) == "" else amount
    keys = [child.id for child in children]
    result = distribute(method, raw_amount, keys, {k: _text(inputs.get(k)) for k in keys})
    general = [f"Amount: {problem}" for problem in result.errors.get(AMOUNT, ())] + list(result.errors.get(ALL, ()))
    if result.amount is not None and AMOUNT not in result.errors:
        general.extend(_problem(rollup.check_allocation, node, result.amount))
    shares = {share.key: share.amount for share in result.shares}
    short = {child.id: shares[child.id] for child in children
             if shares.get(child.id) is not None and child.children_allocated > shares[child.id]}
    below, rescaled = None, {}
    if items is not None:
        below, rescaled = _rescale(items, short)
    lines = []
    for child in children:
        messages = [f"{child.title}: {problem}" for problem in result.errors.get(child.id, ())]
        share = shares.get(child.id)
        if child.id in short and items is None:
            messages.extend(_problem(rollup.check_allocation, rollup.Envelope(child.title, share), child.children_allocated))
        lines.append(Line(child, _text(inputs.get(child.id)) if method != "equal" else "", share, tuple(messages),
                          tuple(rescaled.get(child.id, ()))))
    return Preview(node, method, result.amount, _text(raw_amount), tuple(lines), result, tuple(general), below)


def _rescale(items, targets):
    """({container id: {item id: amount}}, {child id: [the Items changed under it, in tree order]})."""
    below = rescale_below({item.id: (item.parent_id, item.allocated_budget) for item in items}, targets)
    shares = {item_id: amount for amounts in below.values() for item_id, amount in amounts.items()}
    top, rescaled = {}, {}
    for item in items:
        top[item.id] = top.get(item.parent_id, item.id)  # a child of the node is its own top
        if item.id in shares and shares[item.id] != item.allocated_budget:
            rescaled.setdefault(top[item.id], []).append(dataclasses.replace(item, share=shares[item.id]))
    return below, rescaled


def _problem(check, *args):
    try:
        check(*args)
    except ValidationFailed as error:
        return [error.detail]
    return []


def preview_distribution(node, method, inputs, amount=None, rescale=False):
    """What distributing `amount` (default: see default_amount) over the children of `node` by `method`
    would give, with every problem named; writes nothing. `inputs`: {child id: weight or amount} (text,
    Decimal or int; unused for equal). With `rescale`, the items under a child whose share is less than
    they hold are scaled down in proportion. Reads the family (and with `rescale` the items below)."""
    parent, children = read_family(node)
    return compute_preview(parent, children, method, inputs, amount, read_items(parent) if rescale else None)


def initial_inputs(method, children):
    """What the modal's input column starts with: weights in proportion to the current allocations (equal
    when there are none), or the current amounts. Either way, text."""
    if method == "weighted":
        return {k: str(w) for k, w in weights_from_amounts({c.id: c.allocated_budget for c in children}).items()}
    if method == "manual":
        return {child.id: str(child.allocated_budget) for child in children}
    return {}


# ------------------------------------------------------------------------------------------------- apply
def _stale(preview, expected_versions):
    """The Conflict for a family that changed since the user saw it, or None."""
    expected = {int(k): int(v) for k, v in (expected_versions or {}).items()}
    current = preview.versions
    members = {preview.node.id: preview.node, **{line.id: line.member for line in preview.lines}}
    added = [members[i].title for i in current if i not in expected]
    removed = [i for i in expected if i not in current]
    stale = {i: expected[i] for i in current if i in expected and expected[i] != current[i]}
    if not (added or removed or stale):
        return None
    changed = {}
    if added or removed:
        what = []
        if added:
            what.append("added: " + ", ".join(added))
        if removed:
            what.append(f"{len(removed)} removed")
        changed["children"] = {"current": "; ".join(what), "yours": None, "by": None, "at": None}
    if stale:
        entries = db.session.execute(
            sa.select(AuditEntry.object_id, AuditEntry.object_version, AuditEntry.field, AuditEntry.new_value,
                      AuditEntry.actor_label, AuditEntry.at)
            .where(AuditEntry.object_type == object_type_of(WorkItem), AuditEntry.object_id.in_(list(stale)),
                   AuditEntry.field.is_not(None))
            .order_by(AuditEntry.id)).all()
        for object_id, version, name, new_value, actor, at in entries:
            if version is not None and version > stale[object_id]:
                shown = format_pesos(Decimal(new_value)) if name == "allocated_budget" and new_value else new_value
                changed[f"{members[object_id].title} · {name.replace('_', ' ')}"] = {
                    "current": shown, "yours": None, "by": actor, "at": at.isoformat()}
        for object_id in stale:
            if not any(key.startswith(f"{members[object_id].title} · ") for key in changed):
                changed[members[object_id].title] = {"current": "its place in the tree changed", "yours": None,
                                                     "by": None, "at": None}
    who = sorted({facts["by"] for facts in changed.values() if facts.get("by")})
    node_id = preview.node.id
    return Conflict(f"“{preview.node.title}” or the items under it changed{' (by ' + ', '.join(who) + ')' if who else ''}"
                    " after you opened the distribution. Check the new figures and apply again.",
                    your_version=expected.get(node_id), current_version=current[node_id], changed_fields=changed)


def _stale_items(preview, expected):
    """The Conflict for items a rescale changes that are not as the user's preview showed them, or None."""
    expected = {int(k): int(v) for k, v in (expected or {}).items()}
    items = [item for line in preview.lines for item in line.rescaled]
    stale = [item.title for item in items if expected.get(item.id) != item.version]
    if not stale:
        return None
    node_id = preview.node.id
    return Conflict(f"The items under “{preview.node.title}” changed after the preview of their rescale "
                    f"({', '.join(stale)}). Check the new figures and apply again.",
                    your_version=preview.node.version, current_version=preview.versions[node_id],
                    changed_fields={"items below": {"current": ", ".join(stale), "yours": None, "by": None,
                                                    "at": None}})


def _refuse_invalid(preview):
    if not preview.is_valid:
        raise ValidationFailed("; ".join(preview.errors), errors=preview.error_fields)


def _insert_record(values):
    """The Distribution row by one INSERT … RETURNING id (its audit rows go with the others'), as a persistent
    object without another query."""
    session = db.session
    record_id = session.scalar(sa.insert(Distribution.__table__).values(**values)
                               .returning(Distribution.__table__.c.id))
    record = Distribution(id=record_id, **values)
    make_transient_to_detached(record)
    session.add(record)
    return record


def _record(preview, actor, method, inputs, restored_from_id=None, rescaled=None):
    """Insert the Distribution record of a checked preview → the Allocations to write (the children's shares
    and any rescale below them, with the cause "budget distribution #<id>" on every audit row, the record's
    own among them); the record is their outcome. A rescale — the preview's, or `rescaled` when given — is
    kept in the inputs ("rescaled": {container: {item: [before, after]}}) so the distribution can be undone
    whole."""
    node = preview.node
    inputs = {key: value for key, value in inputs.items() if key != "rescaled"}
    if rescaled is None:
        before = {item.id: item.allocated_budget for line in preview.lines for item in line.rescaled}
        rescaled = {str(container): {str(i): [str(before[i]), str(amount)] for i, amount in amounts.items()
                                     if i in before}
                    for container, amounts in (preview.below or {}).items()}
    rescaled = {container: amounts for container, amounts in rescaled.items() if amounts}
    if rescaled:
        inputs["rescaled"] = rescaled
    values = dict(ppa_id=node.ppa_id, node_id=node.id, method=method, amount=preview.amount, inputs=inputs,
                  result=preview.result.to_json(),
                  before={str(line.id): str(line.allocated) for line in preview.lines},
                  created_by_id=actor.id, created_at=utcnow(), restored_from_id=restored_from_id)
    record = _insert_record(values)
    cause = f"budget distribution #{record.id}"
    entries = creation_entries(Distribution, record.id, {**values, "id": record.id}, version=None, cause=cause)
    return Allocations(shares={line.id: line.share for line in preview.lines}, cause=cause, entries=tuple(entries),
                       outcome=record, below={int(container): {int(i): Decimal(pair[1]) for i, pair in amounts.items()}
                                              for container, amounts in rescaled.items()})


def _recorded_inputs(method, preview):
    if method == "weighted":
        return {"weights": {str(line.id): line.entered for line in preview.lines}}
    if method == "manual":
        return {"amounts": {str(line.id): line.entered for line in preview.lines}}
    return {}


@dataclass(frozen=True)
class Applied:
    """What an apply wrote and read: the record, the node and its children as read inside the lock, and the
    node's lineage (itself and its ancestors, whose roll-up cells may have changed)."""

    record: Distribution
    node: Member
    children: tuple
    lineage: tuple


def _checked_family(node_id, actor):
    """The node's family read inside the tree lock (read_family); the node must be in the actor's scope
    (NotFound), theirs to distribute (NotAllowed), and belong to a PPA."""
    parent, children = read_family(node_id)
    if not can(actor, "workitem.read", parent):
        raise NotFound(f"There is no work item #{node_id} here.")
    require(actor, "budget.distribute", parent)
    if parent.ppa_id is None:
        raise ValidationFailed("Budget distributions are recorded per PPA; this tree belongs to no PPA.")
    return parent, children


def apply(node_id, method, inputs, actor, expected_versions, amount=None, rescale=False, expected_rescaled=None):
    """Distribute over the children of work item `node_id` and record it → Applied. Scope, then permission, on
    the row read inside the lock: another organization's node is NotFound whatever the actor's role.

    `expected_versions`: {id: version} of the node and its children as the user saw them (Preview.versions).
    Raises Conflict when any changed (or a child came or went), ValidationFailed naming each child's problem
    (nothing is written), NotFound outside the actor's scope, NotAllowed without budget.distribute. Written
    through the work items' one write call for allocations (set_allocations).

    With `rescale`, the items under a child whose share is less than they hold are scaled down in proportion
    (read inside the lock); `expected_rescaled` ({id: version}, Preview.rescaled_versions) are those items as
    the user's preview showed them: any other version is a Conflict (None: not checked)."""
    def decide():
        parent, children = _checked_family(node_id, actor)
        preview = compute_preview(parent, children, method, inputs, amount, read_items(parent) if rescale else None)
        conflict = _stale(preview, expected_versions)
        if conflict is None and rescale and expected_rescaled is not None:
            conflict = _stale_items(preview, expected_rescaled)
        if conflict is not None:
            raise conflict
        _refuse_invalid(preview)
        allocations = _record(preview, actor, method, _recorded_inputs(method, preview))
        return dataclasses.replace(allocations, outcome=(allocations.outcome, parent, children))

    written = set_allocations(node_id, decide)
    record, parent, children = written.outcome
    return Applied(record, parent, tuple(child.id for child in children), written.lineage)


def apply_distribution(node, method, inputs, actor, expected_versions, amount=None, rescale=False):
    """apply() for a loaded WorkItem (its permission checked before the lock); returns the Distribution."""
    require(actor, "budget.distribute", node)
    return apply(node.id, method, inputs, actor, expected_versions, amount, rescale).record


def restore_distribution(distribution, actor, undo=False):
    """Apply the result of an earlier distribution again, as a new record (restored_from_id). Refused when
    the node's children are no longer the ones it distributed over.

    With undo, bring back what the children held before it (its Before values), and what the items it
    rescaled held, instead — refused when any of those allocations changed since (undoing would overwrite
    somebody's later change). The new record says which distribution it undoes (inputs "undo_of").
    Restoring a distribution that rescaled rescales again what the children's items hold now."""
    require(actor, "budget.distribute")

    def decide():
        parent, children = _checked_family(distribution.node_id, actor)
        recorded = {int(k) for k in distribution.result}
        current = {child.id for child in children}
        if recorded != current:
            added = [child.title for child in children if child.id not in recorded]
            removed = len(recorded - current)
            parts = ([f"added since: {', '.join(added)}"] if added else []) + (
                [f"{removed} removed since"] if removed else [])
            raise Conflict(f"Distribution #{distribution.id} cannot be restored: the items under “{parent.title}” "
                           f"changed ({'; '.join(parts)}). Distribute again instead.",
                           changed_fields={"children": {"current": "; ".join(parts), "yours": None, "by": None,
                                                        "at": None}})
        rescaled = (distribution.inputs or {}).get("rescaled", {})
        items = read_items(parent) if rescaled else None
        if undo:
            changed = [child.title for child in children
                       if child.allocated_budget != Decimal(distribution.result[str(child.id)])]
            after = {int(i): Decimal(pair[1]) for amounts in rescaled.values() for i, pair in amounts.items()}
            changed += [item.title for item in items or () if item.id in after and item.allocated_budget != after[item.id]]
            changed += [f"#{i} (deleted)" for i in sorted(set(after) - {item.id for item in items or ()})]
            if changed:
                raise Conflict(f"Distribution #{distribution.id} cannot be undone: the allocations of "
                               f"{', '.join(changed)} changed since, and undoing would overwrite that. "
                               "Distribute again instead.",
                               changed_fields={"allocations": {"current": ", ".join(changed), "yours": None,
                                                               "by": None, "at": None}})
            amounts = {int(k): v for k, v in distribution.before.items()}
            amount = sum((Decimal(v) for v in distribution.before.values()), Decimal("0.00"))
            preview = compute_preview(parent, children, "manual", amounts, amount)
            _refuse_invalid(preview)
            back = {container: {i: [pair[1], pair[0]] for i, pair in amounts.items()}
                    for container, amounts in rescaled.items()}
            return _record(preview, actor, "manual", {"amounts": distribution.before, "undo_of": distribution.id},
                           restored_from_id=distribution.id, rescaled=back)
        preview = compute_preview(parent, children, "manual", {int(k): v for k, v in distribution.result.items()},
                                  distribution.amount, items)
        _refuse_invalid(preview)
        return _record(preview, actor, distribution.method, distribution.inputs, restored_from_id=distribution.id)

    return set_allocations(distribution.node_id, decide).outcome


# ------------------------------------------------------------------------------------------------- history
@dataclass(frozen=True)
class _Fact:
    id: int
    parent_id: int | None
    title: str


def distribution_history(ppa, limit=HISTORY_LIMIT, tree_nodes=None):
    """The PPA's distributions, newest first, with per-child before → after and whether each can still be
    restored (its node has the same children). Two queries — one when `tree_nodes` (the execution project's
    rows with id, parent_id and title, e.g. rollup.allocation_tree's) hold every node the records name."""
    session = db.session
    records = session.scalars(sa.select(Distribution).where(Distribution.ppa_id == ppa.id)
                              .options(joinedload(Distribution.created_by))
                              .order_by(Distribution.id.desc()).limit(limit)).unique().all()
    if not records:
        return []
    node_ids = {r.node_id for r in records}
    child_ids = {int(k) for r in records for k in (*r.result, *r.before)}
    known = {n["id"]: n for n in tree_nodes or ()}
    if node_ids | child_ids <= set(known):  # the whole tree is known: every current child of those nodes too
        facts = [_Fact(n["id"], n["parent_id"], n["title"]) for n in known.values()]
    else:
        column = work_items.c
        facts = session.execute(sa.select(column.id, column.parent_id, column.title)
                                .where(sa.or_(column.id.in_(sorted(node_ids | child_ids)),
                                              column.parent_id.in_(sorted(node_ids))))).all()
    titles = {row.id: row.title for row in facts}
    kids = {}
    for row in facts:
        if row.parent_id in node_ids:
            kids.setdefault(row.parent_id, set()).add(row.id)
    out, latest_seen = [], set()
    for record in records:
        ids = [int(k) for k in record.result]
        entry = HistoryEntry(record, titles.get(record.node_id, f"Work item #{record.node_id} (deleted)"))
        entry.lines = [(i, titles.get(i, f"#{i} (deleted)"), Decimal(record.before.get(str(i), "0")),
                        Decimal(record.result[str(i)])) for i in ids]
        if record.node_id not in titles:
            entry.restorable, entry.why_not = False, "its work item was deleted"
        elif kids.get(record.node_id, set()) != set(ids):
            entry.restorable, entry.why_not = False, "the items under it changed since"
        entry.undoable = entry.restorable and record.node_id not in latest_seen
        latest_seen.add(record.node_id)
        out.append(entry)
    return out
