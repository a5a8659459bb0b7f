"""Budget variance alerts."""
from obcms.jobqueue import job
from obcms.ppas.variances import detect_budget_variances as detect


@job("detect_budget_variances")
def detect_budget_variances(run):
    """Every 6 hours: over- and underspending alerts per DOMAIN.md, one open alert per PPA and kind, notified
    when new or more severe, resolved when the variance went away (obcms/ppas/variances.py)."""
    return detect()
