"""Who may do what, and which rows a user may see. Deny by default.

    require(current_user, "ppa.edit", ppa)          # raises NotAllowed
    if can(current_user, "admin.console"): ...
    stmt = scope(select(Ppa), Ppa, current_user)    # rows of the user's organization, or all, or none

A scoped model names the column holding its organization in `__scope_column__`.
"""
import functools

import sqlalchemy as sa

from ..audit.queries import deletion_of, how_long_ago
from ..errors import NotAllowed, NotFound
from ..extensions import db
from .models import ORGANIZATION_SCOPED_ROLES, ROLE_LABELS, ROLES, User

READ_ALL = ("admin", "oobc_executive", "oobc_staff", "mfbm_analyst", "bpda_planner")
EDIT_ALL = ("admin", "oobc_executive", "oobc_staff")

# Permission → roles that hold it. A permission not listed here is refused to everyone.
PERMISSIONS = {
    "admin.console": {"admin"},
    "audit.read": {"admin"},
    "jobs.run": {"admin"},
    # While maintenance mode is on (obcms/ops/maintenance.py), only these roles use obcms (and see a banner).
    "maintenance.bypass": {"admin"},
    "dashboard.view": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                       "viewer"},
    "task.list": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer"},
    # The team view (tasks and load per person): OOBC's leads. MOA staff have no lead role to tell a lead from a
    # member, so they do not see their colleagues' loads; the view is scoped by organization all the same.
    "task.team": {"admin", "oobc_executive", "oobc_staff"},
    # Domain data: the object (when given) is further checked against the user's organization.
    "ppa.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer"},
    "ppa.create": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "ppa.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "ppa.delete": {"admin", "oobc_executive"},
    "ppa.tracking.disable": {"admin", "oobc_executive"},
    "ppa.funding.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # Bulk operations from the PPA list and My tasks (obcms/bulk): each item is checked as a single action would
    # be (the approval workflow's roles, editors of a task's organization); these only open the bulk bar.
    "ppa.bulk": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner"},
    "task.bulk": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "workitem.bulk": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # A resource's bookings (approve, reject, cancel: each booking checked by the booking machine) and the
    # budget variance alerts (acknowledge, resolve).
    "booking.bulk": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner"},
    "alert.bulk": {"admin", "oobc_executive", "oobc_staff", "mfbm_analyst"},
    "workitem.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                      "viewer"},
    "workitem.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "workitem.delete": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "budget.distribute": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # Posting obligations, disbursements and adjustments on work items, and reversing them (obcms/budget/ledger.py).
    "budget.record": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # The calendar: everyone reads what their scope allows; staff create events (and edit their own);
    # calendar.manage edits anyone's events within the organization (all for the global roles).
    "calendar.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                      "viewer"},
    "calendar.create": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner"},
    "calendar.manage": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # Booking a resource; deciding on bookings is for the resource's approvers (and admins).
    "calendar.book": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner"},
    "calendar.bookings.decide": {"admin"},
    # A personal ICS subscription of what the user may see.
    "calendar.subscribe": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                           "viewer"},
    # Budget variance alerts (obcms/ppas/variances.py): the budget reviewers and OOBC read and act on them.
    "alert.read": {"admin", "oobc_executive", "oobc_staff", "mfbm_analyst"},
    "alert.act": {"admin", "oobc_executive", "oobc_staff", "mfbm_analyst"},
    # Assessments (scoped by their organization); creating one generates its tasks.
    "assessment.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                        "viewer"},
    "assessment.create": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "assessment.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # Everyone reads (and marks read) their own notifications only.
    "notification.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                          "viewer"},
    # The oversight reports (obcms/reports): the oversight agencies and OOBC, and MOA staff for their own PPAs
    # (every report query is scoped). The policy register is read by all and kept by OOBC and BPDA.
    "report.generate": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner"},
    "policy.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer"},
    "policy.edit": {"admin", "oobc_executive", "oobc_staff", "bpda_planner"},
    # Personal access tokens for the JSON API (a token acts as its user, within the user's own permissions).
    "api.tokens": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer"},
}


def organization_of(obj):
    column = getattr(type(obj), "__scope_column__", None)
    return getattr(obj, column) if column else None


