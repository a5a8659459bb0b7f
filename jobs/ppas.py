"""PPA jobs."""
from obcms.jobqueue import job
from obcms.ppas.tracking import sync_tracked_ppas


@job("sync_ppa_progress", subject="ppa")
def sync_ppa_progress(run, ppa_ids=None):
    """Nightly 02:00 (and "Sync now" for one PPA): roll-ups of the tracked PPAs' trees, then their progress
    and status, set-based; notifications for moves of ≥ 5 points. Counts: ppas_checked, ppas_changed,
    notifications, errors (and failures by PPA id)."""
    return sync_tracked_ppas(ppa_ids=ppa_ids)
