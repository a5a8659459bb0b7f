"""The policy register's rules: create and edit policies (version-checked), link them to PPAs. Never commits.

    policy = create_policy(user, title="Bangsamoro Education Code", reference="BAA-18", status="active")
    update_policy(policy, form_version, user, title="…")          # Conflict (409) when stale
    link_policy(ppa, policy_id, user); unlink_policy(ppa, policy_id, user)
    policies_page(user, page); policies_of(ppa_id); linked, linkable = policies_of(ppa_id, with_linkable=True)
"""
import functools

import sqlalchemy as sa

from ..auth.permissions import require
from ..database import lock_rows
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..ids import parse_id
from ..pagination import paginate
from ..ppas.models import Ppa
from ..workflow.locking import versioned_update
from .models import POLICY_STATUSES, Policy, ppa_policies

FIELDS = ("title", "reference", "status")
TITLE_LENGTH = 300
REFERENCE_LENGTH = 80
STATUS_LABELS = {"draft": "Draft", "active": "Active", "superseded": "Superseded", "repealed": "Repealed"}


def _clean(values, policy=None):
    errors = {}
    title = (values.get("title") or "").strip()
    reference = (values.get("reference") or "").strip()
    if not title:
        errors["title"] = ["A title is required."]
    elif len(title) > TITLE_LENGTH:
        errors["title"] = [f"At most {TITLE_LENGTH} characters."]
    if not reference:
        errors["reference"] = ["A reference is required (the policy's number, such as BAA No. 18)."]
    elif len(reference) > REFERENCE_LENGTH:
        errors["reference"] = [f"At most {REFERENCE_LENGTH} characters."]
    else:
        taken = db.session.scalar(sa.select(Policy.id).where(sa.func.lower(Policy.reference) == reference.lower()))
        if taken is not None and (policy is None or taken != policy.id):
            errors["reference"] = [f"Another policy has the reference {reference}."]
    if values.get("status") not in POLICY_STATUSES:
        errors["status"] = [f"Choose one of: {', '.join(STATUS_LABELS.values())}."]
    if errors:
        raise ValidationFailed("Please correct the highlighted fields.", errors=errors)
    return dict(title=title, reference=reference, status=values["status"])


def create_policy(actor, **values):
    require(actor, "policy.edit")
    policy = Policy(**_clean(values), created_by_id=actor.id)
    db.session.add(policy)
    db.session.flush()
    return policy


def update_policy(policy, expected_version, actor, **changes):
    """Apply `changes` (FIELDS) when `policy` is still at `expected_version`, else Conflict (409)."""
    require(actor, "policy.edit")
    clean = _clean({name: changes.get(name, getattr(policy, name)) for name in FIELDS}, policy)
    return versioned_update(policy, expected_version,
                            {k: v for k, v in clean.items() if k in changes and getattr(policy, k) != v})


def get_policy(policy_id, actor, permission="policy.read"):
    """The policy (a register every organization reads: no organization scope), or NotFound."""
    require(actor, permission)
    policy = db.session.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"There is no policy #{policy_id} here.")
    return policy


def policies_page(actor, page):
    require(actor, "policy.read")
    stmt = sa.select(Policy).order_by(Policy.reference, Policy.id)
    return paginate(stmt, page, count_stmt=sa.select(sa.func.count(Policy.id)))


def policies_of(ppa_id, with_linkable=False):
    """The policies linked to a PPA, by reference; with_linkable, also the active policies not linked to it
    yet (what the PPA's page offers to link), as (linked, linkable). One query either way."""
    rows = db.session.execute(_policies_statement(with_linkable), {"ppa_id": ppa_id}).all()
    if not with_linkable:
        return [policy for policy, _ in rows]
    return [p for p, is_linked in rows if is_linked], [p for p, is_linked in rows if not is_linked]


@functools.cache
def _policies_statement(with_linkable):
    """Built once: the PPA's page runs it on every view."""
    linked = sa.exists().where(ppa_policies.c.ppa_id == sa.bindparam("ppa_id"), ppa_policies.c.policy_id == Policy.id)
    wanted = sa.or_(linked, Policy.status == "active") if with_linkable else linked
    return sa.select(Policy, linked.label("linked")).where(wanted).order_by(Policy.reference)


def link_policy(ppa, policy_id, actor):
    """Link an active policy to the PPA ("ppa.edit" on it); linking one already linked changes nothing."""
    require(actor, "ppa.edit", ppa)
    number = parse_id(policy_id)
    policy = db.session.get(Policy, number) if number else None
    if policy is None or policy.status != "active":
        raise ValidationFailed("Choose an active policy of the register.",
                               errors={"policy_id": ["Choose an active policy of the register."]})
    lock_rows(Ppa, [ppa.id])  # two people linking the same policy at once: the second finds it linked
    exists = db.session.scalar(sa.select(ppa_policies.c.ppa_id).where(ppa_policies.c.ppa_id == ppa.id,
                                                                      ppa_policies.c.policy_id == policy.id))
    if exists is None:
        db.session.execute(sa.insert(ppa_policies).values(ppa_id=ppa.id, policy_id=policy.id))
    return policy


def unlink_policy(ppa, policy_id, actor):
    """Remove the link ("ppa.edit" on the PPA); NotFound when the policy is not linked to it."""
    require(actor, "ppa.edit", ppa)
    result = db.session.execute(sa.delete(ppa_policies).where(ppa_policies.c.ppa_id == ppa.id,
                                                              ppa_policies.c.policy_id == policy_id))
    if not result.rowcount:
        raise NotFound(f"Policy #{policy_id} is not linked to this PPA.")
