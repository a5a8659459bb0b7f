"""Keeping loaded objects true after a write that went around the ORM (set-based UPDATE/DELETE/INSERT).

The one place that walks the session's identity map:

    forget_structure(session, {tree_id})                       # after a shift/move: bounds of loaded items
    forget_structure(session, {tree_id}, deleted=(tree_id, lft, rgt))   # after a delete: expunge the gone
    expire_loaded(session, [12, 13], ("allocated_budget", "version"))  # after an UPDATE of known rows
"""
import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..models import WorkItem
from .table import STRUCTURE_ATTRIBUTES, work_items


def forget_structure(session, tree_ids=None, deleted=None, keep=None):
    """Forget the structural attributes of loaded WorkItems (of the given trees) and drop the deleted ones
    (deleted = (tree_id, lft, rgt) of a removed subtree; objects whose bounds are not loaded are looked up,
    one query, only when there are such). `keep`: an object just written whose attributes are right."""
    unsure = []
    for state in list(session.identity_map.all_states()):
        obj = state.obj()
        if state.class_ is not WorkItem or obj is None or obj is keep:
            continue
        loaded = state.dict
        if tree_ids is not None and "tree_id" in loaded and loaded["tree_id"] not in tree_ids:
            continue
        if deleted is not None:
            if "tree_id" not in loaded or "lft" not in loaded:
                unsure.append(obj)
                continue
            if loaded["tree_id"] == deleted[0] and deleted[1] <= loaded["lft"] <= deleted[2]:
                session.expunge(obj)
                continue
        if not loaded.keys().isdisjoint(STRUCTURE_ATTRIBUTES):  # else nothing to forget (e.g. after a commit)
            session.expire(obj, STRUCTURE_ATTRIBUTES)
    if unsure:
        ids = [sa.inspect(obj).identity[0] for obj in unsure]
        remaining = set(session.scalars(sa.select(work_items.c.id).where(work_items.c.id.in_(ids))))
        for obj, node_id in zip(unsure, ids, strict=True):
            if node_id in remaining:
                session.expire(obj, STRUCTURE_ATTRIBUTES)
            else:
                session.expunge(obj)


def expire_loaded(session, ids, attributes, model=WorkItem):
    """Expire `attributes` of the loaded `model` objects with these ids (rows a statement rewrote); objects
    not in the session are left alone. No query."""
    for object_id in ids:
        obj = session.identity_map.get(identity_key(model, object_id))
        if obj is not None:
            session.expire(obj, list(attributes))


def set_loaded(obj, **values):
    """Set attributes as loaded from the database (no change to flush)."""
    for key, value in values.items():
        set_committed_value(obj, key, value)


def make_persistent(session, item, values):
    """Make a transient item persistent with `values` as its loaded state (the row was just inserted)."""
    item.__dict__.update(values)
    make_transient_to_detached(item)
    session.add(item)
