"""The set-based statements of a structural write and the one runner that sends them.

A write is a list of parts — (statement, params) — built here from what lock() read: carry a subtree into
free numbers, in its tree or another (translate_part); where there are none, open a gap (shift_part) or
rotate a subtree with its neighbours (move_within_parts); delete a subtree (delete_part);
give the ancestors their roll-ups alone (rollup_part). Each UPDATE may also give some rows (the ancestors,
which must be locked) their new roll-up values (`rollup_values`: {id: {column: value}} for
ROLLUP_COLUMNS), so a container is written once per operation. run_write sends the parts with the new row (if any) and the operation's
audit rows: on PostgreSQL as ONE statement (data-modifying CTEs of the audit INSERT), elsewhere one
statement each.

A version moves only where something a person sees changed — the moved node (its parent or position) and
the rows taking roll-up values —, never because a write renumbered the bounds.
"""
import json
from functools import cache

import sqlalchemy as sa

from ...audit.recording import fill_new_id, json_insert, json_params, write_entries
from ...db_types import utcnow
from .table import int_param, work_items

# Roll-up columns a structural UPDATE also sets on the rows given `rollup_values` (see rollup.RollupPlan).
ROLLUP_COLUMNS = ("progress", "status", "completed_at")


def _touched(condition):
    """SET clauses: version + 1 and updated_at = :_now (bound by _part, as a statement run inside a CTE gets no
    onupdate default) on the rows where `condition` holds — a field a person sees changed there (the node
    that moved: its parent or position; an ancestor: its roll-ups). The rows a write only renumbers keep
    their version, so a colleague's insert elsewhere in the tree is never an edit conflict."""
    column = work_items.c
    return {"version": sa.case((condition, column.version + 1), else_=column.version),
            "updated_at": sa.case((condition, sa.bindparam("_now", type_=column.updated_at.type)),
                                  else_=column.updated_at)}


def _rollup_ids(k, prefix="_a"):
    return [int_param(f"{prefix}{i}") for i in range(k)]


def _rollup_assignments(k, prefix="_a"):
    """SET clauses giving `k` rows (ids bound as _a0 …) their own values of the ROLLUP_COLUMNS (bound as
    _a0p, _a0s, … — short names keep the statement short enough for psycopg's query cache). Two parts of
    one write that both carry roll-ups use two prefixes: on PostgreSQL they are sent as ONE statement, with
    one set of parameters."""
    ids = _rollup_ids(k, prefix)
    column = work_items.c
    return {name: sa.case(*[(column.id == ids[i], sa.bindparam(f"{prefix}{i}{name[0]}", type_=column[name].type))
                            for i in range(k)], else_=column[name])
            for name in (ROLLUP_COLUMNS if k else ())}


def _rollup_params(rollup_values, prefix="_a"):
    params = {}
    for i, (row_id, values) in enumerate(rollup_values.items()):
        params[f"{prefix}{i}"] = row_id
        for name in ROLLUP_COLUMNS:
            params[f"{prefix}{i}{name[0]}"] = values[name]
    return params


def _part(locked, statement, params, rollup_values, moved_id=None, prefix="_a"):
    """One structural statement of a write, as (statement, params); the `rollup_values` rows (which must be
    locked) take their roll-ups. Remembers which locked rows it gives a new version (LockedFamilies.bumped):
    the `rollup_values` rows and the moved node."""
    rollup_values = rollup_values or {}
    for row_id in rollup_values:
        if row_id not in locked.rows:
            raise ValueError(f"roll-up values for #{row_id}, which the tree write did not lock")
    locked.bumped |= set(rollup_values) | ({moved_id} if moved_id is not None else set())
    return statement, {**params, **_rollup_params(rollup_values, prefix), "_now": utcnow()}


def run_write(session, parts, entries=None, new_row=None):
    """Run a tree write: the structural statements `parts` ([(statement, params)]), the INSERT of `new_row`
    (its column values) if given, and the audit rows `entries` (they may name the new row: NEW_ID).

    PostgreSQL: ONE statement, the writes as data-modifying CTEs of the audit INSERT (they touch different
    rows), sent on the connection (the status guard watches UPDATEs through the session; roll-ups run
    under derived_status anyway). Elsewhere one statement each, through the session. Returns the new
    row's id (None without a new row)."""
    entries = entries or []
    connection = session.connection()
    if connection.dialect.name != "sqlite" and (entries or new_row is not None or len(parts) > 1):
        params = {key: value for _, part_params in parts for key, value in part_params.items()}
        params.update(json_params(entries))
        if new_row is not None:
            params["_row"] = json.dumps(new_row, default=str)
        result = connection.execute(_combined(tuple(statement for statement, _ in parts), new_row is not None),
                                    params)
        return result.first()[0] if new_row is not None else None
    for statement, params in parts:
        session.execute(statement, params)
    new_id = None
    if new_row is not None:
        new_id = session.execute(_insert_statement(), new_row).inserted_primary_key[0]
        fill_new_id(entries, new_id)
    write_entries(entries, connection)
    return new_id


