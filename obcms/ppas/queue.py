"""Who is waiting for whom in the approval workflow: the approval queue of a role, and since when a PPA has
been in its state (from the transition log, not its last edit).

    approval_queue(current_user)          # [(ppa, entered_at)] the user may act on now, longest waiting first
    waiting_states("mfbm_analyst")        # ("budget_review", "technical_review")
"""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..auth.permissions import scope
from ..extensions import db
from ..workflow.models import TransitionLog
from .approval import APPROVAL_MACHINE, REVIEW_STATES
from .models import Ppa

QUEUE_SIZE = 20


def waiting_states(role):
    """The states in which a PPA waits for `role`: those it may move the PPA on from (reject aside, and draft
    aside: a draft is still being written, not waiting)."""
    states = {source for t in APPROVAL_MACHINE.transitions if t.name != "reject" and t.roles and role in t.roles
              for source in t.sources}
    return tuple(sorted(states - {"draft"}))


def entered_at():
    """A correlated scalar: when the PPA entered its current approval state (None when it never moved)."""
    return (sa.select(sa.func.max(TransitionLog.at))
            .where(TransitionLog.object_type == APPROVAL_MACHINE.object_type, TransitionLog.object_id == Ppa.id,
                   TransitionLog.to_state == Ppa.approval_status)
            .scalar_subquery())


def approval_queue(user, limit=QUEUE_SIZE):
    """[(ppa, entered_at)] waiting for the user's role, in the user's scope, longest waiting first; PPAs the
    user submitted are left out (nobody reviews their own submission). One query."""
    states = waiting_states(user.role)
    if not states:
        return []
    since = entered_at().label("entered_at")
    stmt = (scope(sa.select(Ppa, since), Ppa, user)
            .where(Ppa.approval_status.in_(states),
                   sa.or_(Ppa.approval_status.not_in(REVIEW_STATES), Ppa.submitted_by_id.is_(None),
                          Ppa.submitted_by_id != user.id))
            .options(joinedload(Ppa.implementing_moa))
            .order_by(since.asc().nulls_first(), Ppa.id).limit(limit))
    return [(row.Ppa, row.entered_at) for row in db.session.execute(stmt)]
