"""Work-item upkeep: task reminders and orphan clean-up."""
from flask import current_app

from obcms.jobqueue import job
from obcms.workitems.orphans import cleanup_orphans as cleanup
from obcms.workitems.reminders import send_task_reminders as remind


@job("send_task_reminders")
def send_task_reminders(run):
    """Daily 07:30: open tasks due in 5 days (medium), 2 days (high) or overdue (critical) remind their
    assignees, once per task per day, snoozes respected (obcms/workitems/reminders.py)."""
    return remind()


@job("cleanup_orphans", subject="work_item")
def cleanup_orphans(run):
    """Sunday 03:00: work items whose PPA is gone — reported (WORKITEM_CLEANUP_DRY_RUN, the default) or
    deleted with their subtrees through the tree's write call (obcms/workitems/orphans.py)."""
    return cleanup(dry_run=current_app.config["WORKITEM_CLEANUP_DRY_RUN"])
