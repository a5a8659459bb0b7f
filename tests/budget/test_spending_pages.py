"""What the ledger records is what the pages show: the tree's "Spent" is each node's rolled-up disbursements,
and the portfolio dashboard's money charts carry the ledger's obligations and disbursements (through the
mirror tranches, which `money check` proves equal to the tree's roll-ups)."""
from obcms.budget import ledger
from obcms.extensions import db


def _record(item, actor, kind, amount, reference):
    ledger.record_entry(item, actor, kind, amount, item.created_at.date(), reference, "Supplier")


def test_recorded_money_reaches_the_tree_the_budget_tab_and_the_dashboard(allocated, users, client_as):
    ppa, root, planning, implementation, evaluation = allocated
    actor = users["oobc_staff"]
    _record(planning, actor, "obligation", "1234.00", "ORS-1")
    _record(planning, actor, "disbursement", "567.89", "DV-1")
    db.session.commit()
    client = client_as("oobc_executive")

    tree = client.get(f"/work-items/{root.id}").get_data(as_text=True)
    assert "567.89" in tree
    budget = client.get(f"/ppas/{ppa.id}/budget").get_data(as_text=True)
    assert budget.count("567.89") >= 2  # Spent in the allocation tree and Disbursed in the stages, for the root too
    dashboard = client.get("/ppas/dashboard").get_data(as_text=True)
    assert "1,234.00" in dashboard and "567.89" in dashboard
    assert ledger.check_money() == []
