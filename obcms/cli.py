"""`flask obcms …` commands, one click group per domain."""
import json
import os
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from redis.exceptions import RedisError

from jobs.schedule import crontab_lines

from .api.cli import api_cli
from .audit.context import acting_as
from .auth import services
from .auth.models import ROLE_LABELS, Organization
from .budget.cli import money_cli
from .demo import demo_is_loaded, seed_demo
from .errors import Unavailable, ValidationFailed
from .extensions import db
from .jobqueue import JOBS, JobRun, enqueue
from .jobqueue.runner import QUEUE_UNAVAILABLE, recover_lost_runs, use_app_for_workers
from .jobqueue.worker import run_worker
from .legacy.cli import import_legacy
from .ops.cli import check_deploy, maintenance_cli, release_cli
from .tasking.cli import tasks_cli
from .workitems.cli import tree_cli

obcms_cli = AppGroup("obcms", help="obcms administration commands.")
jobs_cli = AppGroup("jobs", help="Background jobs: enqueue, run, list runs, print the cron schedule.")
obcms_cli.add_command(jobs_cli)


def _fail(error):
    if isinstance(error, ValidationFailed):
        for field, messages in error.errors.items():
            for message in messages:
                click.echo(f"  {field}: {message}", err=True)
    raise click.ClickException(str(error.detail if hasattr(error, "detail") else error))


@obcms_cli.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--organization", "acronym", default="OOBC", show_default=True,
              help="Acronym of an existing organization (optional).")
def create_admin(username, email, password, acronym):
    """Create an administrator account."""
    org = db.session.scalar(sa.select(Organization).where(Organization.acronym == acronym)) if acronym else None
    try:
        with acting_as("cli:create-admin"):
            user = services.create_user(username, email, password, "admin", org, full_name=username)
            db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        _fail(error)
    click.echo(f"Administrator {user.username} created.")


@obcms_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no organizations yet.")
def seed_demo_command(if_empty):
    """Load the demo organizations and one user per role."""
    if if_empty and demo_is_loaded():
        click.echo("Demo data already loaded; nothing to do.")
        return
    password = current_app.config["DEMO_PASSWORD"]
    with acting_as("cli:seed-demo"):
        created = seed_demo(password)
        db.session.commit()
    if created:
        click.echo(f"Demo users, each with the password {password}:")
        click.echo(f"  {'Username':<10} {'Role':<16} Organization")
        for user in created:
            org = user.organization.acronym if user.organization else "—"
            click.echo(f"  {user.username:<10} {ROLE_LABELS.get(user.role, user.role):<16} {org}")
    else:
        click.echo("Demo users already exist.")


@jobs_cli.command("enqueue")
@click.argument("name")
@click.option("--arg", "args", multiple=True, help="key=value passed to the job (repeatable).")
def jobs_enqueue(name, args):
    """Enqueue job NAME (cron calls this). Runs inline when REDIS_URL is not set."""
    if name not in JOBS:
        raise click.ClickException(f"Unknown job {name!r}. Known jobs: {', '.join(sorted(JOBS))}")
    arguments = {}
    for item in args:
        key, _, value = item.partition("=")
        arguments[key] = value
    try:
        run = enqueue(name, **arguments)
    except Unavailable as error:  # one line for cron's mail, a non-zero exit, no JobRun left behind
        db.session.rollback()
        raise click.ClickException(error.detail) from None
    db.session.commit()
    db.session.refresh(run)
    click.echo(f"JobRun #{run.id} {name}: {run.status}")
    if run.status == "failed":
        sys.exit(1)


@jobs_cli.command("list")
def jobs_list():
    """The jobs that can be enqueued."""
    for name, fn in sorted(JOBS.items()):
        click.echo(f"{name:<28} {(fn.__doc__ or '').strip().splitlines()[0] if fn.__doc__ else ''}")


@jobs_cli.command("runs")
@click.option("--limit", default=20, show_default=True)
def jobs_runs(limit):
    """The latest job runs."""
    for run in db.session.scalars(sa.select(JobRun).order_by(JobRun.id.desc()).limit(limit)):
        click.echo(f"#{run.id:<6} {run.name:<24} {run.status:<10} attempts={run.attempts} "
                   f"counts={json.dumps(run.counts)} {run.error or ''}")


@jobs_cli.command("recover")
def jobs_recover():
    """Send again the queued runs Redis lost (the worker also does this every minute)."""
    try:
        lost = recover_lost_runs()
    except RedisError:
        raise click.ClickException(QUEUE_UNAVAILABLE) from None
    click.echo(f"{len(lost)} lost run(s) sent again" + (f": {', '.join(map(str, lost))}" if lost else ""))


@jobs_cli.command("schedule")
@click.option("--flask", "flask_bin", default="flask", show_default=True, help="Path to the flask command.")
@click.option("--env-file", default="/etc/obcms.env", show_default=True,
              help="File of KEY=value lines (DATABASE_URL, REDIS_URL, SECRET_KEY …) each cron line loads.")
def jobs_schedule(flask_bin, env_file):
    """Print the crontab lines that trigger the scheduled jobs."""
    for line in crontab_lines(os.getcwd(), flask_bin, env_file):
        click.echo(line)


@obcms_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst):
    """Run an RQ worker for the obcms queue (needs REDIS_URL)."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without it jobs run inline and need no worker.")
    use_app_for_workers(current_app._get_current_object())
    run_worker(burst=burst)


def register_cli(app):
    obcms_cli.add_command(api_cli)
    obcms_cli.add_command(tree_cli)
    obcms_cli.add_command(tasks_cli)
    obcms_cli.add_command(money_cli)
    obcms_cli.add_command(maintenance_cli)
    obcms_cli.add_command(check_deploy)
    obcms_cli.add_command(import_legacy)
    obcms_cli.add_command(release_cli)
    app.cli.add_command(obcms_cli)
