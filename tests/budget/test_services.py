"""Distribution services on a real tree: preview, apply (locked, version-checked, recorded, rolled up,
audited), restore, history, permissions; and a property test that applied distributions always sum exactly."""
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obcms.audit.models import AuditEntry
from obcms.budget import services
from obcms.budget.models import Distribution
from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem

D = Decimal


def allocations(*items):
    db.session.expire_all()
    return [db.session.get(WorkItem, item.id).allocated_budget for item in items]


def distributions():
    return db.session.scalars(sa.select(Distribution).order_by(Distribution.id)).all()


def test_preview_lists_the_children_in_tree_order_and_writes_nothing(tracked, count_queries):
    ppa, root, kids = tracked
    with count_queries() as q:
        preview = services.preview_distribution(root, "equal", {})
    assert q.count == 1
    assert not [s for s in q.statements if not s.lstrip().upper().startswith("SELECT")]
    assert [line.title for line in preview.lines] == ["Planning", "Implementation", "Evaluation"]
    assert [line.share for line in preview.lines] == [D("333333.34"), D("333333.33"), D("333333.33")]
    assert [line.allocated for line in preview.lines] == [D("0.00")] * 3
    assert preview.amount == ppa.budget_allocation and preview.is_valid
    assert preview.total == D("1000000.00") and preview.remainder == 0
    assert preview.versions == {root.id: root.version, **{k.id: k.version for k in kids}}
    assert distributions() == []


def test_the_amount_defaults_to_the_ppa_budget_for_the_execution_project_else_the_node_allocation(tracked, users):
    ppa, root, kids = tracked
    ppa.budget_allocation = D("900000.00")
    db.session.flush()
    assert services.preview_distribution(root, "equal", {}).amount == D("900000.00")
    services.apply_distribution(root, "manual", {kids[0].id: "0", kids[1].id: "900000", kids[2].id: "0"},
                                users["oobc_staff"], services.preview_distribution(root, "manual", {}).versions)
    preview = services.preview_distribution(kids[1], "equal", {})
    assert preview.amount == D("900000.00")
    assert [line.share for line in preview.lines] == [D("450000.00")] * 2
    assert services.preview_distribution(kids[1], "equal", {}, amount="100.01").total == D("100.01")


def test_preview_errors_name_the_child(tracked):
    _, root, (planning, implementation, evaluation) = tracked
    preview = services.preview_distribution(root, "weighted", {planning.id: "-5", implementation.id: "abc",
                                                                evaluation.id: "1.234"})
    assert not preview.is_valid
    assert "Planning: The weight must be 0 or more." in preview.errors
    assert "Implementation: The weight is not a number." in preview.errors
    assert "Evaluation: The weight may have at most 2 decimals." in preview.errors
    preview = services.preview_distribution(root, "weighted", {planning.id: "50", implementation.id: "30",
                                                                evaluation.id: "19.99"})
    assert preview.errors == ["The weights add up to 99.99 %; they must add up to exactly 100 % (0.01 % missing)."]
    preview = services.preview_distribution(root, "manual", {planning.id: "1", implementation.id: "2",
                                                              evaluation.id: "3"}, amount="6.01")
    assert preview.errors == ["The amounts add up to ₱ 6.00, not ₱ 6.01 (₱ 0.01 left to distribute)."]
    assert services.preview_distribution(root, "equal", {}, amount="-1").errors == [
        "Amount: The amount must be 0 or more."]


def test_apply_writes_exact_shares_one_record_roll_ups_and_audit_rows_with_the_cause(tracked, users):
    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["moa_staff"]
    workitem_services.update_work_item(planning, planning.version, users["oobc_staff"], progress=100)
    db.session.refresh(root)
    assert root.progress == 33  # equal weights while the children have no budget
    preview = services.preview_distribution(root, "weighted", {})
    weights = {planning.id: "50", implementation.id: "33.33", evaluation.id: "16.67"}

    record = services.apply_distribution(root, "weighted", weights, actor, preview.versions)

    assert allocations(planning, implementation, evaluation) == [D("500000.00"), D("333300.00"), D("166700.00")]
    assert sum(allocations(planning, implementation, evaluation)) == ppa.budget_allocation
    assert distributions() == [record]
    assert record.method == "weighted" and record.amount == D("1000000.00") and record.ppa_id == ppa.id
    assert record.node_id == root.id and record.created_by_id == actor.id and record.restored_from_id is None
    assert record.inputs == {"weights": {str(k): v for k, v in weights.items()}}
    assert record.result == {str(planning.id): "500000.00", str(implementation.id): "333300.00",
                             str(evaluation.id): "166700.00"}
    assert record.before == {str(k): "0.00" for k in weights}
    db.session.expire_all()
    assert db.session.get(WorkItem, root.id).progress == 50  # now weighted by the new budgets
    assert db.session.get(WorkItem, planning.id).version == preview.versions[planning.id] + 1
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.field, AuditEntry.old_value,
                                        AuditEntry.new_value, AuditEntry.cause)
                              .where(AuditEntry.cause.like(f"%budget distribution #{record.id}%"))).all()
    assert {(r.object_id, r.field, r.old_value, r.new_value) for r in rows if r.field == "allocated_budget"} == {
        (planning.id, "allocated_budget", "0.00", "500000.00"),
        (implementation.id, "allocated_budget", "0.00", "333300.00"),
        (evaluation.id, "allocated_budget", "0.00", "166700.00")}
    assert (root.id, "progress", "33", "50") in {(r.object_id, r.field, r.old_value, r.new_value) for r in rows}


