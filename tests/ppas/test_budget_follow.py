"""A PPA's budget allocation and dates reach its execution project's root (DOMAIN.md "Structure templates"):
through the tree's write path, audited with a cause, refused when the budget would drop below what the root's
children already hold."""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.errors import ValidationFailed
from obcms.extensions import db
from obcms.ppas import services, tracking
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem
from obcms.workitems.rollup import allocation_tree

from .test_views import form_data


def _tracked(make_ppa, users, template="program"):
    ppa = make_ppa(budget_allocation=Decimal("1000000.00"))
    root = tracking.enable_tracking(ppa, users["moa_staff"], template, "equal")
    db.session.refresh(ppa)
    return ppa, root


def test_a_higher_budget_raises_the_root_and_its_unallocated(make_ppa, users):
    ppa, root = _tracked(make_ppa, users)
    assert allocation_tree(root)[0]["unallocated"] == Decimal("0.00")
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], budget_allocation=Decimal("1250000.00"))
    db.session.expire_all()
    top = allocation_tree(db.session.get(WorkItem, root.id))[0]
    assert (top["allocated"], top["children_allocated"], top["unallocated"]) == (
        Decimal("1250000.00"), Decimal("1000000.00"), Decimal("250000.00"))
    causes = set(db.session.scalars(sa.select(AuditEntry.cause).where(
        AuditEntry.object_type == "work_item", AuditEntry.object_id == root.id,
        AuditEntry.field == "allocated_budget", AuditEntry.action == "update")))
    assert causes == {f"the plan of {ppa.display_code} changed"}


def test_a_budget_below_the_children_is_refused_naming_the_amount(make_ppa, users):
    ppa, root = _tracked(make_ppa, users)
    with pytest.raises(ValidationFailed) as error:
        services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], budget_allocation=Decimal("900000.00"))
    assert error.value.errors == {"budget_allocation": [
        "The work items already hold ₱ 1,000,000.00; the budget cannot go below that."]}


def test_the_refusal_through_the_edit_page_writes_nothing(make_ppa, users, client_as, csrf_token, organizations):
    ppa, root = _tracked(make_ppa, users, "minimal")
    ppa_id, root_id, version = ppa.id, root.id, ppa.version
    client = client_as("moa_staff")
    data = form_data(csrf_token(client), organizations, version=str(version), budget_allocation="999,999.99",
                     start_date="2026-01-01", target_end_date="2026-12-31", milestones="", outcome_framework="")
    response = client.post(f"/ppas/{ppa_id}/edit", data=data)
    assert response.status_code == 422
    assert "The work items already hold ₱ 1,000,000.00; the budget cannot go below that." in response.get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(Ppa, ppa_id).version == version
    assert db.session.get(Ppa, ppa_id).budget_allocation == Decimal("1000000.00")
    assert db.session.get(WorkItem, root_id).allocated_budget == Decimal("1000000.00")


def test_new_dates_move_the_root_only(make_ppa, users):
    ppa, root = _tracked(make_ppa, users)
    children = {c.id: (c.start_date, c.due_date) for c in db.session.scalars(
        sa.select(WorkItem).where(WorkItem.parent_id == root.id))}
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], start_date=date(2025, 12, 1),
                        target_end_date=date(2027, 1, 31))
    db.session.expire_all()
    moved = db.session.get(WorkItem, root.id)
    assert (moved.start_date, moved.due_date) == (date(2025, 12, 1), date(2027, 1, 31))
    assert {c.id: (c.start_date, c.due_date) for c in db.session.scalars(
        sa.select(WorkItem).where(WorkItem.parent_id == root.id))} == children
    fields = set(db.session.scalars(sa.select(AuditEntry.field).where(
        AuditEntry.object_type == "work_item", AuditEntry.object_id == root.id, AuditEntry.action == "update",
        AuditEntry.cause == f"the plan of {ppa.display_code} changed")))
    assert fields == {"start_date", "due_date"}


def test_other_edits_and_untracked_ppas_leave_work_items_alone(make_ppa, users):
    ppa, root = _tracked(make_ppa, users)
    version = root.version
    services.update_ppa(ppa, ppa.version, actor=users["moa_staff"], title="Renamed")
    db.session.expire_all()
    assert db.session.get(WorkItem, root.id).version == version

    untracked = make_ppa()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem))
    services.update_ppa(untracked, untracked.version, actor=users["moa_staff"],
                        budget_allocation=Decimal("10.00"))
    assert untracked.budget_allocation == Decimal("10.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == count
