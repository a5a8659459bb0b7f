"""Random sequences of inserts, moves (within and across trees) and deletes through the services, one
process, with every roll-up checked after each write. On PostgreSQL a write's parts go as ONE statement: a
move into a full parent of the other tree sends two parts that both carry roll-ups, whose parameters once
shared names, so the new parent's roll-up was lost (the 4-process test found it now and then)."""
import random

import pytest
import sqlalchemy as sa

from tests.workitems.test_concurrency import _committed_database, _two_trees


@pytest.mark.committed
@pytest.mark.parametrize("seed", [5, 11])
def test_every_write_of_a_random_sequence_keeps_the_roll_ups(seed):
    from obcms.audit.context import acting_as
    from obcms.auth.models import User
    from obcms.errors import DomainError
    from obcms.extensions import db
    from obcms.workitems import rollup, services, tree
    from obcms.workitems.models import WorkItem

    with _committed_database() as (app, url):
        root_ids, users = _two_trees(["writer"], branches=4)
        actor_id = users["writer"].id
        rng = random.Random(seed)
        with acting_as("test:sequence"):
            for step in range(300):
                ids = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.tree_id.in_(root_ids))).all()
                actor = db.session.get(User, actor_id)
                node = db.session.get(WorkItem, rng.choice(ids))
                op = rng.choice(["insert", "insert", "move", "move", "delete"])
                try:
                    if op == "insert" or len(ids) < 40:
                        what = f"insert under #{node.id}"
                        services.create_work_item(node, actor, title="w", work_type="subtask",
                                                  progress=rng.randrange(101))
                    elif node.parent_id is None:
                        continue
                    elif op == "move":
                        target = db.session.get(WorkItem, rng.choice(ids))
                        what = f"move #{node.id} (tree {node.tree_id}) under #{target.id} (tree {target.tree_id})"
                        services.move_work_item(node, actor, node.version, parent=target)
                    else:
                        what = f"delete #{node.id}"
                        services.delete_work_item(node, actor, node.version)
                    db.session.commit()
                except DomainError:  # a rule: depth, under itself
                    db.session.rollback()
                    continue
                finally:
                    db.session.close()
                stale = rollup._level_changes(db.session, None, None)
                assert not stale, (step, what, [dict(r._mapping) for r in stale])
                db.session.rollback()
            assert tree.check_integrity() == []
