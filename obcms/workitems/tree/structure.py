"""Structural writes of one node and its subtree: create_root, insert, move_subtree, delete_subtree.

Each locks the tree(s) it touches (or takes the caller's `locked` read, see locking.lock), judges `check`
on the rows read inside the lock, builds its statements (statements.py) and runs them with the operation's
audit rows (`entries`) and the ancestors' roll-up values (`rollup_values`, from rollup.RollupPlan), then
brings the loaded WorkItems up to date (session_sync). These are the tree's mechanics without the rules;
obcms.workitems.services holds the one write call per operation that other code uses.

    item = insert(WorkItem(title="Survey", work_type="task"), parent=activity)      # last child
    insert(WorkItem(...), parent=activity, before=some_task)                        # before a sibling
    move_subtree(activity, parent=other_project)                                    # across trees
    move_subtree(task, parent=activity, before=first_task)                          # reorder
    move_subtree(task)                                                              # its own tree
    delete_subtree(activity)                                                        # → its LockedNode
"""
from dataclasses import dataclass

import sqlalchemy as sa

from ...audit.recording import creation_entries
from ...db_types import utcnow
from ...errors import ValidationFailed
from ..models import WorkItem
from . import gaps
from .locking import lock
from .session_sync import forget_structure, make_persistent, set_loaded
from .statements import (
    delete_part,
    move_within_parts,
    rollup_part,
    run_write,
    shift_part,
    translate_part,
)
from .table import column_defaults, id_of, session_or_default, work_items


@dataclass(frozen=True)
class Moved:
    """What a move changed, for the roll-ups of both ends."""

    node_id: int
    old_parent_id: int | None
    new_parent_id: int | None
    old_tree_id: int
    new_tree_id: int


def _slot(locked, parent_id, before_id):
    """(parent row, lo, hi, previous sibling id) for 'last child of parent' or 'before its child
    `before_id`': the new place lies strictly between the bounds lo and hi."""
    parent = locked[parent_id]
    kids = locked.kids[parent_id]
    if before_id is None:
        last = kids[-1] if kids else None
        return parent, last.rgt if last else parent.lft, parent.rgt, last.id if last else None
    for i, kid in enumerate(kids):
        if kid.id == before_id:
            previous = kids[i - 1] if i else None
            return parent, previous.rgt if previous else parent.lft, kid.lft, previous.id if previous else None
    raise ValidationFailed(f"Work item #{before_id} is not a child of '{parent.title}'.",
                           errors={"before": ["Choose a sibling under the new parent."]})


def create_root(item, session=None):
    """Insert `item` (transient) as the root of a new tree: lft 1, rgt ROOT_SPAN, depth 0, tree_id = its id."""
    session = session_or_default(session)
    item.parent_id, item.lft, item.rgt, item.depth, item.tree_id = None, 1, gaps.ROOT_SPAN, 0, 0
    session.add(item)
    session.flush()
    session.execute(sa.update(work_items).where(work_items.c.id == item.id).values(tree_id=work_items.c.id))
    set_loaded(item, tree_id=item.id)
    return item


def insert(item, parent, before=None, check=None, locked=None, rollup_values=None, entries=None, session=None):
    """Insert `item` (transient) as the last child of `parent`, or just before its child `before`.

    `ppa_id` and `organization_id` are copied from the parent (so from the root). `check(parent_node)` runs
    inside the lock before anything is written. `locked`: what lock(parent) returned, when the caller
    locked already (to reuse the read for roll-ups); `rollup_values`: roll-up values of ancestors for the
    same UPDATE (rollup.RollupPlan.write_with). The row is written by an INSERT of its own (not the ORM's
    flush) and the item becomes persistent; its audit rows (as the flush listener would write them) and
    `entries` (the operation's other audit rows; NEW_ID names the new row) are written with it
    (statements.run_write). Returns the item. Relationships (assignees) are not written: set them after.
    """
    if parent is None:
        return create_root(item, session)
    session = session_or_default(session)
    if item in session:
        session.expunge(item)
    locked = locked or lock(parent, session=session)
    p, lo, hi, _ = _slot(locked, id_of(parent), id_of(before))
    if check is not None:
        check(p)
    lft = gaps.place(lo, hi, gaps.new_span(lo, hi))
    shifted = lft is None
    if shifted:  # no free number here: open a gap (the ancestors' roll-ups ride along)
        width = gaps.opening(1)
        parts = [shift_part(locked, True, p.tree_id, hi, width, rollup_values)]
        hi += width
        lft = gaps.place(lo, hi, gaps.new_span(lo, hi))
    else:
        parts = rollup_part(locked, rollup_values)
    values = _row_values(item, tree_id=p.tree_id, parent_id=p.id, lft=lft, rgt=lft + gaps.new_span(lo, hi),
                         depth=p.depth + 1, ppa_id=p.ppa_id, organization_id=p.organization_id)
    rows = creation_entries(WorkItem, None, values) + list(entries or ())
    values["id"] = run_write(session, parts, rows, new_row=values)
    make_persistent(session, item, values)
    if shifted:
        forget_structure(session, {p.tree_id}, keep=item)
    return item


