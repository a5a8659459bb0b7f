"""E-mail of notifications (obcms/notifications/mail.py and digest.py)."""
from flask import current_app

from obcms.jobqueue import job
from obcms.notifications.digest import queue_digests
from obcms.notifications.mail import TransientMailError, send_queued


@job("send_mail", transient=(TransientMailError,))
def send_mail(run, mail_ids=None):
    """Send the queued e-mails `mail_ids` (enqueued after the commit that wrote them), or every queued one (the
    sweep cron runs every 15 minutes, for rows whose job never started). A row once sent is never sent again;
    a passing SMTP failure is retried with the job, then recorded failed; a permanent one is recorded failed at
    once. Counts: sent, failed, retrying (and interrupted, for the sweep)."""
    final = run.attempts > current_app.config.get("JOB_MAX_RETRIES", 3)
    return send_queued(mail_ids, final_attempt=final)


@job("send_mail_digest")
def send_mail_digest(run):
    """Daily 06:00: one digest per user who chose it (the default) with their unread notifications no e-mail
    carried yet; none when nothing is new; once per user per day. Counts: digests, notifications."""
    return queue_digests()
