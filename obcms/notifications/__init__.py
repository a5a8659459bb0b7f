"""In-app notifications for one user: rows added in the caller's transaction, an unread badge, mark read.

    from obcms.notifications import notify
    notify([ppa.submitted_by_id], "approval", f"{ppa.title} moved to budget review", url=url_for(...))
"""
from .services import notify  # noqa: F401
