"""Building whole subtrees at once: insert_many (structure templates, imports, the benchmark's bulk build).

Bounds (gaps.STEP apart, or closer to fit the free numbers after a parent's last child), depths and ids are
computed in memory; the rows go in one multi-row INSERT — on SQLite one prepared statement stepped by
executemany, on PostgreSQL the rows as one JSON document — after one shift only when there is no room.
"""
import json
from functools import cache

import sqlalchemy as sa

from ...audit.recording import storage_type
from ...database import is_sqlite
from ...db_types import utcnow
from . import gaps
from .locking import lock
from .session_sync import forget_structure
from .statements import run_write, shift_part
from .table import column_defaults, id_of, session_or_default, work_items


def insert_many(nodes, parent=None, check=None, locked=None, session=None):
    """Build whole subtrees fast: bounds computed in memory, then one multi-row INSERT.

    `nodes` is a list of dicts of WorkItem columns with an optional "children" list of the same shape.
    Under `parent` they become its last children (in the free numbers after the last child, or one gap opened
    for all); without a parent each top-level
    dict becomes the root of a new tree. Ids are reserved up front (a PostgreSQL sequence range; on SQLite
    max(id) under the write lock). `check(parent_node, nodes)` runs inside the lock. Returns the new ids
    in tree order (preorder).
    """
    session = session_or_default(session)
    sqlite = is_sqlite(session)
    total = count_nodes(nodes)
    if not total:
        return []
    if parent is not None:
        locked = locked or lock(parent, session=session)
        p = locked[id_of(parent)]
        if check is not None:
            check(p, nodes)
        kids = locked.kids[p.id]
        lo, hi = kids[-1].rgt if kids else p.lft, p.rgt
        step = gaps.step_for(lo, hi, 2 * total)
        if not step:  # no room after the last child: open a gap wide enough for the block and more
            step = gaps.STEP
            width = gaps.opening(2 * total * step)
            run_write(session, [shift_part(locked, True, p.tree_id, hi, width)])
        start, depth, tree_id, parent_id = lo + step, p.depth + 1, p.tree_id, p.id
        inherited = {"ppa_id": p.ppa_id, "organization_id": p.organization_id}
    else:
        session.flush()
        if sqlite:  # take the write lock before reading max(id)
            session.execute(sa.update(work_items).where(sa.false()).values(id=work_items.c.id))
        start, step, depth, tree_id, parent_id, inherited = 1, gaps.STEP, 0, None, None, {}
    ids = _reserve_ids(session, total, sqlite)
    rows = _number(nodes, ids, start, step, depth, tree_id, parent_id, inherited)
    base = dict(column_defaults(), created_at=utcnow(), version=1)
    base["updated_at"] = base["created_at"]
    if sqlite:
        _sqlite_insert(session, rows, base)
    else:  # one statement: the rows as one JSON document (psycopg's executemany would send N INSERTs)
        given = frozenset().union(*rows)
        session.execute(_json_insert_statement(given), {
            "_rows": json.dumps(rows, default=str),
            **{f"_c_{key}": value for key, value in base.items() if key not in given or value is not None}})
    if parent is not None:
        forget_structure(session, {tree_id})
    return [row["id"] for row in rows]


def _sqlite_insert(session, rows, base):
    """SQLite: one prepared INSERT stepped by sqlite3's executemany, the rows as tuples converted by the
    columns' own bind processors (computed once, not per row and value as a Core executemany would)."""
    connection = session.connection()
    sql, keys, processors = _sqlite_insert_plan(connection.dialect)
    process = dict(zip(keys, processors, strict=True))

    def stored(key, value):
        convert = process[key]
        return value if convert is None or value is None else convert(value)

    stored_base = {key: stored(key, value) for key, value in base.items()}  # the shared values, once
    params = []
    for row in rows:
        values = stored_base.copy()
        for key, value in row.items():
            values[key] = stored(key, value)
        params.append(tuple([values[key] for key in keys]))
    connection.exec_driver_sql(sql, params)


@cache
def _sqlite_insert_plan(dialect):
    compiled = sa.insert(work_items).values({column.key: sa.bindparam(column.key) for column in work_items.columns}).compile(
        dialect=dialect)
    keys = list(compiled.positiontup)
    processors = [work_items.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys]
    return str(compiled), keys, processors


@cache
def _json_insert_statement(given):
    """INSERT INTO work_items (…) SELECT v.id, …, :_c_priority, … FROM json_to_recordset(:_rows) AS v(id
    integer, …) (PostgreSQL). Only the `given` columns (some row has them) travel in the JSON; the others
    are one bound value each (default, timestamp), and a given column missing from a row takes its default."""
    keys = [column.key for column in work_items.columns]
    source = (sa.func.json_to_recordset(sa.cast(sa.bindparam("_rows", type_=sa.Text), sa.JSON))
              .table_valued(*[sa.column(column.key, storage_type(column)) for column in work_items.columns
                              if column.key in given])
              .render_derived(name="v", with_types=True))
    defaults = dict(column_defaults(), created_at=True, updated_at=True, version=1)

    def value(column):
        constant = sa.bindparam(f"_c_{column.key}", type_=column.type)
        if column.key not in given:
            return constant
        return source.c[column.key] if defaults[column.key] is None else sa.func.coalesce(source.c[column.key],
                                                                                          constant)

    return sa.insert(work_items).from_select(keys, sa.select(*[value(column) for column in work_items.columns]))


def count_nodes(nodes):
    """How many nodes a nested structure (as for insert_many) holds."""
    return sum(1 + count_nodes(node.get("children", ())) for node in nodes)


def _reserve_ids(session, n, sqlite):
    if sqlite:
        first = (session.scalar(sa.select(sa.func.max(work_items.c.id))) or 0) + 1
        return list(range(first, first + n))
    sequence = sa.func.pg_get_serial_sequence(work_items.name, "id")
    numbers = sa.func.array_agg(sa.func.nextval(sequence))  # one row, whatever n
    return sorted(session.scalar(sa.select(numbers).select_from(sa.func.generate_series(1, n))))


def _number(nodes, ids, start, step, depth, tree_id, parent_id, inherited):
    """Preorder rows — each node's own fields with id, tree_id, parent_id, lft, rgt (bounds `step` apart from
    `start`), depth assigned and ppa_id/organization_id inherited — ids consumed in preorder. No defaults:
    see insert_many."""
    rows, counter = [], iter(ids)
    known = column_defaults().keys()

    def visit(node, position, level, tree, parent_key, inherited):
        row = {k: v for k, v in node.items() if k != "children"}
        if not known >= row.keys():
            raise ValueError(f"unknown work item fields: {sorted(row.keys() - known)}")
        row.update(inherited)
        row["id"] = node_id = next(counter)
        row.update(tree_id=tree if tree is not None else node_id, parent_id=parent_key, lft=position, depth=level)
        rows.append(row)
        position += step
        passed_down = {"ppa_id": row.get("ppa_id"), "organization_id": row.get("organization_id")}
        for child in node.get("children", ()):
            position = visit(child, position, level + 1, row["tree_id"], node_id, passed_down)
        row["rgt"] = position
        return position + step

    position = start
    for node in nodes:
        position = visit(node, position, depth, tree_id, parent_id, inherited)
        if tree_id is None:
            position = 1
    return rows

