"""The work_items table as the tree code addresses it: the table, the structural attributes, how a node
argument (a WorkItem, an id or None) becomes an id, and the column defaults of a new row."""
from functools import cache

import sqlalchemy as sa

from ...extensions import db
from ..models import WorkItem

work_items = WorkItem.__table__

# Attributes a structural write may change on rows other than the one it was given.
STRUCTURE_ATTRIBUTES = ("tree_id", "lft", "rgt", "depth", "parent_id", "version", "ppa_id", "organization_id",
                        "updated_at", "parent")


def session_or_default(session):
    """The given session, else the application's (db.session)."""
    return session or db.session


def id_of(node):
    """The id of `node`: a WorkItem (its identity, without loading anything), an int, or None."""
    if node is None or isinstance(node, int):
        return node
    identity = sa.inspect(node).identity
    return identity[0] if identity else node.id


def int_param(name):
    """An integer bound parameter (the statements are built once and bound per call)."""
    return sa.bindparam(name, type_=sa.BigInteger)


@cache
def column_defaults():
    """Every column with the value an ORM insert would give it (the timestamps are set per call)."""
    return {column.key: (column.default.arg if column.default is not None and column.default.is_scalar else None)
            for column in work_items.columns}
