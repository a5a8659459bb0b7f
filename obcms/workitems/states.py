"""The work-item status machine, declared as data and registered on WorkItem (its `__state_machine__`).

Statuses (DOMAIN.md): not_started, in_progress, at_risk, blocked, completed, cancelled. Editors of the item
(admin, OOBC executive and staff, MOA staff of its organization) fire every transition. Completing sets
completed_at and progress 100; reopening a completed or cancelled item is its own transition and clears it. Every transition
re-runs the roll-ups of the item's ancestors in the same transaction (their derived status changes go through
obcms.workflow.derived_status with the cause "<transition> of child #<id>"). fire() locks the item's tree
(its root row, as every tree write does) so that status changes and tree writes lock in one order.
"""
from ..auth.permissions import can
from ..db_types import utcnow
from ..workflow import StateMachine, Transition, batched, register_machine, sets_columns
from . import tree
from .models import WorkItem
from .rollup import update_ancestors

STATUSES = ("not_started", "in_progress", "at_risk", "blocked", "completed", "cancelled")
EDITOR_ROLES = ("admin", "oobc_executive", "oobc_staff", "moa_staff")
OPEN = ("not_started", "in_progress", "at_risk", "blocked")


def may_edit(item, actor):
    """The item's editors: global editing roles, or MOA staff of the item's organization."""
    return True if can(actor, "workitem.edit", item) else "Only editors of this item's organization."


# Completed means done: completed_at now and progress 100 (as the roll-ups count it), so the row, its panel
# and its parent all say the same.
set_completed_at = sets_columns(lambda transition, actor: {"completed_at": utcnow(), "progress": 100})
clear_completed_at = sets_columns(lambda transition, actor: {"completed_at": None})


def _roll_up_ancestors_of_many(items, transition, actor):
    """The ancestors of all the items, in one read and one write (the trees are locked by lock_trees): their
    distinct parents and those parents' ancestors (many items share them: the read stays small)."""
    parents = sorted({item.parent_id for item in items if item.parent_id is not None})
    if not parents:
        return
    update_ancestors(parents, include_self=True, locked=True,
                     cause=f"{transition.name} of children #{', #'.join(str(i.id) for i in items[:5])}"
                           f"{' …' if len(items) > 5 else ''}")


@batched(_roll_up_ancestors_of_many)
def roll_up_ancestors(item, transition, actor):
    update_ancestors([item.id], locked=True, cause=f"{transition.name} of child #{item.id}")


def lock_tree(item, session):
    tree.lock(item, session=session)


def lock_trees(items, session):
    """The trees of all the items, roots in id order, in one statement (as every tree write locks)."""
    tree.lock_trees([item.id for item in items], session=session)


def _editors(name, sources, target, effects=(), **options):
    return Transition(name, sources, target, roles=EDITOR_ROLES, allow=may_edit,
                      effects=[*effects, roll_up_ancestors], **options)


WORK_ITEM_MACHINE = StateMachine(
    field="status",
    states=STATUSES,
    initial="not_started",
    permission="workitem.read",
    lock=lock_tree,
    lock_many=lock_trees,
    transitions=[
        _editors("start", "not_started", "in_progress"),
        _editors("flag_at_risk", ("not_started", "in_progress", "blocked"), "at_risk", label="Mark at risk"),
        _editors("block", ("not_started", "in_progress", "at_risk"), "blocked", label="Mark blocked"),
        _editors("resume", ("at_risk", "blocked"), "in_progress"),
        _editors("complete", OPEN, "completed", effects=[set_completed_at]),
        _editors("cancel", OPEN, "cancelled"),
        _editors("reopen", ("completed", "cancelled"), "in_progress", effects=[clear_completed_at]),
    ],
)
register_machine(WorkItem, WORK_ITEM_MACHINE)
