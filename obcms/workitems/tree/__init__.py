"""All nested-set arithmetic of the work-breakdown tree. Nothing outside this package reads or writes
lft/rgt/depth/tree_id.

A tree is every node with the same `tree_id` (= its root's id). A node's interval [lft, rgt] encloses exactly
its subtree; the bounds keep free numbers between them (gaps.py), so most writes shift nothing. The
package, one job per module:

    table.py         the work_items table, the structural attributes, id_of(node), column defaults
    gaps.py          where new bounds go: place, new_span, opening, step_for
    locking.py       lock, lock_trees, lock_all_trees, read_families → LockedFamilies (LockedNode, LockedChild)
    statements.py    the translate/roll-up/shift/move/delete statements and run_write (one statement on
                     PostgreSQL)
    structure.py     create_root, insert, move_subtree, delete_subtree (the mechanics, without the rules)
    bulk.py          insert_many, count_nodes
    reads.py         descendants, ancestors, children, siblings, subtree_rows/nested, children_rows, position,
                     size_column, subtree_size, nested_selection, exists
    repair.py        check_integrity, rebuild
    session_sync.py  bringing loaded WorkItems up to date after a write that went around the ORM

Other code reads through the names below (`from obcms.workitems import tree; tree.descendants(node)`) and
writes through obcms.workitems.services — one call per operation (create, update, move, delete,
set_allocations, build_tree) that does the locking, rules, roll-ups and audit rows in order.
"""
from .bulk import count_nodes, insert_many
from .locking import LockedChild, LockedFamilies, LockedNode, lock, lock_all_trees, lock_trees, read_families
from .reads import (
    TREE_LOAD,
    ancestors,
    children,
    children_rows,
    descendants,
    exists,
    has_children,
    nest,
    nested_selection,
    position,
    siblings,
    size_column,
    subtree_nested,
    subtree_rows,
    subtree_size,
)
from .repair import check_integrity, rebuild
from .structure import Moved, create_root, delete_subtree, insert, move_subtree
from .table import STRUCTURE_ATTRIBUTES, id_of

__all__ = [
    "STRUCTURE_ATTRIBUTES", "TREE_LOAD", "LockedChild", "LockedFamilies", "LockedNode", "Moved", "ancestors",
    "check_integrity", "children", "children_rows", "count_nodes", "create_root", "delete_subtree", "descendants",
    "exists", "has_children", "id_of", "insert", "insert_many", "lock", "lock_all_trees", "lock_trees",
    "move_subtree", "nest", "nested_selection", "position", "read_families", "rebuild", "siblings", "size_column", "subtree_nested", "subtree_rows", "subtree_size",
]
