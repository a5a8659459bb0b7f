"""The financial ledger: obligations, disbursements and adjustments posted on the work items of a tracked PPA,
and their roll-ups (issue 13, "Budget stages per node").

    entry = record_entry(activity, actor, "obligation", "250000.00", date(2026, 3, 1), "ORS-2026-03-0012",
                         "Supplier Inc.")
    record_entry(activity, actor, "obligation", "90000", day, "ORS-…", "", reason="Approved realignment",
                 override=True)                       # beyond the activity's allocation: flagged
    reverse_entry(entry, actor, "Wrong ORS number")   # a new entry with the opposite amount

Rules (field errors name the field; nothing is written when one fails):
- The PPA is tracked and the item is in its tree; the actor holds `budget.record` on the item (in scope).
- obligation and disbursement amounts are > 0; an adjustment corrects the obligated amount (a de-obligation
  when negative), is non-zero and needs a reason. Amounts through obcms/money.py (Decimal, centavos).
- On the node and on every ancestor, after the entry (reversals counted): disbursed ≤ obligated. (A
  disbursement never exceeds what is obligated on its node; a reversal of an obligation that disbursements
  still rest on is refused.)
- An entry that raises `obligated` above the `allocated_budget` of the node or of an ancestor is refused unless
  override=True with a reason; it is then flagged `over_allocation`. The allocations stay what distribution set.

The roll-ups: `work_items.obligated` / `work_items.disbursed` hold each node's own entries plus its
descendants' (so the root holds the PPA's), and `actual_expenditure` is the same figure as `disbursed` (what
was spent is what was disbursed; it is never entered by hand). They are written in the same transaction as the entry, under the
tree lock (tree.lock: the root row, then the node and its ancestors read inside the lock), with exact Decimal
values computed from that read (one executemany UPDATE), and audited as facts of each node with the cause
"derived from <kind> #<entry id>". They do not move a node's version: nothing on a work item's edit form
changes, so a colleague's posting is no conflict for someone editing the node.

The PPA's tranches agree with the ledger because every entry writes its mirror FundingTranche in the same
transaction (obligation and adjustment → an `obligation` tranche, disbursement → a `disbursement` tranche,
signed, `financial_entry_id` linking them). Chosen over deriving the tranche totals from the ledger: the Funding
tab, the portfolio, the dashboard and the variance alerts keep reading one table, unchanged, and
`flask obcms money check` (check_money) proves the three agree.

Recording an entry is 6 statements whatever the depth, the PPA loaded or not: lock, read, INSERT entry (only
where the PPA is tracked with this tree: the check is part of the INSERT), INSERT tranche, UPDATE the node and
its ancestors, INSERT the audit rows (tests/budget/test_ledger.py pins it).

For reports: the roll-ups are columns on work_items; node_totals_statement() selects them set-based.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased, make_transient_to_detached

from ..audit.recording import change_entries, creation_entries, write_entries
from ..auth.models import User
from ..auth.permissions import require, scope
from ..columns import DATE_RANGE_MESSAGE, date_in_range
from ..db_types import utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..money import CENT, ZERO, AmountError, format_pesos, parse_amount
from ..ppas.models import FundingTranche, Ppa
from ..workitems import tree
from ..workitems.models import LEDGER_COLUMNS, WorkItem
from ..workitems.reminders import local_today
from ..workitems.tree.session_sync import expire_loaded
from .models import ENTRY_KINDS, FinancialEntry

PAGE_SIZE = 50
KIND_LABELS = {"obligation": "Obligation", "disbursement": "Disbursement", "adjustment": "Adjustment"}
TRANCHE_KIND = {"obligation": "obligation", "adjustment": "obligation", "disbursement": "disbursement"}
entries_table = FinancialEntry.__table__
tranches_table = FundingTranche.__table__
work_items = WorkItem.__table__


# ------------------------------------------------------------------------------------------------- reads
def node_totals_statement(ppa_ids=None):
    """SELECT work_item_id, obligated, disbursed (rolled up: own + descendants' entries) for every node of the
    given PPAs (all PPAs when None) — the stored roll-ups, set-based, one statement for the reports."""
    stmt = sa.select(work_items.c.id.label("work_item_id"), work_items.c.obligated, work_items.c.disbursed)
    if ppa_ids is not None:
        stmt = stmt.where(work_items.c.ppa_id.in_(list(ppa_ids)))
    return stmt


@dataclass(frozen=True)
class Stage:
    """One node's budget stages: allocated, obligated, disbursed, balance (allocated − obligated), utilization
    (disbursed ÷ allocated × 100, 2 places half up; None when nothing is allocated)."""

    id: int
    parent_id: int | None
    title: str
    work_type: str
    depth: int
    allocated: Decimal
    obligated: Decimal
    disbursed: Decimal

    @property
    def balance(self):
        return self.allocated - self.obligated

    @property
    def utilization(self):
        if not self.allocated:
            return None
        return (self.disbursed * 100 / self.allocated).quantize(CENT, rounding=ROUND_HALF_UP)


STAGE_COLUMNS = (work_items.c.id, work_items.c.parent_id, work_items.c.title, work_items.c.work_type,
                 work_items.c.depth, work_items.c.allocated_budget, work_items.c.obligated, work_items.c.disbursed)


def stages(root_id):
    """The budget stages of every node of a tree (tree order), from one query."""
    return [Stage(*row) for row in tree.subtree_rows(root_id, STAGE_COLUMNS)]


def get_entry(entry_id, actor, permission="workitem.read"):
    """The entry when the actor may reach it (404 out of scope or missing, 403 without the permission)."""
    entry = db.session.scalar(scope(sa.select(FinancialEntry).where(FinancialEntry.id == entry_id),
                                    FinancialEntry, actor))
    if entry is None:
        raise NotFound(f"There is no ledger entry #{entry_id} here.")
    require(actor, permission, entry)
    return entry


def _name(user):
    """A user's display name in SQL (User.display_name: the full name, else the username)."""
    return sa.func.coalesce(sa.func.nullif(user.full_name, ""), user.username)


@dataclass(frozen=True)
class LedgerPage:
    rows: list          # Row(entry=FinancialEntry, recorded_by=str|None, reversed_by_id, reversed_by=str|None)
    page: int
    has_next: bool


def ledger_page(item, page=1):
    """A node's own entries, newest first, PAGE_SIZE per page, each with who recorded it and the reversal that
    undid it (if any): one query (one row more than a page tells whether there is a next)."""
    page = max(1, page)
    reversal, recorder, reverser = aliased(FinancialEntry), aliased(User), aliased(User)
    stmt = (sa.select(FinancialEntry.__table__, _name(recorder).label("recorded_by_name"),
                      reversal.id.label("reversed_by_id"), _name(reverser).label("reversed_by_name"))
            .outerjoin(recorder, recorder.id == FinancialEntry.recorded_by_id)
            .outerjoin(reversal, reversal.reverses_id == FinancialEntry.id)
            .outerjoin(reverser, reverser.id == reversal.recorded_by_id)
            .where(FinancialEntry.work_item_id == item.id)
            .order_by(FinancialEntry.recorded_at.desc(), FinancialEntry.id.desc())
            .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE))
    rows = db.session.execute(stmt).all()
    return LedgerPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


