"""The financial ledger's service: the rules at their boundaries, reversals, roll-ups in the same write, the
mirror tranches, the audit rows, the statement pin, permissions, `money check`; and a property test that random
entry sequences keep every node's roll-ups = the sums of the entries below it and the PPA's totals = its tree's."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obcms.audit.models import AuditEntry
from obcms.budget import ledger
from obcms.budget.models import FinancialEntry
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.ppas.funding import funding_summary
from obcms.ppas.models import FundingTranche
from obcms.ppas.services import add_tranche
from obcms.workitems import rollup
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem

D = Decimal
DAY = date(2026, 3, 2)


@pytest.fixture
def funded(tracked, users):
    """The tracked tree with allocations: Planning 200k, Implementation 600k (Phase 1 400k, Phase 2 200k),
    Evaluation 200k."""
    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    for item, amount in ((planning, "200000"), (implementation, "600000"), (evaluation, "200000")):
        workitem_services.update_work_item(item, item.version, actor, allocated_budget=amount)
    phase1, phase2 = workitem_services.tree.children(implementation)
    workitem_services.update_work_item(phase1, phase1.version, actor, allocated_budget="400000")
    workitem_services.update_work_item(phase2, phase2.version, actor, allocated_budget="200000")
    return ppa, root, planning, implementation, phase1, phase2


def totals(*items):
    db.session.expire_all()
    return [(db.session.get(WorkItem, i.id).obligated, db.session.get(WorkItem, i.id).disbursed) for i in items]


def record(item, actor, kind="obligation", amount="1000.00", **kw):
    kw.setdefault("reference", "ORS-1")
    kw.setdefault("payee", "Supplier")
    return ledger.record_entry(item, actor, kind, amount, kw.pop("entry_date", DAY), kw.pop("reference"),
                               kw.pop("payee"), **kw)


def test_an_obligation_rolls_up_to_the_root_with_its_mirror_tranche_and_audit(funded, users):
    ppa, root, planning, implementation, phase1, phase2 = funded
    entry = record(phase1, users["oobc_staff"], amount="150000.50", reference="ORS-2026-03-0012")
    assert totals(phase1, implementation, root, phase2, planning) == [
        (D("150000.50"), D("0.00")), (D("150000.50"), D("0.00")), (D("150000.50"), D("0.00")),
        (D("0.00"), D("0.00")), (D("0.00"), D("0.00"))]
    assert entry.amount == D("150000.50") and not entry.over_allocation and entry.ppa_id == ppa.id
    tranche = db.session.scalar(sa.select(FundingTranche).where(FundingTranche.financial_entry_id == entry.id))
    assert (tranche.kind, tranche.amount, tranche.source, tranche.tranche_date) == (
        "obligation", D("150000.50"), "ORS-2026-03-0012", DAY)
    summary = funding_summary(ppa.id)
    assert summary.obligations == D("150000.50") and summary.disbursements == D("0.00")
    causes = db.session.scalars(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "work_item", AuditEntry.field == "obligated",
        AuditEntry.object_id.in_([phase1.id, implementation.id, root.id]))).all()
    assert causes == [f"derived from obligation #{entry.id}"] * 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.object_type == "financial_entry", AuditEntry.object_id == entry.id, AuditEntry.field == "amount"))
    assert ledger.check_money() == []


def test_roll_ups_do_not_move_versions(funded, users):
    _, root, _, implementation, phase1, _ = funded
    before = [i.version for i in (phase1, implementation, root)]
    record(phase1, users["oobc_staff"])
    db.session.expire_all()
    assert [db.session.get(WorkItem, i.id).version for i in (phase1, implementation, root)] == before


def test_recording_on_a_deep_node_is_six_statements(funded, users, count_queries):
    ppa, root, planning, implementation, phase1, phase2 = funded
    actor = users["oobc_staff"]
    task = workitem_services.create_work_item(phase1, actor, title="Survey", work_type="task", allocated_budget="1000")
    sub = workitem_services.create_work_item(task, actor, title="Forms", work_type="subtask", allocated_budget="500")
    deep = workitem_services.create_work_item(sub, actor, title="Print", work_type="subtask", allocated_budget="500")
    db.session.flush()
    db.session.expunge(ppa)  # as in a request: the PPA is not loaded
    with count_queries() as q:
        record(deep, actor, amount="500.00")
    assert q.count == 6, q.statements  # lock, read, INSERT entry, INSERT tranche, UPDATE roll-ups, audit
    with count_queries() as q:
        record(deep, actor, kind="disbursement", amount="200.00", reference="DV-1")
    assert q.count == 6, q.statements  # lock, read, INSERT entry, INSERT tranche, UPDATE roll-ups, audit
    assert totals(deep, sub, task, phase1, implementation, root)[-1] == (D("500.00"), D("200.00"))
    assert ledger.check_money() == []


def test_a_disbursement_up_to_the_obligated_amount_passes_and_a_centavo_more_is_refused(funded, users):
    *_, phase1, _ = funded
    actor = users["oobc_staff"]
    record(phase1, actor, amount="1000.00")
    record(phase1, actor, kind="disbursement", amount="999.99", reference="DV-1")
    with pytest.raises(ValidationFailed) as refused:
        record(phase1, actor, kind="disbursement", amount="0.02", reference="DV-2")
    assert "amount" in refused.value.errors and "₱ 1,000.00 obligated" in refused.value.errors["amount"][0]
    record(phase1, actor, kind="disbursement", amount="0.01", reference="DV-3")
    assert totals(phase1) == [(D("1000.00"), D("1000.00"))]


def test_a_disbursement_on_a_container_counts_what_its_children_obligated(funded, users):
    _, root, _, implementation, phase1, _ = funded
    actor = users["oobc_staff"]
    with pytest.raises(ValidationFailed):
        record(implementation, actor, kind="disbursement", amount="1.00", reference="DV-1")
    record(phase1, actor, amount="50.00")
    record(implementation, actor, kind="disbursement", amount="50.00", reference="DV-1")
    assert totals(phase1, implementation, root) == [(D("50.00"), D("0.00")), (D("50.00"), D("50.00")),
                                                    (D("50.00"), D("50.00"))]


def test_spent_is_the_rolled_up_disbursements_whatever_progress_does(funded, users):
    """actual_expenditure (the tree's "Spent") = disbursed on every node, a container's own disbursements
    included; a progress roll-up afterwards leaves it so."""
    _, root, _, implementation, phase1, phase2 = funded
    actor = users["oobc_staff"]
    record(phase1, actor, amount="500.00")
    record(phase1, actor, kind="disbursement", amount="120.50", reference="DV-1")
    record(implementation, actor, kind="disbursement", amount="30.00", reference="DV-2")  # its own, on a container
    workitem_services.update_work_item(phase2, phase2.version, actor, progress=40)  # rolls implementation up

    def spent(*items):
        db.session.expire_all()
        return [db.session.get(WorkItem, i.id).actual_expenditure for i in items]

    assert spent(phase1, phase2, implementation, root) == [D("120.50"), D("0.00"), D("150.50"), D("150.50")]
    assert db.session.get(WorkItem, implementation.id).progress == 13  # 40 × 200k / 600k
    assert ledger.check_money() == []
    rows = {r["id"]: r for r in rollup.allocation_tree(root)}
    assert rows[implementation.id]["actual_expenditure"] == D("150.50")
    assert rows[implementation.id]["variance"] == D("600000.00") - D("150.50")
    db.session.execute(sa.update(WorkItem).where(WorkItem.id == phase1.id).values(actual_expenditure=D("1.00")))
    assert f"work item #{phase1.id}: actual expenditure 1.00 ≠ disbursed 120.50" in map(str, ledger.check_money())


def test_obligating_up_to_the_allocation_passes_beyond_needs_an_override_with_a_reason(funded, users):
    *_, phase2 = funded
    actor = users["oobc_staff"]
    record(phase2, actor, amount="199999.99")
    with pytest.raises(ValidationFailed) as refused:
        record(phase2, actor, amount="0.02")
    assert "₱ 0.01 beyond its allocation" in refused.value.errors["amount"][0]
    with pytest.raises(ValidationFailed) as refused:
        record(phase2, actor, amount="0.02", override=True)
    assert "reason" in refused.value.errors
    exact = record(phase2, actor, amount="0.01")
    assert not exact.over_allocation
    over = record(phase2, actor, amount="5000.00", override=True, reason="Realignment approved by MFBM")
    assert over.over_allocation and over.reason == "Realignment approved by MFBM"
    assert totals(phase2) == [(D("205000.00"), D("0.00"))]


def test_an_ancestor_allocation_counts_too(funded, users):
    _, root, _, implementation, phase1, phase2 = funded
    actor = users["oobc_staff"]
    record(phase1, actor, amount="400000.00")
    record(implementation, actor, amount="200000.00")
    with pytest.raises(ValidationFailed) as refused:
        record(phase2, actor, amount="1.00")  # within Phase 2's own 200k, beyond Implementation's 600k
    assert "Implementation" in refused.value.errors["amount"][0]


@pytest.mark.parametrize("kind, amount, field", [
    ("obligation", "0", "amount"), ("obligation", "-5.00", "amount"), ("obligation", "1.005", "amount"),
    ("obligation", "abc", "amount"), ("obligation", "1e400", "amount"), ("disbursement", "", "amount"),
    ("adjustment", "0.00", "amount"), ("adjustment", "-5.00", "reason"), ("refund", "5", "kind"),
])
def test_hostile_or_wrong_input_is_a_field_error_and_writes_nothing(funded, users, kind, amount, field):
    *_, phase1, _ = funded
    with pytest.raises(ValidationFailed) as refused:
        record(phase1, users["oobc_staff"], kind=kind, amount=amount)
    assert field in refused.value.errors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FinancialEntry)) == 0


@pytest.mark.parametrize("values, field", [
    ({"reference": ""}, "reference"), ({"reference": "x" * 61}, "reference"), ({"payee": "a\x00b"}, "payee"),
    ({"entry_date": "2026-02-30"}, "entry_date"), ({"entry_date": date(1800, 1, 1)}, "entry_date"),
    ({"reason": "r" * 501}, "reason"),
])
def test_text_and_date_limits(funded, users, values, field):
    *_, phase1, _ = funded
    with pytest.raises(ValidationFailed) as refused:
        record(phase1, users["oobc_staff"], **values)
    assert field in refused.value.errors


def test_a_negative_adjustment_de_obligates_but_never_below_what_is_disbursed(funded, users):
    *_, phase1, _ = funded
    actor = users["oobc_staff"]
    record(phase1, actor, amount="1000.00")
    record(phase1, actor, kind="disbursement", amount="600.00", reference="DV-1")
    with pytest.raises(ValidationFailed):
        record(phase1, actor, kind="adjustment", amount="-400.01", reason="Savings", reference="")
    record(phase1, actor, kind="adjustment", amount="-400.00", reason="Savings", reference="")
    assert totals(phase1) == [(D("600.00"), D("600.00"))]
    assert funding_summary(phase1.ppa_id).obligations == D("600.00")
    assert ledger.check_money() == []


def test_a_reversal_posts_the_opposite_amount_once_and_a_second_is_a_conflict_naming_who(funded, users):
    _, root, _, _, phase1, _ = funded
    actor = users["oobc_staff"]
    entry = record(phase1, actor, amount="1000.00")
    with pytest.raises(ValidationFailed) as refused:
        ledger.reverse_entry(entry, actor, "  ")
    assert "reason" in refused.value.errors
    reversal = ledger.reverse_entry(entry, actor, "Wrong ORS number")
    assert (reversal.amount, reversal.kind, reversal.reverses_id) == (D("-1000.00"), "obligation", entry.id)
    assert totals(phase1, root) == [(D("0.00"), D("0.00"))] * 2
    with pytest.raises(Conflict) as conflict:
        ledger.reverse_entry(entry, users["admin"], "Again")
    assert actor.display_name in conflict.value.detail
    with pytest.raises(Conflict):
        ledger.reverse_entry(reversal, actor, "Reverse the reversal")
    assert ledger.check_money() == []


def test_reversing_an_obligation_that_disbursements_rest_on_is_refused(funded, users):
    *_, phase1, _ = funded
    actor = users["oobc_staff"]
    entry = record(phase1, actor, amount="1000.00")
    disbursement = record(phase1, actor, kind="disbursement", amount="10.00", reference="DV-1")
    with pytest.raises(ValidationFailed):
        ledger.reverse_entry(entry, actor, "Cancelled")
    ledger.reverse_entry(disbursement, actor, "Paid twice")
    ledger.reverse_entry(entry, actor, "Cancelled")
    assert totals(phase1) == [(D("0.00"), D("0.00"))]


def test_an_untracked_ppa_or_a_free_standing_item_takes_no_entries(funded, users, organizations):
    ppa, *_, phase1, _ = funded
    actor = users["oobc_staff"]
    ppa.workitem_tracking_enabled = False
    db.session.flush()
    with pytest.raises(ValidationFailed):
        record(phase1, actor)
    loose = workitem_services.create_work_item(None, actor, title="Errand", work_type="task",
                                               organization_id=organizations["MSSD"].id)
    with pytest.raises(ValidationFailed):
        record(loose, actor)


@pytest.mark.parametrize("role", ["mfbm_analyst", "bpda_planner", "viewer"])
def test_readers_may_not_record(funded, users, role):
    *_, phase1, _ = funded
    with pytest.raises(NotAllowed):
        record(phase1, users[role])


def test_moa_staff_records_in_their_own_organization_only(make_tracked_ppa, users):
    _, _, (mine, *_) = make_tracked_ppa(organization=users["moa_staff"].organization.acronym)
    workitem_services.update_work_item(mine, mine.version, users["oobc_staff"], allocated_budget="100")
    record(mine, users["moa_staff"], amount="100.00")
    _, _, (theirs, *_) = make_tracked_ppa(organization=users["other_moa_staff"].organization.acronym)
    with pytest.raises(NotAllowed):
        record(theirs, users["moa_staff"])


def test_a_node_with_posted_money_is_not_moved_elsewhere(funded, users):
    _, _, planning, _, phase1, _ = funded
    record(phase1, users["oobc_staff"], amount="10.00")
    with pytest.raises(ValidationFailed) as refused:
        workitem_services.move_work_item(phase1, users["oobc_staff"], phase1.version, parent=planning)
    assert "parent" in refused.value.errors


def test_money_check_reports_a_tampered_roll_up_and_a_hand_made_tranche(funded, users):
    ppa, root, *_, phase1, _ = funded
    record(phase1, users["oobc_staff"], amount="10.00")
    assert ledger.check_money() == []
    db.session.execute(sa.update(WorkItem).where(WorkItem.id == root.id).values(obligated=D("11.00")))
    db.session.add(FundingTranche(ppa_id=ppa.id, kind="disbursement", amount=D("5.00"), tranche_date=DAY))
    db.session.flush()
    found = [str(m) for m in ledger.check_money()]
    assert f"work item #{root.id}: obligated 11.00 ≠ 10.00 from the ledger and its children" in found
    assert any(m.startswith(f"PPA #{ppa.id}: disbursements: tree 0.00, ledger 0.00, tranches 5.00") for m in found)
    assert any(m.startswith(f"PPA #{ppa.id}: obligations: tree 11.00, ledger 10.00") for m in found)


def test_node_totals_statement_gives_the_roll_ups_per_node(funded, users):
    ppa, root, *_, phase1, _ = funded
    record(phase1, users["oobc_staff"], amount="10.00")
    rows = {r.work_item_id: (r.obligated, r.disbursed)
            for r in db.session.execute(ledger.node_totals_statement([ppa.id]))}
    assert rows[root.id] == rows[phase1.id] == (D("10.00"), D("0.00"))


OPERATIONS = st.lists(st.tuples(st.sampled_from(["obligation", "disbursement", "adjustment", "reverse"]),
                                st.integers(0, 5), st.integers(-30000, 90000)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_random_entry_sequences_keep_roll_ups_and_ppa_totals_in_agreement(funded, users, operations):
    ppa, root, planning, implementation, phase1, phase2 = funded
    nodes = [root, planning, implementation, phase1, phase2, implementation]
    actor = users["oobc_staff"]
    savepoint = db.session.begin_nested()
    try:
        posted = []
        for kind, at, cents in operations:
            try:
                if kind == "reverse":
                    if posted:
                        ledger.reverse_entry(posted[cents % len(posted)], actor, "Property test")
                    continue
                amount = D(cents) / 100 if kind == "adjustment" else D(abs(cents) or 1) / 100
                posted.append(record(nodes[at], actor, kind=kind, amount=str(amount), reason="Property test",
                                     override=cents % 3 == 0))
            except (ValidationFailed, Conflict):
                pass
        entries = db.session.scalars(sa.select(FinancialEntry).where(FinancialEntry.ppa_id == ppa.id)).all()
        below = {root.id: [n.id for n in nodes[:5]], planning.id: [planning.id],
                 implementation.id: [implementation.id, phase1.id, phase2.id], phase1.id: [phase1.id],
                 phase2.id: [phase2.id]}
        db.session.expire_all()
        for node_id, ids in below.items():
            node = db.session.get(WorkItem, node_id)
            mine = [e for e in entries if e.work_item_id in ids]
            assert node.obligated == sum((e.amount for e in mine if e.kind != "disbursement"), D("0.00"))
            assert node.disbursed == sum((e.amount for e in mine if e.kind == "disbursement"), D("0.00"))
            assert D("0") <= node.disbursed <= node.obligated and node.actual_expenditure == node.disbursed
        summary = funding_summary(ppa.id)
        top = db.session.get(WorkItem, root.id)
        assert (summary.obligations, summary.disbursements) == (top.obligated, top.disbursed)
        assert ledger.check_money() == []
    finally:
        savepoint.rollback()


def test_the_money_check_command_exits_1_on_a_mismatch(app, funded, users):
    root, phase1 = funded[1], funded[4]
    record(phase1, users["oobc_staff"], amount="10.00")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["obcms", "money", "check"])
    assert result.exit_code == 0, result.output
    assert "agrees" in result.output
    db.session.execute(sa.update(WorkItem).where(WorkItem.id == root.id).values(disbursed=D("1.00")))
    result = runner.invoke(args=["obcms", "money", "check"])
    assert result.exit_code == 1
    assert f"work item #{root.id}: disbursed 1.00" in result.output


def test_a_node_with_posted_money_is_not_deleted(funded, users):
    _, root, _, implementation, phase1, _ = funded
    record(phase1, users["oobc_staff"], amount="10.00")
    for item in (phase1, implementation):
        with pytest.raises(ValidationFailed) as refused:
            workitem_services.delete_work_item(item, users["oobc_staff"], item.version)
        assert "confirm" in refused.value.errors


def test_a_node_whose_entries_were_all_reversed_is_still_not_deleted(funded, users):
    """Its roll-ups are back to 0, but its ledger history stays: a clear refusal, nothing deleted, never a 500."""
    _, _, _, implementation, phase1, _ = funded
    entry = record(phase1, users["oobc_staff"], amount="10.00")
    ledger.reverse_entry(entry, users["oobc_staff"], "Entered twice")
    assert totals(phase1) == [(D("0.00"), D("0.00"))]
    for item in (phase1, implementation):
        with pytest.raises(ValidationFailed) as refused, db.session.begin_nested():
            workitem_services.delete_work_item(item, users["oobc_staff"], item.version)
        assert "never deleted" in refused.value.errors["confirm"][0]
    assert db.session.get(WorkItem, phase1.id) is not None


def test_a_tracked_ppa_takes_obligations_and_disbursements_through_the_ledger_only(funded, users):
    ppa = funded[0]
    for kind in ("obligation", "disbursement"):
        with pytest.raises(ValidationFailed) as refused:
            add_tranche(ppa, users["oobc_staff"], kind=kind, amount=D("5.00"), tranche_date=DAY)
        assert "kind" in refused.value.errors
    add_tranche(ppa, users["oobc_staff"], kind="allocation", amount=D("5.00"), tranche_date=DAY)
    assert ledger.check_money() == []
