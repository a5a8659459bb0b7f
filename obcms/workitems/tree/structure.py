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
from .locking import lock
from .session_sync import forget_structure, make_persistent, set_loaded
from .statements import delete_part, move_across_part, move_within_parts, run_write, shift_part
from .table import column_defaults, id_of, session_or_default, work_items


@dataclass(frozen=True)
class Moved:
    """What a move changed, for the roll-ups of both ends."""

    node_id: int
    old_parent_id: int | None
    new_parent_id: int | None
    old_tree_id: int
    new_tree_id: int


def _position(locked, parent_id, before_id):
    """(parent row, position) for 'last child of parent' or 'before its child `before_id`'."""
    parent = locked[parent_id]
    if before_id is None:
        return parent, parent.rgt
    for kid in locked.kids[parent_id]:
        if kid.id == before_id:
            return parent, kid.lft
    raise ValidationFailed(f"Work item #{before_id} is not a child of '{parent.title}'.",
                           errors={"before": ["Choose a sibling under the new parent."]})


def create_root(item, session=None):
    """Insert `item` (transient) as the root of a new tree: lft 1, rgt 2, depth 0, tree_id = its id."""
    session = session_or_default(session)
    item.parent_id, item.lft, item.rgt, item.depth, item.tree_id = None, 1, 2, 0, 0
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
    p, at = _position(locked, id_of(parent), id_of(before))
    if check is not None:
        check(p)
    shift = shift_part(locked, True, p.tree_id, at, 2, rollup_values)
    values = _row_values(item, tree_id=p.tree_id, parent_id=p.id, lft=at, rgt=at + 1, depth=p.depth + 1,
                         ppa_id=p.ppa_id, organization_id=p.organization_id)
    rows = creation_entries(WorkItem, None, values) + list(entries or ())
    values["id"] = run_write(session, [shift], rows, new_row=values)
    make_persistent(session, item, values)
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
    its descendants is refused. `locked`: what lock(node, parent, height_of=node) returned, when the caller
    locked already; `rollup_values`: roll-up values of old and new ancestors for the same UPDATE;
    `entries`: the operation's audit rows, written with it. Returns a Moved.
    """
    session = session_or_default(session)
    locked = locked or lock(node, parent, height_of=node, session=session)
    n = locked[id_of(node)]
    if before is not None and id_of(before) == n.id:
        raise ValidationFailed("A work item cannot be placed before itself.",
                               errors={"before": ["Pick another sibling."]})
    if parent is None:
        if check is not None:
            check(n, None)
        parts = [move_across_part(locked, n, None, 1, rollup_values)] if n.parent_id is not None else []
        moved = Moved(n.id, n.parent_id, None, n.tree_id, n.id)
    else:
        p, at = _position(locked, id_of(parent), id_of(before))
        if p.tree_id == n.tree_id and n.lft <= p.lft <= n.rgt:
            raise ValidationFailed(f"'{n.title}' cannot be moved under itself or one of its own descendants.",
                                   errors={"parent": ["Choose a parent outside the moved subtree."]})
        if check is not None:
            check(n, p)
        if p.tree_id == n.tree_id:
            parts = move_within_parts(locked, n, p, at, rollup_values)
        else:
            parts = [move_across_part(locked, n, p, at, rollup_values)]
        moved = Moved(n.id, n.parent_id, p.id, n.tree_id, p.tree_id)
    run_write(session, parts, entries)
    forget_structure(session, {moved.old_tree_id, moved.new_tree_id})
    return moved


def delete_subtree(node, check=None, locked=None, rollup_values=None, entries=None, session=None):
    """Delete `node` and its whole subtree; returns its LockedNode read inside the lock (`.size` nodes went,
    `.parent_id` needs its roll-ups). `check(node)` runs inside the lock first. `locked`: what lock(node)
    returned, when the caller locked already; `rollup_values`: roll-up values of its ancestors for the
    UPDATE that closes the gap; `entries`: the operation's audit rows, written with it."""
    session = session_or_default(session)
    locked = locked or lock(node, session=session)
    n = locked[id_of(node)]
    if check is not None:
        check(n)
    parts = [delete_part(n)]
    if n.parent_id is not None:
        parts.append(shift_part(locked, False, n.tree_id, n.rgt, n.rgt - n.lft + 1, rollup_values))
    elif rollup_values:
        raise ValueError("a deleted root has no ancestors to roll up")
    run_write(session, parts, entries)
    forget_structure(session, {n.tree_id}, deleted=(n.tree_id, n.lft, n.rgt))
    return n