# ------------------------------------------------------------------------------------------------- rules
def _fail(errors, message=None):
    raise ValidationFailed(message or "Please correct the highlighted fields.", errors=errors)


def _text(errors, name, value, length, required=False, label="This"):
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if "\x00" in value:
        errors[name] = ["Remove the control characters."]
    elif len(value) > length:
        errors[name] = [f"At most {length} characters."]
    elif required and not value:
        errors[name] = [f"{label} is required."]
    return value


def _amount(errors, kind, value):
    try:
        amount = parse_amount(value, allow_negative=kind == "adjustment")
    except (AmountError, TypeError):
        if kind == "adjustment":
            errors["amount"] = ["Enter an amount such as 1250.50 or -1250.50 (centavos at most)."]
        else:
            errors["amount"] = ["Enter an amount above zero such as 1250.50 (centavos at most)."]
        return None
    if not amount:
        errors["amount"] = ["Enter an amount other than zero."]
    return amount


def _date(errors, value):
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        errors["entry_date"] = ["Enter the date of the entry."]
        return None
    if not date_in_range(value):
        errors["entry_date"] = [DATE_RANGE_MESSAGE]
    return value


def clean_entry(kind, amount, entry_date, reference, payee, reason, override):
    """The entry's values checked and normalized, else ValidationFailed naming every wrong field."""
    errors = {}
    if kind not in ENTRY_KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(ENTRY_KINDS)}."]
    values = {"kind": kind, "amount": _amount(errors, kind, amount), "entry_date": _date(errors, entry_date),
              "reference": _text(errors, "reference", reference, 60, required=kind != "adjustment",
                                 label="The reference (ORS or DV number)"),
              "payee": _text(errors, "payee", payee, 200),
              "reason": _text(errors, "reason", reason, 500) or None}
    if "reason" not in errors and not values["reason"] and (kind == "adjustment" or override):
        errors["reason"] = ["Give the reason for an adjustment." if kind == "adjustment" else
                            "Give the reason for obligating beyond the allocation."]
    if errors:
        _fail(errors)
    return values


