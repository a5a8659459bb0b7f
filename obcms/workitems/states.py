"""The work-item status machine, declared as data (attached to WorkItem as `__state_machine__`).

Statuses (DOMAIN.md): not_started, in_progress, at_risk, blocked, completed, cancelled. Editors of the item
(admin, OOBC executive and staff, MOA staff of its organization) fire every transition. Completing sets
completed_at; reopening a completed or cancelled item is its own transition and clears it.
Derived changes (a container completed by its children's roll-up) use obcms.workflow.derived_status(cause).
"""
from ..auth.permissions import can
from ..db_types import utcnow
from ..workflow import StateMachine, Transition

STATUSES = ("not_started", "in_progress", "at_risk", "blocked", "completed", "cancelled")
EDITOR_ROLES = ("admin", "oobc_executive", "oobc_staff", "moa_staff")
OPEN = ("not_started", "in_progress", "at_risk", "blocked")


def may_edit(item, actor):
    """The item's editors: global editing roles, or MOA staff of the item's organization."""
    return True if can(actor, "workitem.edit", item) else "Only editors of this item's organization."


def set_completed_at(item, transition, actor):
    item.completed_at = utcnow()


def clear_completed_at(item, transition, actor):
    item.completed_at = None


def _editors(name, sources, target, **options):
    return Transition(name, sources, target, roles=EDITOR_ROLES, allow=may_edit, **options)


WORK_ITEM_MACHINE = StateMachine(
    field="status",
    states=STATUSES,
    initial="not_started",
    permission="workitem.read",
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
