"""A PPA with its execution project: root "Program" (the PPA budget) → Planning, Implementation (→ Phase 1,
Phase 2), Evaluation; all children at 0 until distributed."""
from datetime import date
from decimal import Decimal

import pytest

from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services


@pytest.fixture
def make_tracked_ppa(organizations, users):
    def make(budget="1000000.00", children=("Planning", "Implementation", "Evaluation"), organization="MSSD"):
        actor = users["oobc_staff"]
        org = organizations[organization]
        ppa = Ppa(title="Livelihood program", category="moa_ppa", fiscal_year=2026, sector="social",
                  implementing_moa_id=org.id, budget_allocation=Decimal(budget),
                  start_date=date(2026, 1, 1), target_end_date=date(2026, 12, 31), workitem_tracking_enabled=True)
        db.session.add(ppa)
        db.session.flush()
        root = workitem_services.create_work_item(None, actor, title="Program", work_type="project",
                                                  allocated_budget=budget, ppa_id=ppa.id, organization_id=org.id)
        ppa.execution_project_id = root.id
        db.session.flush()
        kids = [workitem_services.create_work_item(root, actor, title=title, work_type="sub_project")
                for title in children]
        return ppa, root, kids

    return make


@pytest.fixture
def tracked(make_tracked_ppa, users):
    """(ppa, root, [Planning, Implementation, Evaluation]); Implementation has Phase 1 and Phase 2."""
    ppa, root, kids = make_tracked_ppa()
    for title in ("Phase 1", "Phase 2"):
        workitem_services.create_work_item(kids[1], users["oobc_staff"], title=title, work_type="activity")
    return ppa, root, kids


@pytest.fixture
def allocated(tracked, users):
    """The tracked tree with Planning 200k, Implementation 600k and Evaluation 200k allocated, committed:
    (ppa, root, planning, implementation, evaluation)."""
    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    for item, amount in ((planning, "200000"), (implementation, "600000"), (evaluation, "200000")):
        workitem_services.update_work_item(item, item.version, actor, allocated_budget=amount)
    db.session.commit()
    return ppa, root, planning, implementation, evaluation