def _row_values(item, **structure):
    """Every column of a new row: the item's values, else what an ORM insert would give (defaults)."""
    now = utcnow()
    given = sa.inspect(item).dict
    values = {}
    for key, default in column_defaults().items():
        value = given.get(key)
        values[key] = default if value is None else value
    del values["id"]
    values.update(structure, version=1)
    if values["created_at"] is None:
        values["created_at"] = now
    if values["updated_at"] is None:
        values["updated_at"] = now
    return values


def move_subtree(node, parent=None, before=None, check=None, locked=None, rollup_values=None, entries=None,
                 session=None):
    """Move `node` with its subtree: as last child of `parent`, before `parent`'s child `before`, or — with
    no parent — to the root level (it becomes its own tree). Across trees, both are locked in id order and
    the moved nodes take the new root's PPA and organization.

    `check(node, parent or None)` (LockedNodes) runs inside the lock. Moving a node under itself or one of
    its descendants is refused. `locked`: what lock(node, parent, measure=node) returned, when the caller
    locked already; `rollup_values`: roll-up values of old and new ancestors for the same UPDATE;
    `entries`: the operation's audit rows, written with it. Returns a Moved.
    """
    session = session_or_default(session)
    locked = locked or lock(node, parent, measure=node, session=session)
    n = locked[id_of(node)]
    if before is not None and id_of(before) == n.id:
        raise ValidationFailed("A work item cannot be placed before itself.",
                               errors={"before": ["Pick another sibling."]})
    if parent is None:
        if check is not None:
            check(n, None)
        parts = [translate_part(locked, n, None, 1, rollup_values)] if n.parent_id is not None else []
        moved = Moved(n.id, n.parent_id, None, n.tree_id, n.id)
    else:
        p, lo, hi, previous = _slot(locked, id_of(parent), id_of(before))
        if p.tree_id == n.tree_id and n.lft <= p.lft <= n.rgt:
            raise ValidationFailed(f"'{n.title}' cannot be moved under itself or one of its own descendants.",
                                   errors={"parent": ["Choose a parent outside the moved subtree."]})
        if check is not None:
            check(n, p)
        lft = gaps.place(lo, hi, n.rgt - n.lft)
        if previous == n.id:  # it is there already
            if rollup_values:
                raise ValueError("roll-up values given for a move that changes nothing")
            parts = []
        elif lft is not None:  # into free numbers: only the subtree is rewritten
            parts = [translate_part(locked, n, p, lft, rollup_values)]
        elif p.tree_id == n.tree_id:  # no room: it changes places with the nodes in between
            parts = move_within_parts(locked, n, p, hi, rollup_values)
        else:  # no room: a gap opens in the other tree, and the subtree goes into it
            width = gaps.opening(n.rgt - n.lft)
            there = {i: v for i, v in (rollup_values or {}).items() if locked[i].tree_id == p.tree_id}
            here = {i: v for i, v in (rollup_values or {}).items() if i not in there}
            parts = [shift_part(locked, True, p.tree_id, hi, width, there, prefix="_b"),  # one statement on PG
                     translate_part(locked, n, p, gaps.place(lo, hi + width, n.rgt - n.lft), here)]
        moved = Moved(n.id, n.parent_id, p.id, n.tree_id, p.tree_id)
    run_write(session, parts, entries)
    forget_structure(session, {moved.old_tree_id, moved.new_tree_id})
    return moved


def delete_subtree(node, check=None, locked=None, rollup_values=None, entries=None, session=None):
    """Delete `node` and its whole subtree; returns its LockedNode read inside the lock (`.size` nodes went,
    `.parent_id` needs its roll-ups). `check(node)` runs inside the lock first. `locked`: what
    lock(node, measure=node) returned, when the caller locked already; `rollup_values`: roll-up values of its
    ancestors, written with the DELETE; `entries`: the operation's audit rows, written with it."""
    session = session_or_default(session)
    locked = locked or lock(node, measure=node, session=session)
    n = locked[id_of(node)]
    if check is not None:
        check(n)
    parts = [delete_part(n)]  # its numbers stay free for later inserts
    if n.parent_id is not None:
        parts += rollup_part(locked, rollup_values)
    elif rollup_values:
        raise ValueError("a deleted root has no ancestors to roll up")
    run_write(session, parts, entries)
    forget_structure(session, {n.tree_id}, deleted=(n.tree_id, n.lft, n.rgt))
    return n
