"""Audit trail upkeep."""
from obcms.audit.retention import archive_audit_entries
from obcms.jobqueue import job


@job("archive_audit")
def archive_audit(run, days=None):
    """Archive audit entries older than AUDIT_RETENTION_DAYS to AUDIT_ARCHIVE_DIR, then delete them."""
    return archive_audit_entries(days=days)
