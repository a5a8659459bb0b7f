"""Who may do what, and which rows a user may see. Deny by default.

    require(current_user, "ppa.edit", ppa)          # raises NotAllowed
    if can(current_user, "admin.console"): ...
    stmt = scope(select(Ppa), Ppa, current_user)    # rows of the user's organization, or all, or none

A scoped model names the column holding its organization in `__scope_column__`.
"""
import sqlalchemy as sa

from ..errors import NotAllowed, NotFound
from ..extensions import db

READ_ALL = ("admin", "oobc_executive", "oobc_staff", "mfbm_analyst", "bpda_planner")
EDIT_ALL = ("admin", "oobc_executive", "oobc_staff")

# Permission → roles that hold it. A permission not listed here is refused to everyone.
PERMISSIONS = {
    "admin.console": {"admin"},
    "audit.read": {"admin"},
    "jobs.run": {"admin"},
    "dashboard.view": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                       "viewer"},
    # Domain data: the object (when given) is further checked against the user's organization.
    "ppa.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner", "viewer"},
    "ppa.create": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "ppa.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "ppa.delete": {"admin", "oobc_executive"},
    "ppa.tracking.disable": {"admin", "oobc_executive"},
    "ppa.funding.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "workitem.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                      "viewer"},
    "workitem.edit": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "workitem.delete": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    "budget.distribute": {"admin", "oobc_executive", "oobc_staff", "moa_staff"},
    # Everyone reads (and marks read) their own notifications only.
    "notification.read": {"admin", "oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                          "viewer"},
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


def describe_refusal(permission):
    roles = sorted(PERMISSIONS.get(permission, ()))
    who = ", ".join(r.replace("_", " ") for r in roles) or "nobody"
    return f"This needs the permission '{permission}', held by: {who} (and, for MOA roles, only within their own organization)."


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
    obj = db.session.scalar(scope(sa.select(model).where(model.id == object_id), model, user))
    if obj is None:
        raise NotFound(f"There is no {label or model.__name__} #{object_id} here.")
    require(user, permission, obj)
    return obj
