"""Bulk operations of more than obcms.bulk.services.JOB_THRESHOLD items, run in the background."""
from obcms.auth.models import User
from obcms.bulk import services
from obcms.extensions import db
from obcms.jobqueue import job


@job("bulk_apply")
def bulk_apply(run, user_id=None, kind=None, action=None, ids=(), params=None, versions=None, mode="all",
               operation=None):
    """Apply a bulk operation as the person who asked (planned again now: each item is checked against the
    version their page showed, so running it twice changes nothing the second time). Counts: DOMAIN.md's
    answer, plus the refused items' labels."""
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.is_active:
        return services.answer(operation, len(ids), [], {}, rolled_back=True) | {
            "error": "The person who asked is no longer an active user."}
    found, result = services.apply_planned(user, kind, action, ids, params, versions, mode, operation=operation)
    result["labels"] = {str(item.id): item.label for item in found.items if item.id in result["failures"]}
    result["failures"] = {str(key): reason for key, reason in result["failures"].items()}
    return result
