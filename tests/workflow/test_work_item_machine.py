"""The work-item machine as declared (a stand-in class carries it; the real WorkItem attaches the same)."""
import pytest

from obcms.workflow import available_transitions
from obcms.workflow.services import _check
from obcms.workitems.states import STATUSES, WORK_ITEM_MACHINE, clear_completed_at, set_completed_at


class Item:
    __state_machine__ = WORK_ITEM_MACHINE
    __scope_column__ = "organization_id"

    def __init__(self, status, organization_id, id=1):
        self.status, self.organization_id, self.id, self.completed_at = status, organization_id, id, None


def test_statuses_are_the_domain_ones():
    from obcms.workitems.models import STATUSES as MODEL_STATUSES

    assert STATUSES == MODEL_STATUSES


@pytest.mark.parametrize(("status", "expected"), [
    ("not_started", {"start", "flag_at_risk", "block", "complete", "cancel"}),
    ("in_progress", {"flag_at_risk", "block", "complete", "cancel"}),
    ("at_risk", {"block", "resume", "complete", "cancel"}),
    ("blocked", {"flag_at_risk", "resume", "complete", "cancel"}),
    ("completed", {"reopen"}),
    ("cancelled", {"reopen"}),
])
def test_transitions_from_each_status(status, expected, users, organizations):
    options = available_transitions(Item(status, organizations["MSSD"].id), users["moa_staff"])
    assert {o.name for o in options} == expected
    assert all(o.allowed for o in options)


def test_moa_staff_of_another_organization_and_viewers_may_not(users, organizations):
    item = Item("not_started", organizations["MSSD"].id)
    [start] = [o for o in available_transitions(item, users["other_moa_staff"]) if o.name == "start"]
    assert not start.allowed and "organization" in start.reason
    [start] = [o for o in available_transitions(item, users["viewer"]) if o.name == "start"]
    assert not start.allowed and "Needs the role" in start.reason


def test_complete_sets_and_reopen_clears_completed_at(users):
    item = Item("in_progress", None)
    set_completed_at(item, WORK_ITEM_MACHINE.get("complete"), users["admin"])
    assert item.completed_at is not None
    clear_completed_at(item, WORK_ITEM_MACHINE.get("reopen"), users["admin"])
    assert item.completed_at is None


def test_reopen_is_explicit_and_lands_in_progress(users):
    reopen = WORK_ITEM_MACHINE.get("reopen")
    assert set(reopen.sources) == {"completed", "cancelled"} and reopen.target == "in_progress"
    assert _check(Item("completed", None), WORK_ITEM_MACHINE, reopen, users["oobc_staff"], None).allowed
