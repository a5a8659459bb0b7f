"""The rules for assessments. Views and jobs come through here; never commits.

    assessment = create_assessment(user, title="OBC needs in Zamboanga", organization_id=oobc.id,
                                   methodology="survey", start_date=date(2027, 1, 11), lead_id=user.id)
    update_assessment(assessment, form_version, user, title="…")      # Conflict (409) when stale
    page = assessments_page(user, request.args.get("page"))           # scoped; two queries

Creating one generates its tasks (obcms/tasking/triggers.py: after the commit, from the template of its
methodology).
"""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..auth.models import Organization, User
from ..auth.permissions import EDIT_ALL, load_in_scope, require, scope
from ..columns import DATE_RANGE_MESSAGE, date_in_range
from ..errors import ValidationFailed
from ..extensions import db
from ..pagination import paginate
from ..workflow.locking import versioned_update
from .models import METHODOLOGIES, METHODOLOGY_LABELS, Assessment

FIELDS = ("title", "organization_id", "methodology", "start_date", "lead_id")
TITLE_LENGTH = 200


def organizations_for(actor):
    """The organizations `actor` may hold assessments for: every active one for the OOBC roles, else their own."""
    stmt = sa.select(Organization).where(Organization.is_active.is_(True)).order_by(Organization.acronym)
    if actor.role not in EDIT_ALL:
        stmt = stmt.where(Organization.id == actor.organization_id)
    return db.session.scalars(stmt).all()


def leads_for(actor):
    """The people who may lead an assessment: active users, by name."""
    return db.session.scalars(sa.select(User).where(User.is_active).order_by(User.full_name, User.username)).all()


def _clean(actor, values):
    errors = {}
    title = (values.get("title") or "").strip()
    if not title:
        errors["title"] = ["A title is required."]
    elif len(title) > TITLE_LENGTH:
        errors["title"] = [f"At most {TITLE_LENGTH} characters."]
    if values.get("methodology") not in METHODOLOGIES:
        errors["methodology"] = [f"Choose one of: {', '.join(METHODOLOGY_LABELS.values())}."]
    start = values.get("start_date")
    if not isinstance(start, date):
        errors["start_date"] = ["A start date is required."]
    elif not date_in_range(start):
        errors["start_date"] = [DATE_RANGE_MESSAGE]
    if values.get("organization_id") not in {o.id for o in organizations_for(actor)}:
        errors["organization_id"] = ["Choose one of the organizations listed."]
    lead_id = values.get("lead_id")
    if lead_id is not None and db.session.scalar(sa.select(User.id).where(User.id == lead_id, User.is_active)) is None:
        errors["lead_id"] = ["Choose an active user, or nobody."]
    if errors:
        raise ValidationFailed("Please correct the highlighted fields.", errors=errors)
    return dict(title=title, organization_id=values["organization_id"], methodology=values["methodology"],
                start_date=start, lead_id=lead_id)


def create_assessment(actor, **values):
    """A new assessment (FIELDS); ValidationFailed naming the fields, NotAllowed without assessment.create."""
    require(actor, "assessment.create")
    clean = _clean(actor, values)
    assessment = Assessment(**clean, created_by_id=actor.id)
    require(actor, "assessment.create", assessment)
    db.session.add(assessment)
    db.session.flush()
    return assessment


def update_assessment(assessment, expected_version, actor, **changes):
    """Apply `changes` (FIELDS) when `assessment` is still at `expected_version`, else Conflict (409). Its
    tasks, generated when it was created, are not regenerated."""
    require(actor, "assessment.edit", assessment)
    clean = _clean(actor, {name: changes.get(name, getattr(assessment, name)) for name in FIELDS})
    return versioned_update(assessment, expected_version,
                            {k: v for k, v in clean.items() if k in changes and getattr(assessment, k) != v})


def get_assessment(assessment_id, actor, permission="assessment.read"):
    """The assessment when `actor` may reach it (NotFound outside the scope, NotAllowed without permission)."""
    return load_in_scope(Assessment, assessment_id, actor, permission, label="assessment")


def assessments_page(actor, page):
    """The assessments `actor` may see, latest start first, with organization and lead (two queries)."""
    stmt = (scope(sa.select(Assessment), Assessment, actor)
            .options(joinedload(Assessment.organization), joinedload(Assessment.lead))
            .order_by(Assessment.start_date.desc(), Assessment.id.desc()))
    return paginate(stmt, page, count_stmt=scope(sa.select(sa.func.count(Assessment.id)), Assessment, actor))
