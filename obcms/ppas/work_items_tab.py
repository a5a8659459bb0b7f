"""What the PPA's Work Items tab shows: the execution project's tree with its stat cards and progress by work
type when tracking is on; else the "Enable WorkItem tracking" form with a preview of the tree to generate.

Queries (beyond the PPA the detail page loaded): tracked → the root, the shown rows, their assignees, the
counts by type (4); not tracked → none (the preview is computed from the PPA's own fields)."""
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from ..auth.permissions import can
from ..extensions import db
from ..workitems import outline
from ..workitems.models import WORK_TYPES, WorkItem
from . import tracking
from .models import DISTRIBUTION_POLICIES, choices

W = WorkItem.__table__
PLURALS = {"project": "Projects", "sub_project": "Sub-projects", "activity": "Activities",
           "sub_activity": "Sub-activities", "task": "Tasks", "subtask": "Subtasks"}


@dataclass(frozen=True)
class TypeProgress:
    """Counts and average progress of one work type in a tree (completed counts 100; cancelled left out)."""

    work_type: str
    count: int
    completed: int
    average: int | None

    @property
    def label(self):
        return PLURALS[self.work_type]


@cache
def _progress_statement():
    """progress_by_type's GROUP BY, built once (the tab shows it on every load)."""
    counted = W.c.status != "cancelled"
    effective = sa.case((W.c.status == "completed", 100), else_=W.c.progress)
    return (sa.select(W.c.work_type, sa.func.count(),
                      sa.func.sum(sa.case((W.c.status == "completed", 1), else_=0)),
                      sa.func.sum(sa.case((counted, effective), else_=0)),
                      sa.func.sum(sa.case((counted, 1), else_=0)))
            .where(W.c.tree_id == sa.bindparam("root_id", type_=sa.Integer)).group_by(W.c.work_type))


def progress_by_type(root_id, session=None):
    """[TypeProgress] in WORK_TYPES order for the tree of `root_id`, from one GROUP BY query."""
    session = session or db.session
    found = {t: (int(n), int(done or 0), int(total or 0), int(counted_n or 0))
             for t, n, done, total, counted_n in session.execute(_progress_statement(), {"root_id": root_id})}
    out = []
    for work_type in WORK_TYPES:
        if work_type in found:
            n, done, total, counted_n = found[work_type]
            average = (2 * total + counted_n) // (2 * counted_n) if counted_n else None  # half up
            out.append(TypeProgress(work_type, n, done, average))
    return out


def enable_form_context(ppa, template=None, policy=None, errors=None):
    template = template if template in tracking.TEMPLATES else (ppa.structure_template or tracking.DEFAULT_TEMPLATE)
    policy = policy if policy in DISTRIBUTION_POLICIES else ppa.budget_distribution_policy
    preview = tracking.flatten(tracking.preview_structure(ppa, template))
    return dict(template=template, policy=policy, preview=preview, errors=errors or {},
                template_options=[(t, f"{t.capitalize()}: {tracking.TEMPLATE_DESCRIPTIONS[t]}")
                                  for t in tracking.TEMPLATES],
                policy_options=choices(DISTRIBUTION_POLICIES))


def work_items_context(ppa, user, open_value=None, form=None):
    """The tab's context under the name `work_items`."""
    context = dict(may_edit=can(user, "ppa.edit", ppa), may_disable=can(user, "ppa.tracking.disable", ppa),
                   tree=None, by_type=[], form=None)
    if ppa.workitem_tracking_enabled and ppa.execution_project_id is not None:
        root = db.session.get(WorkItem, ppa.execution_project_id)
        if root is not None and can(user, "workitem.read", root):
            context["tree"] = outline.tree_view(root, user, outline.parse_open(open_value))
            context["by_type"] = progress_by_type(root.id)
    elif not ppa.workitem_tracking_enabled:
        context["form"] = form or enable_form_context(ppa)
    return context
