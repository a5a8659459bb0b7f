"""Approval workflow upkeep."""
from obcms.jobqueue import job
from obcms.ppas.reminders import send_approval_reminders as remind


@job("send_approval_reminders")
def send_approval_reminders(run):
    """PPAs waiting in a review state > 7 days (high) or > 14 days (critical) remind the role that must act,
    once per PPA per day (obcms/ppas/reminders.py)."""
    return remind()