def _path(locked, node_id):
    """The node and its ancestors (deepest first) as read inside the lock."""
    path, row = [], locked[node_id]
    while True:
        path.append(row)
        if row.parent_id is None:
            return path
        row = locked[row.parent_id]


DISBURSED_BEYOND = ("This disbursement would bring what is disbursed on “{title}” to {disbursed}, more than the "
                    "{obligated} obligated there.")
OBLIGATED_BELOW = "“{title}” has {disbursed} disbursed; this would leave only {obligated} obligated. Reverse disbursements first."


def _check_path(path, kind, obligated_change, disbursed_change, override, reversal=False):
    """The rules on the node and its ancestors after the change; returns whether it is over an allocation."""
    for row in path:
        obligated, disbursed = row.obligated + obligated_change, row.disbursed + disbursed_change
        if disbursed > obligated:
            message = (DISBURSED_BEYOND if kind == "disbursement" else OBLIGATED_BELOW).format(
                title=row.title, disbursed=format_pesos(disbursed), obligated=format_pesos(obligated))
            _fail({"reason" if reversal else "amount": [message]}, message)
    over = [row for row in path if obligated_change > 0 and row.obligated + obligated_change > row.allocated_budget]
    if over and not override:
        row = over[0]
        amount_over = row.obligated + obligated_change - row.allocated_budget
        message = (f"This would obligate {format_pesos(row.obligated + obligated_change)} on “{row.title}”, "
                   f"{format_pesos(amount_over)} beyond its allocation of {format_pesos(row.allocated_budget)}. "
                   "Tick “Obligate beyond the allocation” and give the reason to record it anyway.")
        _fail({"amount": [message]}, message)
    return bool(over)


NOT_TRACKED = "Money is recorded on the work items of a PPA with WorkItem tracking enabled."


def _refuse_untracked(item):
    """Why `item` takes no entries (its PPA untracked, or the item outside the PPA's tracked tree), as the
    field error — read only once the entry's INSERT found no tracked PPA to post to."""
    ppa = db.session.get(Ppa, item.ppa_id) if item.ppa_id is not None else None
    if ppa is None or not ppa.workitem_tracking_enabled:
        _fail({"work_item": [NOT_TRACKED]}, NOT_TRACKED)
    _fail({"work_item": ["This work item is not in the PPA's tracked tree."]})


def _insert_entry(row, root_id):
    """INSERT the entry only where its PPA is tracked with `root_id` as its execution project: the check and
    the write in one statement. Returns the new id, or None when the PPA refused it."""
    p = Ppa.__table__.c
    values = sa.select(*[sa.literal(value, entries_table.c[name].type).label(name) for name, value in row.items()]) \
        .where(p.id == row["ppa_id"], p.workitem_tracking_enabled.is_(True), p.execution_project_id == root_id)
    return db.session.scalar(sa.insert(entries_table).from_select(list(row), values).returning(entries_table.c.id))


# ------------------------------------------------------------------------------------------------- writes
def record_entry(item, actor, kind, amount, entry_date, reference, payee, reason=None, override=False):
    """Post an obligation, disbursement or adjustment on `item` (see the module's rules) and roll it up to the
    root, with its mirror tranche and its audit rows, in the caller's transaction. Returns the entry."""
    require(actor, "budget.record", item)
    values = clean_entry(kind, amount, entry_date, reference, payee, reason, override)
    return _post(item, actor, values, override)


def reverse_entry(entry, actor, reason):
    """Reverse `entry` with a new entry of the same kind and the opposite amount (reason required). An entry
    already reversed (or itself a reversal) is a Conflict naming who reversed it and when."""
    item = db.session.get(WorkItem, entry.work_item_id)
    if item is None:
        raise NotFound(f"The work item of ledger entry #{entry.id} is gone.")
    require(actor, "budget.record", item)
    errors = {}
    reason = _text(errors, "reason", reason, 500, required=True, label="The reason for the reversal")
    if errors:
        _fail(errors)
    if entry.reverses_id is not None:
        raise Conflict(f"Entry #{entry.id} is itself the reversal of entry #{entry.reverses_id}; it cannot be "
                       "reversed.")
    values = {"kind": entry.kind, "amount": -entry.amount, "entry_date": local_today(), "reference": entry.reference,
              "payee": entry.payee, "reason": reason}
    return _post(item, actor, values, override=False, reverses=entry)