@cache
def _insert_statement():
    return sa.insert(work_items)


@cache
def _combined(statements, with_new_row):
    """WITH w0 AS (UPDATE/DELETE …), [new_row AS (INSERT INTO work_items … FROM json_to_record(:_row))]
    INSERT INTO audit_entries … FROM json_to_recordset(:_audit)."""
    ctes = [statement.cte(f"w{i}") for i, statement in enumerate(statements)]  # no RETURNING: nothing kept
    if not with_new_row:
        return json_insert().add_cte(*ctes)
    keys = [column.key for column in work_items.columns if column.key != "id"]
    record = sa.literal_column("NULL::work_items")  # the table's row type: the JSON needs no column list
    source = (sa.func.json_populate_record(record, sa.cast(sa.bindparam("_row", type_=sa.Text), sa.JSON))
              .table_valued(*keys).alias("n"))
    new_row = (sa.insert(work_items).from_select(keys, sa.select(*[source.c[key] for key in keys]))
               .returning(work_items.c.id).cte("new_row"))
    return json_insert(new_row.c.id).add_cte(*ctes).returning(sa.select(new_row.c.id).scalar_subquery())


@cache
def _gap_statement(opening, k, prefix="_a"):
    """Open (`opening`) or close a gap of _width positions at _at in tree _tree; `k` of the shifted rows
    (ancestors) take roll-up values and a new version, the others only new bounds."""
    column = work_items.c
    tree, at, width = int_param("_tree"), int_param("_at"), int_param("_width")
    if opening:
        where, rgt = column.rgt >= at, column.rgt + width
        lft = sa.case((column.lft >= at, column.lft + width), else_=column.lft)
    else:
        where, rgt = column.rgt > at, column.rgt - width
        lft = sa.case((column.lft > at, column.lft - width), else_=column.lft)
    # updated_at = updated_at: renumbering is no edit (and the ORM onupdate default must not fire)
    touched = _touched(column.id.in_(_rollup_ids(k, prefix))) if k else {"updated_at": column.updated_at}
    return sa.update(work_items).where(column.tree_id == tree, where).values(lft=lft, rgt=rgt, **touched,
                                                                        **_rollup_assignments(k, prefix))


def shift_part(locked, opening, tree_id, at, width, rollup_values=None, prefix="_a"):
    """The part that makes room for `width` positions at `at` (opening: everything at or after it moves
    right), or closes the `width` positions a removed subtree left after `at` (everything after it moves
    left). `rollup_values` rows must be among the shifted (the ancestors of the place are); `prefix` names
    their parameters (another part of the same write carrying roll-ups takes the default)."""
    def shifted(r):
        return r.tree_id == tree_id and (r.rgt >= at if opening else r.rgt > at)

    for row_id in rollup_values or ():
        if row_id in locked.rows and not shifted(locked[row_id]):
            raise ValueError(f"#{row_id} is not shifted by this write; its roll-up cannot ride along")
    return _part(locked, _gap_statement(opening, len(rollup_values or ()), prefix),
                 {"_tree": tree_id, "_at": at, "_width": width}, rollup_values, prefix=prefix)


def move_within_parts(locked, n, p, at, rollup_values):
    """[One UPDATE]: the subtree of `n` jumps to `at` under `p` (LockedNodes), the nodes in between slide by
    its width (and the `rollup_values` rows, wherever they are, take their roll-ups). [] when the node is
    already in place."""
    lft, rgt, width = n.lft, n.rgt, n.rgt - n.lft + 1
    if lft <= at <= rgt + 1:  # it is the last child already, or `before` is its next sibling
        if rollup_values:
            raise ValueError("roll-up values given for a move that changes nothing")
        return []
    if at > rgt:
        shift, lo, hi, others = at - rgt - 1, rgt + 1, at - 1, -width
    else:
        shift, lo, hi, others = at - lft, at, lft - 1, width
    low, high = min(lo, lft), max(hi, rgt)
    return [_part(locked, _move_within_statement(len(rollup_values or ())), {
        "_tree": n.tree_id, "_lft": lft, "_rgt": rgt, "_lo": lo, "_hi": hi, "_low": low, "_high": high,
        "_shift": shift, "_others": others, "_depth": p.depth + 1 - n.depth, "_node": n.id, "_parent": p.id},
        rollup_values, moved_id=n.id)]


