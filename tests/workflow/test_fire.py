from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from obcms.extensions import db
from obcms.workflow import StatusChangeRefused, available_transitions, derived_status, fire, transition_history
from obcms.workflow.models import TransitionLog
from tests.workflow.gadgets import NOTIFIED, Gadget


def submitted(make_gadget, users, **values):
    gadget = make_gadget(notes="Two units", **values)
    fire(gadget, "submit", users["moa_staff"])
    return gadget


def test_fire_applies_logs_and_audits(make_gadget, users):
    gadget = make_gadget(notes="Two units")
    log = fire(gadget, "submit", users["moa_staff"], comment="Ready")
    assert gadget.status == "submitted"
    assert (log.from_state, log.to_state, log.actor_user_id, log.comment) == (
        "draft", "submitted", users["moa_staff"].id, "Ready")
    rows = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "gadget", AuditEntry.object_id == gadget.id, AuditEntry.action == "update")).all()
    assert [(r.field, r.old_value, r.new_value, r.cause) for r in rows] == [
        ("status", "draft", "submitted", "transition 'submit'")]
    assert [t.transition for t in transition_history(gadget)] == ["submit"]


def test_unknown_transition(make_gadget, users):
    with pytest.raises(NotFound):
        fire(make_gadget(), "explode", users["admin"])


def test_wrong_state_is_a_conflict(make_gadget, users):
    gadget = make_gadget()
    with pytest.raises(Conflict, match="Only possible when status is approved"):
        fire(gadget, "finish", users["admin"])


def test_role_refused(make_gadget, users):
    with pytest.raises(NotAllowed, match="Needs the role"):
        fire(make_gadget(notes="x"), "submit", users["viewer"])


def test_object_level_rule(make_gadget, users):
    with pytest.raises(NotAllowed, match="own organization"):
        fire(make_gadget(notes="x"), "submit", users["other_moa_staff"])


def test_nobody_acts_on_their_own_submission(make_gadget, users):
    gadget = make_gadget(notes="x", amount=Decimal("10.00"))
    fire(gadget, "submit", users["oobc_staff"])
    with pytest.raises(NotAllowed, match="You submitted this"):
        fire(gadget, "approve", users["oobc_staff"])
    fire(gadget, "approve", users["oobc_executive"])
    assert gadget.status == "approved"


def test_requirements_name_each_missing_field(make_gadget, users):
    gadget = make_gadget(name="", notes=None)
    with pytest.raises(ValidationFailed) as caught:
        fire(gadget, "submit", users["moa_staff"])
    assert set(caught.value.errors) == {"name", "notes"}
    assert gadget.status == "draft"


def test_transition_requirement(make_gadget, users):
    gadget = submitted(make_gadget, users)
    with pytest.raises(ValidationFailed) as caught:
        fire(gadget, "approve", users["oobc_executive"])
    assert list(caught.value.errors) == ["amount"]


def test_comment_required(make_gadget, users):
    gadget = submitted(make_gadget, users)
    with pytest.raises(ValidationFailed) as caught:
        fire(gadget, "reject", users["oobc_executive"], comment="  ")
    assert list(caught.value.errors) == ["comment"]
    fire(gadget, "reject", users["oobc_executive"], comment="Incomplete costing")
    assert transition_history(gadget)[-1].comment == "Incomplete costing"


def test_effects_run_in_the_transaction_and_side_effects_after_commit(make_gadget, users):
    gadget = submitted(make_gadget, users, amount=Decimal("5.00"))
    fire(gadget, "approve", users["oobc_executive"])
    NOTIFIED.clear()
    fire(gadget, "finish", users["admin"])
    assert gadget.done_at is not None
    assert NOTIFIED == []
    db.session.commit()
    assert NOTIFIED == [(gadget.id, "finish", "admin")]
    fire(gadget, "reopen", users["admin"], comment="One more unit")
    assert gadget.status == "approved" and gadget.done_at is None


def test_stale_expected_version_is_a_conflict(make_gadget, users):
    gadget = make_gadget(notes="x")
    seen = gadget.version
    gadget.notes = "changed by someone"
    db.session.flush()
    with pytest.raises(Conflict) as caught:
        fire(gadget, "submit", users["moa_staff"], expected_version=seen)
    assert caught.value.your_version == seen and caught.value.current_version == seen + 1
    assert "notes" in caught.value.changed_fields


def test_dry_run_says_why_not(make_gadget, users):
    gadget = make_gadget(notes=None)
    [submit] = available_transitions(gadget, users["moa_staff"])
    assert (submit.name, submit.allowed, submit.missing_fields) == ("submit", False, ["notes"])
    [submit] = available_transitions(gadget, users["viewer"])
    assert not submit.allowed and "Needs the role" in submit.reason
    gadget.notes = "x"
    [submit] = available_transitions(gadget, users["moa_staff"])
    assert submit.allowed and submit.reasons == []


def test_dry_run_marks_comment_and_own_submission(make_gadget, users):
    gadget = submitted(make_gadget, users, amount=Decimal("1.00"))
    options = {o.name: o for o in available_transitions(gadget, users["oobc_executive"])}
    assert options["approve"].allowed and options["reject"].allowed and options["reject"].comment_required
    gadget2 = make_gadget(notes="x", amount=Decimal("1.00"))
    fire(gadget2, "submit", users["oobc_staff"])
    options = {o.name: o for o in available_transitions(gadget2, users["oobc_staff"])}
    assert not options["approve"].allowed and "You submitted this" in options["approve"].reason


# The guard: no other way to change the status -------------------------------------------------------------

def test_direct_assignment_is_refused_at_flush(make_gadget):
    gadget = make_gadget()
    gadget.status = "done"
    with pytest.raises(StatusChangeRefused) as caught:
        db.session.flush()
    assert "status" in caught.value.errors
    db.session.rollback()


def test_direct_assignment_on_an_expired_object_is_refused(make_gadget):
    gadget = make_gadget()
    db.session.commit()
    gadget.status = "approved"
    with pytest.raises(StatusChangeRefused):
        db.session.flush()
    db.session.rollback()


def test_assigning_the_same_status_is_no_change(make_gadget):
    gadget = make_gadget()
    gadget.status = "draft"
    gadget.name = "Renamed"
    db.session.flush()


def test_set_based_update_is_refused(make_gadget):
    gadget = make_gadget()
    with pytest.raises(StatusChangeRefused):
        db.session.execute(sa.update(Gadget).where(Gadget.id == gadget.id).values(status="done"))
    with pytest.raises(StatusChangeRefused):
        db.session.execute(sa.update(Gadget.__table__).values({Gadget.__table__.c.status: "done"}))
    with pytest.raises(StatusChangeRefused):
        db.session.execute(sa.update(Gadget), [{"id": gadget.id, "status": "done"}])
    db.session.execute(sa.update(Gadget).where(Gadget.id == gadget.id).values(name="Set-based rename"))


def test_creating_with_an_unknown_status_is_refused(gadget_tables):
    db.session.add(Gadget(name="x", status="exploded"))
    with pytest.raises(StatusChangeRefused):
        db.session.flush()
    db.session.rollback()


def test_derived_changes_declare_their_cause(make_gadget):
    gadget = make_gadget()
    with derived_status("roll-up from child #7"):
        gadget.status = "done"
        db.session.flush()
    row = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "gadget", AuditEntry.object_id == gadget.id, AuditEntry.field == "status",
        AuditEntry.action == "update")).one()
    assert row.cause == "roll-up from child #7"
    assert db.session.scalar(sa.select(sa.func.count(TransitionLog.id))
                             .where(TransitionLog.object_id == gadget.id)) == 0