def _already_reversed(entry_id):
    """(who, when) of the reversal of `entry_id`, or None — read inside the tree lock."""
    return db.session.execute(
        sa.select(_name(User).label("display_name"), entries_table.c.recorded_at)
        .select_from(entries_table.outerjoin(User.__table__, User.id == entries_table.c.recorded_by_id))
        .where(entries_table.c.reverses_id == entry_id)).first()


def _post(item, actor, values, override, reverses=None):
    if item.ppa_id is None:
        _fail({"work_item": [NOT_TRACKED]}, NOT_TRACKED)
    session = db.session
    locked = tree.lock(item)
    path = _path(locked, item.id)
    if reverses is not None:
        done = _already_reversed(reverses.id)
        if done is not None:
            raise Conflict(f"Entry #{reverses.id} was already reversed by {done.display_name or 'someone'} "
                           f"on {done.recorded_at:%d %b %Y %H:%M} UTC.", reversed_by=done.display_name)
    amount, kind = values["amount"], values["kind"]
    obligated_change = amount if kind in ("obligation", "adjustment") else ZERO
    disbursed_change = amount if kind == "disbursement" else ZERO
    over = _check_path(path, kind, obligated_change, disbursed_change, override, reversal=reverses is not None)
    now = utcnow()
    row = dict(values, work_item_id=item.id, ppa_id=item.ppa_id, organization_id=path[0].organization_id,
               reverses_id=reverses.id if reverses is not None else None, over_allocation=over,
               recorded_by_id=actor.id, recorded_at=now)
    entry_id = _insert_entry(row, path[-1].id)
    if entry_id is None:
        _refuse_untracked(item)
    tranche = {"ppa_id": item.ppa_id, "kind": TRANCHE_KIND[kind], "amount": amount, "tranche_date": values["entry_date"],
               "source": values["reference"], "remarks": _remarks(entry_id, values, reverses),
               "created_by_id": actor.id, "financial_entry_id": entry_id, "version": 1, "created_at": now,
               "updated_at": now}
    tranche_id = session.scalar(sa.insert(tranches_table).values(**tranche).returning(tranches_table.c.id))
    changes, params = {}, []
    for node in path:
        new = {"obligated": node.obligated + obligated_change, "disbursed": node.disbursed + disbursed_change}
        changes[node.id] = {name: (getattr(node, name), new[name]) for name in LEDGER_COLUMNS}
        params.append({"_id": node.id, "_obligated": new["obligated"], "_disbursed": new["disbursed"]})
    session.execute(_rollup_statement(), params)
    cause = f"derived from {kind} #{entry_id}" + (f" (reversal of #{reverses.id})" if reverses is not None else "")
    rows = (creation_entries(FinancialEntry, entry_id, row, version=None)
            + creation_entries(FundingTranche, tranche_id, tranche, cause=f"mirror of ledger entry #{entry_id}")
            + change_entries(WorkItem, changes, versions={node.id: node.version for node in path}, cause=cause))
    write_entries(rows, session.connection())
    expire_loaded(session, [node.id for node in path], LEDGER_COLUMNS + ("actual_expenditure",))
    entry = FinancialEntry(id=entry_id, **row)
    make_transient_to_detached(entry)
    session.add(entry)
    return entry


def _remarks(entry_id, values, reverses):
    parts = [f"Ledger entry #{entry_id}"]
    if reverses is not None:
        parts.append(f"reversal of #{reverses.id}")
    parts += [text for text in (values["payee"], values["reason"]) if text]
    return " · ".join(parts)


def _rollup_statement():
    return (sa.update(work_items).where(work_items.c.id == sa.bindparam("_id"))
            .values(obligated=sa.bindparam("_obligated", type_=work_items.c.obligated.type),
                    disbursed=sa.bindparam("_disbursed", type_=work_items.c.disbursed.type),
                    actual_expenditure=sa.bindparam("_disbursed", type_=work_items.c.actual_expenditure.type)))


# ------------------------------------------------------------------------------------------------- the check
@dataclass(frozen=True)
class Mismatch:
    ppa_id: int | None
    work_item_id: int | None
    what: str

    def __str__(self):
        where = f"PPA #{self.ppa_id}" if self.work_item_id is None else f"work item #{self.work_item_id}"
        return f"{where}: {self.what}"


def _sum_of(column, condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, column), else_=0)), 0)


