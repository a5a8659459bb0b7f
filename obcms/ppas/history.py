"""A PPA's change history: the audit entries of the PPA and of its funding tranches, newest first."""
import sqlalchemy as sa

from ..audit.models import AuditEntry
from ..audit.objects import object_type_of
from ..extensions import db
from .models import FundingTranche, Ppa

HISTORY_LIMIT = 200


def ppa_history(ppa_id, limit=HISTORY_LIMIT):
    """One query over the audit trail (tranches found through their current ppa_id)."""
    tranche_ids = sa.select(FundingTranche.id).where(FundingTranche.ppa_id == ppa_id).scalar_subquery()
    return db.session.scalars(
        sa.select(AuditEntry)
        .where(sa.or_(sa.and_(AuditEntry.object_type == object_type_of(Ppa), AuditEntry.object_id == ppa_id),
                      sa.and_(AuditEntry.object_type == object_type_of(FundingTranche),
                              AuditEntry.object_id.in_(tranche_ids))))
        .order_by(AuditEntry.id.desc()).limit(limit)).all()
