"""Repairing the tree: check_integrity lists every violation of the nested-set invariants, rebuild renumbers
the bounds from the parent links (`flask obcms tree check` / `tree rebuild`)."""
import sqlalchemy as sa

from ...errors import ValidationFailed
from .gaps import STEP
from .locking import lock_all_trees, lock_trees
from .session_sync import forget_structure
from .table import session_or_default, work_items


def check_integrity(tree_id=None, session=None):
    """Every violation of the nested-set invariants, as dicts {tree_id, id, kind, detail}; [] when intact.

    Checked per tree: exactly one root, whose id is the tree_id, at depth 0 and enclosing every node; lft <
    rgt; no bound used twice; every interval well nested (no overlap); a parent is in the same tree, encloses
    its child, and is one level up. (Free numbers between bounds are normal: see gaps.py.)
    """
    session = session_or_default(session)
    column = work_items.c
    stmt = (sa.select(column.id, column.parent_id, column.tree_id, column.lft, column.rgt, column.depth)
            .order_by(column.tree_id, column.lft, column.id))
    if tree_id is not None:
        stmt = stmt.where(column.tree_id == tree_id)
    rows = session.execute(stmt).all()
    by_id = {r.id: r for r in rows}
    trees = {}
    for r in rows:
        trees.setdefault(r.tree_id, []).append(r)
    violations = []

    def flag(row, kind, detail):
        violations.append({"tree_id": row.tree_id, "id": row.id, "kind": kind, "detail": detail})

    for tid, nodes in trees.items():
        roots = [r for r in nodes if r.parent_id is None]
        if len(roots) != 1 or roots[0].id != tid:
            flag(nodes[0], "root", f"tree {tid} has roots {[r.id for r in roots]}, expected exactly #{tid}")
        low, high = min(r.lft for r in nodes), max(r.rgt for r in nodes)
        for r in roots:
            if (r.lft, r.rgt, r.depth) != (low, high, 0) or r.lft < 1:
                flag(r, "root_bounds", f"root spans {r.lft}…{r.rgt} at depth {r.depth}, the tree {low}…{high}")
        seen = {}
        for r in nodes:
            for value in (r.lft, r.rgt):
                seen[value] = seen.get(value, 0) + 1
        duplicated = sorted(v for v, k in seen.items() if k > 1)
        if duplicated:
            flag(nodes[0], "bounds", f"tree {tid}: bounds used twice {duplicated[:10]}")
        stack = []
        for r in nodes:
            if r.lft >= r.rgt:
                flag(r, "lft_not_before_rgt", f"lft {r.lft} ≥ rgt {r.rgt}")
            while stack and stack[-1].rgt < r.lft:
                stack.pop()
            if stack and r.rgt > stack[-1].rgt:
                flag(r, "overlap", f"{r.lft}…{r.rgt} overlaps #{stack[-1].id} {stack[-1].lft}…{stack[-1].rgt}")
            stack.append(r)
            if r.parent_id is not None:
                p = by_id.get(r.parent_id)
                if p is None or p.tree_id != tid:
                    flag(r, "parent_tree", f"parent #{r.parent_id} is not in tree {tid}")
                    continue
                if not (p.lft < r.lft and r.rgt < p.rgt):
                    flag(r, "outside_parent", f"{r.lft}…{r.rgt} not inside parent #{p.id} {p.lft}…{p.rgt}")
                if r.depth != p.depth + 1:
                    flag(r, "depth", f"depth {r.depth}, parent #{p.id} has depth {p.depth}")
    return violations


def rebuild(tree_id=None, session=None, step=STEP):
    """Renumber lft/rgt/depth/tree_id from the parent links (siblings keep their order: by lft, then id),
    the bounds `step` apart (1: no free numbers at all, as the tests use to try the writes that need some).

    With `tree_id`, the nodes reachable from that root; without, every tree (and nodes cut off from any
    root by a parent cycle are reported). Locks the trees, reads them in one query, writes only the rows
    whose numbers change (one executemany UPDATE). Returns the number of rows rewritten.
    """
    session = session_or_default(session)
    column = work_items.c
    session.flush()
    if tree_id is not None:
        lock_trees([tree_id], known_trees=True, session=session)
        reach = (sa.select(column.id).where(column.id == tree_id, column.parent_id.is_(None))
                 .cte("reach", recursive=True))
        reach = reach.union_all(sa.select(column.id).join(reach, column.parent_id == reach.c.id))
        stmt = (sa.select(column.id, column.parent_id, column.tree_id, column.lft, column.rgt, column.depth)
                .where(column.id.in_(sa.select(reach.c.id))))
    else:
        lock_all_trees(session)
        stmt = sa.select(column.id, column.parent_id, column.tree_id, column.lft, column.rgt, column.depth)
    rows = session.execute(stmt).all()
    kids = {}
    for r in sorted(rows, key=lambda r: (r.lft, r.id)):
        kids.setdefault(r.parent_id, []).append(r)
    numbered = {}

    for root in sorted(kids.get(None, ()), key=lambda r: r.id):
        edge = 1 - step
        stack = [(root, 0, False)]
        while stack:
            r, depth, closing = stack.pop()
            edge += step
            if closing:
                numbered[r.id]["rgt"] = edge
                continue
            numbered[r.id] = {"_id": r.id, "lft": edge, "depth": depth, "tree_id": root.id}
            stack.append((r, depth, True))
            stack.extend((k, depth + 1, False) for k in reversed(kids.get(r.id, ())))
    unreached = [r.id for r in rows if r.id not in numbered]
    if unreached:
        raise ValidationFailed(f"{len(unreached)} work items are not reachable from any root (a parent cycle): "
                               f"{unreached[:20]}")
    changed = [values for r in rows
               for values in [numbered[r.id]]
               if (r.lft, r.rgt, r.depth, r.tree_id) != (values["lft"], values["rgt"], values["depth"],
                                                        values["tree_id"])]
    if changed:
        session.execute(sa.update(work_items).where(column.id == sa.bindparam("_id")).values(
            lft=sa.bindparam("lft"), rgt=sa.bindparam("rgt"), depth=sa.bindparam("depth"),
            tree_id=sa.bindparam("tree_id"), updated_at=column.updated_at), changed)
        forget_structure(session)
    return len(changed)
