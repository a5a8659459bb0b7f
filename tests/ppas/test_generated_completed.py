"""Work items generated as completed carry completed_at, like any completed item (the milestone template's
completed milestones, the root of a completed PPA); the others have none."""
from datetime import date

import sqlalchemy as sa

from obcms.extensions import db
from obcms.ppas import tracking
from obcms.workitems.models import WorkItem

MILESTONES = [{"date": "2026-03-31", "title": "Kits bought", "status": "completed"},
              {"date": "2026-06-30", "title": "Kits delivered", "status": "in_progress"},
              {"date": "2026-09-30", "title": "Follow-up visits", "status": "pending"}]


def _completed_at(root):
    return dict(db.session.execute(sa.select(WorkItem.title, WorkItem.completed_at)
                                   .where(WorkItem.tree_id == root.id)).all())


def test_a_completed_milestone_is_generated_with_completed_at(make_ppa, users):
    ppa = make_ppa(milestones=MILESTONES)
    root = tracking.enable_tracking(ppa, users["moa_staff"], "milestone", "equal")
    stamps = _completed_at(root)
    assert stamps["Kits bought"] is not None
    assert stamps["Kits delivered"] is None and stamps["Follow-up visits"] is None
    assert stamps[ppa.title] is None


def test_the_root_of_a_completed_ppa_and_its_all_completed_milestones(make_ppa, users):
    ppa = make_ppa(status="completed", progress=100, actual_end_date=date(2026, 12, 1),
                   milestones=[{**m, "status": "completed"} for m in MILESTONES])
    root = tracking.enable_tracking(ppa, users["moa_staff"], "milestone", "equal")
    assert all(stamp is not None for stamp in _completed_at(root).values())
    assert db.session.get(WorkItem, root.id).status == "completed"


def test_nothing_completed_nothing_stamped(make_ppa, users):
    ppa = make_ppa()
    root = tracking.enable_tracking(ppa, users["moa_staff"], "program", "equal")
    assert set(_completed_at(root).values()) == {None}