def test_apply_locks_the_tree_before_reading(tracked, users, monkeypatch):
    _, root, kids = tracked
    calls = []
    real_lock, real_read = workitem_services.tree.lock, services.read_family
    monkeypatch.setattr(workitem_services.tree, "lock", lambda *a, **k: calls.append("lock") or real_lock(*a, **k))
    monkeypatch.setattr(services, "read_family", lambda *a, **k: calls.append("read") or real_read(*a, **k))
    versions = services.preview_distribution(root, "equal", {}).versions
    calls.clear()
    services.apply_distribution(root, "equal", {}, users["oobc_staff"], versions)
    assert calls == ["lock", "read"]


def test_apply_statement_count_is_constant(make_tracked_ppa, users, count_queries):
    _, root, _ = make_tracked_ppa(children=[f"Part {i}" for i in range(20)])
    versions = services.preview_distribution(root, "equal", {}).versions
    db.session.expire_all()
    root = db.session.get(WorkItem, root.id)
    with count_queries() as q:
        services.apply_distribution(root, "equal", {}, users["oobc_staff"], versions)
    assert q.count <= 10


def test_a_stale_version_is_a_conflict_naming_what_changed_and_nothing_is_written(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    versions = services.preview_distribution(root, "equal", {}).versions
    workitem_services.update_work_item(planning, planning.version, users["oobc_staff"], title="Planning & Design")
    with pytest.raises(Conflict) as caught:
        services.apply_distribution(root, "equal", {}, users["oobc_staff"], versions)
    assert "Planning & Design · title" in caught.value.changed_fields
    assert caught.value.changed_fields["Planning & Design · title"]["current"] == "Planning & Design"
    assert allocations(planning, implementation, evaluation) == [D("0.00")] * 3
    assert distributions() == []


def test_a_child_added_since_is_a_conflict(tracked, users):
    _, root, kids = tracked
    versions = services.preview_distribution(root, "equal", {}).versions
    workitem_services.create_work_item(root, users["oobc_staff"], title="Late addition", work_type="activity")
    versions.pop(root.id)
    versions[root.id] = db.session.get(WorkItem, root.id).version  # even with the root's new version
    with pytest.raises(Conflict) as caught:
        services.apply_distribution(root, "equal", {}, users["oobc_staff"], versions)
    assert "Late addition" in caught.value.changed_fields["children"]["current"]
    assert distributions() == []


def test_invalid_inputs_are_refused_naming_the_child_and_nothing_is_written(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    versions = services.preview_distribution(root, "manual", {}).versions
    with pytest.raises(ValidationFailed) as caught:
        services.apply_distribution(root, "manual", {planning.id: "100", implementation.id: "-1",
                                                     evaluation.id: "x"}, users["oobc_staff"], versions)
    assert caught.value.errors[str(implementation.id)] == ["Implementation: The amount must be 0 or more."]
    assert caught.value.errors[str(evaluation.id)] == ["Evaluation: The amount is not a number."]
    assert "Implementation" in caught.value.detail
    assert allocations(planning, implementation, evaluation) == [D("0.00")] * 3
    assert distributions() == []


def test_over_allocation_is_refused_for_the_node_and_for_a_child_with_items_below(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    versions = services.preview_distribution(root, "equal", {}).versions
    with pytest.raises(ValidationFailed) as caught:
        services.apply_distribution(root, "equal", {}, actor, versions, amount="1000000.01")
    assert "₱ 0.01 more than its ₱ 1,000,000.00" in caught.value.detail
    services.apply_distribution(root, "manual", {planning.id: "200000", implementation.id: "600000",
                                                 evaluation.id: "200000"}, actor, versions)
    services.apply_distribution(implementation, "equal", {}, actor,
                                services.preview_distribution(implementation, "equal", {}).versions)
    inputs = {planning.id: "600000", implementation.id: "100000", evaluation.id: "300000"}
    preview = services.preview_distribution(root, "manual", inputs)
    assert not preview.is_valid
    with pytest.raises(ValidationFailed) as caught:
        services.apply_distribution(root, "manual", inputs, actor, preview.versions)
    assert caught.value.errors[str(implementation.id)] == [
        "The children of 'Implementation' would be allocated ₱ 600,000.00, ₱ 500,000.00 more than its ₱ 100,000.00."]
    assert allocations(planning, implementation, evaluation) == [D("200000.00"), D("600000.00"), D("200000.00")]


def test_permissions_and_scope(tracked, users):
    _, root, _ = tracked
    versions = services.preview_distribution(root, "equal", {}).versions
    for username in ("viewer", "mfbm_analyst", "other_moa_staff"):
        with pytest.raises(NotAllowed):
            services.apply_distribution(root, "equal", {}, users[username], versions)
    assert distributions() == []


def test_a_tree_without_a_ppa_is_refused(users):
    actor = users["oobc_staff"]
    root = workitem_services.create_work_item(None, actor, title="Loose", work_type="project", allocated_budget="10")
    workitem_services.create_work_item(root, actor, title="Part", work_type="task")
    with pytest.raises(ValidationFailed, match="belongs to no PPA"):
        services.apply_distribution(root, "equal", {}, actor, services.preview_distribution(root, "equal", {}).versions)


def _apply(node, method, inputs, actor, amount=None):
    return services.apply_distribution(node, method, inputs, actor,
                                       services.preview_distribution(node, method, inputs, amount).versions, amount)


def test_restore_applies_an_earlier_result_again_as_a_new_record(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    first = _apply(root, "weighted", {planning.id: "20", implementation.id: "60", evaluation.id: "20"}, actor)
    _apply(root, "equal", {}, actor)
    assert allocations(planning, implementation, evaluation) == [D("333333.34"), D("333333.33"), D("333333.33")]

    restored = services.restore_distribution(first, users["moa_staff"])

    assert allocations(planning, implementation, evaluation) == [D("200000.00"), D("600000.00"), D("200000.00")]
    assert restored.restored_from_id == first.id and restored.method == "weighted"
    assert restored.result == first.result and restored.inputs == first.inputs
    assert restored.before == {str(planning.id): "333333.34", str(implementation.id): "333333.33",
                               str(evaluation.id): "333333.33"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.cause == f"budget distribution #{restored.id}", AuditEntry.field == "allocated_budget")) == 3


def test_restore_is_refused_when_the_children_changed(tracked, users):
    _, root, kids = tracked
    actor = users["oobc_staff"]
    first = _apply(root, "equal", {}, actor)
    workitem_services.delete_work_item(kids[2], actor, kids[2].version)
    with pytest.raises(Conflict, match="cannot be restored"):
        services.restore_distribution(first, actor)


def test_history_newest_first_with_before_and_after_and_restorable(tracked, users):
    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    first = _apply(root, "manual", {planning.id: "100000", implementation.id: "800000", evaluation.id: "100000"},
                   actor)
    second = _apply(implementation, "equal", {}, actor)
    workitem_services.create_work_item(implementation, actor, title="Phase 3", work_type="activity")

    history = services.distribution_history(ppa)

    assert [entry.distribution for entry in history] == [second, first]
    assert history[1].node_title == "Program" and history[1].restorable
    assert history[1].lines == [(planning.id, "Planning", D("0.00"), D("100000.00")),
                                (implementation.id, "Implementation", D("0.00"), D("800000.00")),
                                (evaluation.id, "Evaluation", D("0.00"), D("100000.00"))]
    assert history[0].node_title == "Implementation" and not history[0].restorable
    assert history[0].why_not == "the items under it changed since"
    assert history[0].distribution.created_by.username == "oobc_staff"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_applied_distributions_always_sum_exactly_to_the_amount(make_tracked_ppa, users, data):
    count = data.draw(st.integers(1, 7), label="children")
    budget = D(data.draw(st.integers(1, 99_999_999_999_999), label="budget cents")) / 100
    with db.session.begin_nested() as savepoint:
        _, root, kids = make_tracked_ppa(budget=str(budget), children=[f"Child {i}" for i in range(count)])
        amount = D(data.draw(st.integers(1, int(budget * 100)), label="amount cents")) / 100
        method = data.draw(st.sampled_from(["equal", "weighted"]), label="method")
        inputs = {}
        if method == "weighted":
            cuts = sorted(data.draw(st.lists(st.integers(0, 10000), min_size=count - 1, max_size=count - 1)))
            bounds = [0, *cuts, 10000]
            inputs = {k.id: str(D(bounds[i + 1] - bounds[i]) / 100) for i, k in enumerate(kids)}
        _apply(root, method, inputs, users["oobc_staff"], amount=amount)
        assert sum(allocations(*kids)) == amount
        ideal = [amount / count] * count if method == "equal" else \
            [amount * D(inputs[k.id]) / 100 for k in kids]
        assert all(abs(a - i) < D("0.01") for a, i in zip(allocations(*kids), ideal, strict=True))
        savepoint.rollback()


def _implementation_split(tracked, actor):
    """Implementation holds 600,000 split over Phase 1 and Phase 2 (300,000 each)."""
    _, root, (planning, implementation, evaluation) = tracked
    _apply(root, "manual", {planning.id: "200000", implementation.id: "600000", evaluation.id: "200000"}, actor)
    _apply(implementation, "equal", {}, actor)
    return [db.session.scalar(sa.select(WorkItem).where(WorkItem.title == t)) for t in ("Phase 1", "Phase 2")]


def test_a_rescale_scales_the_items_below_a_short_share_in_proportion_previewed_first(tracked, users, count_queries):
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    phases = _implementation_split(tracked, actor)
    inputs = {planning.id: "600000", implementation.id: "100000", evaluation.id: "300000"}

    plain = services.preview_distribution(root, "manual", inputs)
    assert not plain.is_valid and plain.may_rescale and not plain.rescale
    with count_queries() as q:
        preview = services.preview_distribution(root, "manual", inputs, rescale=True)
    assert q.count == 2 and preview.is_valid and preview.rescale
    line = preview.lines[1]
    assert [(item.title, item.allocated_budget, item.share) for item in line.rescaled] == [
        ("Phase 1", D("300000.00"), D("50000.00")), ("Phase 2", D("300000.00"), D("50000.00"))]
    assert preview.rescaled_versions == {p.id: p.version for p in phases}
    assert allocations(*phases) == [D("300000.00")] * 2  # a preview writes nothing

    record = services.apply(root.id, "manual", inputs, actor, preview.versions, rescale=True,
                            expected_rescaled=preview.rescaled_versions).record

    assert allocations(planning, implementation, evaluation, *phases) == [
        D("600000.00"), D("100000.00"), D("300000.00"), D("50000.00"), D("50000.00")]
    assert record.inputs["rescaled"] == {str(implementation.id): {
        str(phases[0].id): ["300000.00", "50000.00"], str(phases[1].id): ["300000.00", "50000.00"]}}
    rows = db.session.execute(sa.select(AuditEntry.object_id, AuditEntry.old_value, AuditEntry.new_value).where(
        AuditEntry.cause == f"budget distribution #{record.id}", AuditEntry.field == "allocated_budget")).all()
    assert {r.object_id for r in rows} == {planning.id, implementation.id, evaluation.id, *(p.id for p in phases)}
    assert [services.distribution_history(tracked[0])[0].rescaled_count] == [2]


def test_undoing_a_rescale_brings_the_items_below_back_and_a_changed_item_refuses_it(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    phases = _implementation_split(tracked, actor)
    inputs = {planning.id: "600000", implementation.id: "100000", evaluation.id: "300000"}
    record = services.apply_distribution(root, "manual", inputs, actor,
                                         services.preview_distribution(root, "manual", inputs).versions, rescale=True)

    undone = services.restore_distribution(record, actor, undo=True)

    assert allocations(planning, implementation, evaluation, *phases) == [
        D("200000.00"), D("600000.00"), D("200000.00"), D("300000.00"), D("300000.00")]
    assert undone.inputs["undo_of"] == record.id
    assert undone.inputs["rescaled"][str(implementation.id)][str(phases[0].id)] == ["50000.00", "300000.00"]

    again = services.apply_distribution(root, "manual", inputs, actor,
                                        services.preview_distribution(root, "manual", inputs).versions, rescale=True)
    phase = db.session.get(WorkItem, phases[0].id)
    workitem_services.update_work_item(phase, phase.version, actor, allocated_budget="40000")
    with pytest.raises(Conflict, match="Phase 1"):
        services.restore_distribution(again, actor, undo=True)
    assert allocations(*phases) == [D("40000.00"), D("50000.00")]


def test_a_rescale_of_items_changed_since_the_preview_is_a_conflict(tracked, users):
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    phases = _implementation_split(tracked, actor)
    inputs = {planning.id: "600000", implementation.id: "100000", evaluation.id: "300000"}
    preview = services.preview_distribution(root, "manual", inputs, rescale=True)
    phase = db.session.get(WorkItem, phases[1].id)
    workitem_services.update_work_item(phase, phase.version, actor, allocated_budget="200000")
    with pytest.raises(Conflict, match="Phase 2") as caught:
        services.apply(root.id, "manual", inputs, actor, preview.versions, rescale=True,
                       expected_rescaled=preview.rescaled_versions)
    assert caught.value.changed_fields["items below"]["current"] == "Phase 2"
    assert allocations(implementation, *phases) == [D("600000.00"), D("300000.00"), D("200000.00")]
