"""The cron schedule: each line enqueues a job through `flask obcms jobs enqueue NAME`.

Times are the server's local time (run cron in Asia/Manila, or shift the hours); each line loads the
environment from ENV_FILE so cron sees DATABASE_URL, REDIS_URL and the rest.
"""

# (cron expression, job name). Domains add their jobs here as they arrive.
SCHEDULE = [
    ("15 3 * * *", "archive_audit"),
    ("0 8 * * *", "send_approval_reminders"),
    ("0 2 * * *", "sync_ppa_progress"),
    ("0 6 * * *", "send_mail_digest"),
    ("*/15 * * * *", "send_mail"),
    ("0 */6 * * *", "detect_budget_variances"),
    ("30 7 * * *", "send_task_reminders"),
    ("0 3 * * 0", "cleanup_orphans"),
    ("30 3 * * *", "purge_expired_reports"),
]


ENV_FILE = "/etc/obcms.env"


def crontab_lines(app_dir, flask="flask", env_file=ENV_FILE):
    return [f"{expr} cd {app_dir} && set -a && . {env_file} && {flask} --app wsgi obcms jobs enqueue {name} "
            f">> /var/log/obcms-cron.log 2>&1" for expr, name in SCHEDULE]