@cache
def _move_within_statement(k):
    column = work_items.c
    lft, rgt, lo, hi, low, high = (int_param(x) for x in ("_lft", "_rgt", "_lo", "_hi", "_low", "_high"))
    where = sa.and_(column.tree_id == int_param("_tree"),
                    sa.or_(column.lft.between(low, high), column.rgt.between(low, high)))
    if k:  # ancestors above the span (whose bounds stay) take roll-ups too
        where = sa.or_(where, column.id.in_(_rollup_ids(k)))
    return sa.update(work_items).where(where).values(
        lft=column.lft + sa.case((column.lft.between(lft, rgt), int_param("_shift")),
                            (column.lft.between(lo, hi), int_param("_others")), else_=0),
        rgt=column.rgt + sa.case((column.rgt.between(lft, rgt), int_param("_shift")),
                            (column.rgt.between(lo, hi), int_param("_others")), else_=0),
        depth=column.depth + sa.case((column.lft.between(lft, rgt), int_param("_depth")), else_=0),
        parent_id=sa.case((column.id == int_param("_node"), int_param("_parent")), else_=column.parent_id),
        **_touched(sa.or_(column.id == int_param("_node"), column.id.in_(_rollup_ids(k)))), **_rollup_assignments(k))


@cache
def _rollup_statement(k):
    """The `k` rows (ids bound as _a0 …) take their roll-ups and a new version; nothing else changes."""
    ids = _rollup_ids(k)
    return sa.update(work_items).where(work_items.c.id.in_(ids)).values(
        **_touched(sa.true()), **_rollup_assignments(k))


def rollup_part(locked, rollup_values):
    """[The UPDATE giving the `rollup_values` rows their roll-ups], for a write that shifts nothing; [] when
    there are none."""
    if not rollup_values:
        return []
    return [_part(locked, _rollup_statement(len(rollup_values)), {}, rollup_values)]


@cache
def _translate_statement(k):
    """The subtree [_lft, _rgt] of tree _source moves by _shift (and _depth levels) into tree _target, under
    _parent, with the PPA and organization of its new place; the `k` roll-up rows take their roll-ups."""
    column = work_items.c
    moving = sa.and_(column.tree_id == int_param("_source"), column.lft.between(int_param("_lft"), int_param("_rgt")))
    shift = int_param("_shift")
    return sa.update(work_items).where(sa.or_(moving, column.id.in_(_rollup_ids(k))) if k else moving).values(
        lft=column.lft + sa.case((moving, shift), else_=0),
        rgt=column.rgt + sa.case((moving, shift), else_=0),
        depth=column.depth + sa.case((moving, int_param("_depth")), else_=0),
        parent_id=sa.case((column.id == int_param("_node"), int_param("_parent")), else_=column.parent_id),
        ppa_id=sa.case((moving, int_param("_ppa")), else_=column.ppa_id),
        organization_id=sa.case((moving, int_param("_organization")), else_=column.organization_id),
        tree_id=sa.case((moving, int_param("_target")), else_=column.tree_id),
        **_touched(sa.or_(column.id == int_param("_node"), column.id.in_(_rollup_ids(k)))), **_rollup_assignments(k))


def translate_part(locked, n, p, lft, rollup_values):
    """One UPDATE: the subtree of `n` (a LockedNode) goes to free numbers starting at `lft` under `p` (a
    LockedNode, or None: it becomes the root of its own tree); nothing else moves. The `rollup_values` rows
    (old and new ancestors) take their roll-ups in the same statement."""
    ppa_id, organization_id = (p.ppa_id, p.organization_id) if p is not None else (n.ppa_id, n.organization_id)
    return _part(locked, _translate_statement(len(rollup_values or ())), {
        "_source": n.tree_id, "_target": p.tree_id if p is not None else n.id, "_lft": n.lft, "_rgt": n.rgt,
        "_shift": lft - n.lft, "_depth": (p.depth + 1 if p is not None else 0) - n.depth, "_node": n.id,
        "_parent": p.id if p is not None else None, "_ppa": ppa_id, "_organization": organization_id},
        rollup_values, moved_id=n.id)


@cache
def _delete_statement():
    column = work_items.c
    return sa.delete(work_items).where(column.tree_id == int_param("_tree"),
                                       column.lft.between(int_param("_lft"), int_param("_rgt")))


def delete_part(n):
    """The DELETE of the subtree of `n` (a LockedNode)."""
    return _delete_statement(), {"_tree": n.tree_id, "_lft": n.lft, "_rgt": n.rgt}