def can(user, permission, obj=None):
    """True when the user holds the permission and, for a scoped object, may reach its organization."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.role not in PERMISSIONS.get(permission, ()):
        return False
    if obj is None or user.role in READ_ALL:
        return True
    column = getattr(type(obj), "__scope_column__", None)
    if column is None:
        return False  # an object that does not say how it is scoped is reachable only by global roles
    return user.organization_id is not None and getattr(obj, column) == user.organization_id


def require(user, permission, obj=None):
    if not can(user, permission, obj):
        raise NotAllowed(describe_refusal(permission))
    return True


# What a person was doing when a permission refused them (the 403 says it, then who may).
ACTIONS = {
    "admin.console": "open the admin console",
    "audit.read": "read the audit log",
    "jobs.run": "run background jobs",
    "dashboard.view": "open the home page",
    "task.list": "see your tasks",
    "task.team": "see the tasks and load of your team",
    "ppa.read": "see PPAs",
    "ppa.create": "create a PPA",
    "ppa.edit": "edit this PPA",
    "ppa.delete": "delete this PPA",
    "ppa.tracking.disable": "disable WorkItem tracking of this PPA",
    "ppa.funding.edit": "record money movements of this PPA",
    "ppa.bulk": "act on many PPAs at once",
    "task.bulk": "change many tasks at once",
    "workitem.bulk": "change or delete many work items at once",
    "booking.bulk": "decide on or cancel many bookings at once",
    "alert.bulk": "acknowledge or resolve many budget alerts at once",
    "workitem.read": "see work items",
    "workitem.edit": "add or change work items",
    "workitem.delete": "delete work items",
    "budget.distribute": "distribute a budget over work items",
    "budget.record": "record obligations and disbursements",
    "notification.read": "read notifications",
    "calendar.read": "see the calendar",
    "calendar.create": "add calendar events",
    "calendar.manage": "change or delete this calendar event",
    "calendar.book": "book a resource",
    "calendar.bookings.decide": "approve or reject bookings of this resource",
    "calendar.subscribe": "subscribe to the calendar",
    "alert.read": "see budget variance alerts",
    "alert.act": "acknowledge or resolve budget variance alerts",
    "assessment.read": "see assessments",
    "assessment.create": "start an assessment",
    "assessment.edit": "change this assessment",
    "report.generate": "generate reports",
    "policy.read": "see the policy register",
    "policy.edit": "change the policy register",
    "api.tokens": "create or revoke API tokens",
}


def describe_refusal(permission):
    """The 403's words: what the user tried, and the roles (by their labels) that may do it."""
    tried = ACTIONS.get(permission, f"do this ({permission})")
    roles = [r for r in ROLES if r in PERMISSIONS.get(permission, ())]
    if not roles:
        return f"You tried to {tried}. Nobody may do that here."
    who = ", ".join(ROLE_LABELS.get(r, r) for r in roles)
    scoped = [ROLE_LABELS.get(r, r) for r in roles if r in ORGANIZATION_SCOPED_ROLES]
    within = f" ({' and '.join(scoped)} only within their own organization)" if scoped else ""
    return f"You tried to {tried}. That is for: {who}{within}."


def scope(stmt, model, user):
    """Restrict a SELECT to the rows of `model` the user may see. Unknown roles and anonymous users see none."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return stmt.where(sa.false())
    if user.role in READ_ALL:
        return stmt
    column_name = getattr(model, "__scope_column__", None)
    if column_name is None or user.organization_id is None:
        return stmt.where(sa.false())
    return stmt.where(getattr(model, column_name) == user.organization_id)


def load_in_scope(model, object_id, user, permission, label=None):
    """The `model` row with this id when it is within the user's scope — else NotFound (404: out of scope
    looks like missing) — and the user holds `permission` on it (else NotAllowed). One query."""
    obj = db.session.scalar(scope(_by_id_statement(model), model, user), {"object_id": object_id})
    if obj is None:
        raise not_found(model, object_id, user, label)
    require(user, permission, obj)
    return obj


@functools.cache
def _by_id_statement(model):
    """SELECT model WHERE id = :object_id, built once per model (load_in_scope runs on most pages)."""
    return sa.select(model).where(model.id == sa.bindparam("object_id"))


def not_found(model, object_id, user, label=None):
    """The 404 for an object that is not (or no longer) there. When the audit trail recorded its deletion
    (a colleague may have deleted it while this page was being made) it says who and when — to users who
    see everything, or of the deleter's organization; to others, as for anything out of scope, "there is none"."""
    name = label or model.__name__
    deleted = deletion_of(model, object_id)
    if deleted is not None and user is not None and getattr(user, "is_authenticated", False):
        deleter = db.session.get(User, deleted.actor_user_id) if deleted.actor_user_id else None
        if user.role in READ_ALL or (deleter is not None and deleter.organization_id == user.organization_id):
            who = deleter.display_name if deleter is not None else deleted.actor_label
            return NotFound(f"This {name} (#{object_id}) was deleted by {who}, {how_long_ago(deleted.at)}.")
    return NotFound(f"There is no {name} #{object_id} here.")
