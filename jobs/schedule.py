"""The cron schedule: each line enqueues a job through `flask obcms jobs enqueue NAME`."""

# (cron expression, job name). Domains add their jobs here as they arrive.
SCHEDULE = [
    ("*/30 * * * *", "ping"),
    ("15 3 * * *", "archive_audit"),
    ("0 8 * * *", "send_approval_reminders"),
    ("0 2 * * *", "sync_ppa_progress"),
]


def crontab_lines(app_dir, flask="flask"):
    return [f"{expr} cd {app_dir} && {flask} --app wsgi obcms jobs enqueue {name} >> /var/log/obcms-cron.log 2>&1"
            for expr, name in SCHEDULE]