def check_money(session=None):
    """Every mismatch between the ledger, the work items' roll-ups and the PPAs' tranches (an empty list when
    all agree), in two queries:
    - per node: obligated/disbursed = its own entries + its children's stored roll-ups (so, inductively, own +
      descendants' entries), and actual_expenditure = disbursed;
    - per PPA whose money lives on its tree (tracking enabled, or entries posted): the tree's totals (its
      roots) = the ledger's sums = the obligation / disbursement tranches. A PPA without tracking records its
      money on tranches only: there is nothing to compare. An obligation tranche recorded by hand on a tracked
      PPA (outside the ledger) is reported: it is money the tree does not know about."""
    session = session or db.session
    e, k = entries_table.c, aliased(work_items, name="k")
    own = (sa.select(e.work_item_id, _sum_of(e.amount, e.kind != "disbursement").label("o"),
                     _sum_of(e.amount, e.kind == "disbursement").label("d"))
           .group_by(e.work_item_id).subquery("own"))
    kids = (sa.select(k.c.parent_id, sa.func.sum(k.c.obligated).label("o"), sa.func.sum(k.c.disbursed).label("d"))
            .group_by(k.c.parent_id).subquery("kids"))
    w = work_items.c
    nodes = (sa.select(w.id, w.ppa_id, w.obligated, w.disbursed, w.actual_expenditure,
                       (sa.func.coalesce(own.c.o, 0) + sa.func.coalesce(kids.c.o, 0)).label("o"),
                       (sa.func.coalesce(own.c.d, 0) + sa.func.coalesce(kids.c.d, 0)).label("d"))
             .outerjoin(own, own.c.work_item_id == w.id).outerjoin(kids, kids.c.parent_id == w.id)
             .order_by(w.id))
    found = []
    for r in session.execute(nodes):
        for name, stored, expected in (("obligated", r.obligated, r.o), ("disbursed", r.disbursed, r.d)):
            if _money(stored) != _money(expected):
                found.append(Mismatch(r.ppa_id, r.id, f"{name} {_money(stored)} ≠ {_money(expected)} from the "
                                                      "ledger and its children"))
        if _money(r.actual_expenditure) != _money(r.disbursed):
            found.append(Mismatch(r.ppa_id, r.id, f"actual expenditure {_money(r.actual_expenditure)} ≠ disbursed "
                                                  f"{_money(r.disbursed)}"))
    roots = (sa.select(w.ppa_id, sa.func.sum(w.obligated).label("o"), sa.func.sum(w.disbursed).label("d"))
             .where(w.parent_id.is_(None), w.ppa_id.is_not(None)).group_by(w.ppa_id).subquery("roots"))
    ledger = (sa.select(e.ppa_id, _sum_of(e.amount, e.kind != "disbursement").label("o"),
                        _sum_of(e.amount, e.kind == "disbursement").label("d")).group_by(e.ppa_id).subquery("ledger"))
    t = tranches_table.c
    tranches = (sa.select(t.ppa_id, _sum_of(t.amount, t.kind == "obligation").label("o"),
                          _sum_of(t.amount, t.kind == "disbursement").label("d")).group_by(t.ppa_id)
                .subquery("tranches"))
    p = Ppa.__table__.c
    per_ppa = (sa.select(p.id, roots.c.o.label("tree_o"), roots.c.d.label("tree_d"), ledger.c.o.label("ledger_o"),
                         ledger.c.d.label("ledger_d"), tranches.c.o.label("tranche_o"), tranches.c.d.label("tranche_d"))
               .outerjoin(roots, roots.c.ppa_id == p.id).outerjoin(ledger, ledger.c.ppa_id == p.id)
               .outerjoin(tranches, tranches.c.ppa_id == p.id)
               .where(sa.or_(p.workitem_tracking_enabled, ledger.c.ppa_id.is_not(None))).order_by(p.id))
    for r in session.execute(per_ppa):
        for name, tree_total, ledger_total, tranche_total in (
                ("obligations", r.tree_o, r.ledger_o, r.tranche_o), ("disbursements", r.tree_d, r.ledger_d, r.tranche_d)):
            totals = (_money(tree_total), _money(ledger_total), _money(tranche_total))
            if len(set(totals)) > 1:
                found.append(Mismatch(r.id, None, f"{name}: tree {totals[0]}, ledger {totals[1]}, "
                                                  f"tranches {totals[2]}"))
    return found


def _money(value):
    """A stored sum as Decimal centavos (SQLite sums NUMERIC as a float: exact at these magnitudes once rounded)."""
    return Decimal(str(value)).quantize(CENT) if value is not None else ZERO
