"""`flask obcms maintenance on|off|status`: the maintenance switch every web process and worker reads;
`flask obcms check-deploy`: the production settings that are wrong or risky; and `flask obcms release
backup|plan|restore`: release day's backup, migration plan and restore."""
import getpass
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from redis.exceptions import RedisError

from ..audit.context import acting_as
from ..extensions import db
from ..jobqueue.runner import release_held_runs
from ..templating import format_datetime
from .deploy_check import run_checks
from .maintenance import MAX_RETRY_AFTER, MESSAGE_LENGTH, read_maintenance, switch_maintenance
from .release import ReleaseError, current_revisions, make_backup, migration_plan, restore_backup

maintenance_cli = AppGroup("maintenance", help="Maintenance mode: a 503 page for everyone but administrators, "
                                               "and no new background jobs.")


def _operator(by):
    try:
        return by or getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def _switch(on, message=None, retry_after=None, by=None):
    label = f"cli:maintenance ({_operator(by)})"
    with acting_as(label):
        state = switch_maintenance(on, message, retry_after, by=label)
        db.session.commit()
    return state


@maintenance_cli.command("on")
@click.option("--message", help=f"What people see (up to {MESSAGE_LENGTH} characters).")
@click.option("--retry-after", type=click.IntRange(0, MAX_RETRY_AFTER), default=300, show_default=True,
              help="Seconds sent in the Retry-After header (when to come back).")
@click.option("--by", help="Who turns it on, for the audit log (default: your login name).")
def maintenance_on(message, retry_after, by):
    """Turn maintenance mode on: every request but an administrator's, /health, the sign-in page and static
    files gets a 503 page; workers finish the job in hand and take no new one."""
    if message and len(message) > MESSAGE_LENGTH:
        raise click.BadParameter(f"at most {MESSAGE_LENGTH} characters", param_hint="--message")
    state = _switch(True, message, retry_after, by)
    click.echo(f"Maintenance mode is on: \"{state.message}\" (Retry-After: {state.retry_after} s). Every process "
               f"sees it within {current_app.config.get('MAINTENANCE_CACHE_SECONDS', 2):g} s.")


@maintenance_cli.command("off")
@click.option("--by", help="Who turns it off, for the audit log (default: your login name).")
def maintenance_off(by):
    """Turn maintenance mode off, and start the background jobs held while it was on."""
    _switch(False, by=by)
    click.echo("Maintenance mode is off.")
    try:
        started = release_held_runs(current_app._get_current_object())
    except RedisError as error:  # the workers' minutely recovery sends them when Redis is back
        click.echo(f"Held jobs not sent again now (the job queue is unreachable: {error}).", err=True)
        return
    if started:
        click.echo(f"{len(started)} held job run(s) started: {', '.join(map(str, started))}")


@maintenance_cli.command("status")
def maintenance_status():
    """Say whether maintenance mode is on (exit status 0 either way)."""
    state = read_maintenance()
    db.session.rollback()
    if not state.on:
        click.echo("Maintenance mode is off.")
        return
    click.echo(f"Maintenance mode is on since {format_datetime(state.changed_at)}, turned on by "
               f"{state.changed_by}: \"{state.message}\" (Retry-After: {state.retry_after} s).")


@click.command("check-deploy")
@with_appcontext
def check_deploy():
    """List every production setting that is wrong or risky, one line each; exit status 1 when any is wrong."""
    findings = run_checks(current_app._get_current_object())
    for finding in findings:
        click.echo(str(finding))
    wrong = sum(finding.severity == "wrong" for finding in findings)
    if wrong:
        click.echo(f"{wrong} setting(s) wrong.", err=True)
        sys.exit(1)
    click.echo("all checks passed" + (f" ({len(findings)} risky setting(s) above)" if findings else ""))


release_cli = AppGroup("release", help="Release day: a checked backup, the migration plan, a restore "
                                       "(docs/INSTALL.md, \"Release procedure\").")


def _size(size):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024


@release_cli.command("backup")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Folder of the backups (default: BACKUP_DIR, else instance/backups).")
def release_backup(directory):
    """Back the database up to a timestamped file and check it: PostgreSQL with pg_dump -Fc, then listed with
    pg_restore -l; the embedded SQLite file with SQLite's backup API, then its integrity check."""
    try:
        backup = make_backup(directory)
    except ReleaseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written and checked: {backup.path}")
    click.echo(f"  {_size(backup.size)}, {backup.tables} tables, revision {backup.revision}")


@release_cli.command("plan")
@click.option("--no-sql", is_flag=True, help="Only the revisions, without the SQL preview.")
def release_plan(no_sql):
    """The database's revision, the code's head, the revisions `flask db upgrade` would apply (oldest first,
    with their messages) and the SQL it would run (Alembic offline mode)."""
    try:
        plan = migration_plan(sql=not no_sql)
    except ReleaseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Database at: {', '.join(plan.current) or 'no revision (empty database)'}")
    click.echo(f"Code head:   {', '.join(plan.heads)}")
    if not plan.steps:
        click.echo("Nothing to apply: the database is at the head.")
        return
    click.echo(f"{len(plan.steps)} revision(s) to apply, oldest first:")
    for step in plan.steps:
        click.echo(f"  {step.revision:<28} {step.message}")
    click.echo(f"Rollback to the revision before: flask --app wsgi db downgrade {plan.steps[0].down_revision or 'base'}")
    if plan.no_sql_because:
        click.echo(f"No SQL preview: {plan.no_sql_because}.")
    if plan.sql:
        click.echo("-- SQL preview (flask --app wsgi db upgrade --sql):")
        click.echo(plan.sql.rstrip())


@release_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Confirm: the database's current contents are replaced.")
def release_restore(file, yes):
    """Replace the database of DATABASE_URL with the backup FILE (pg_restore --clean; SQLite: the file copied
    back). Needs --yes."""
    if not yes:
        raise click.UsageError("restore replaces every row of the database with the backup's: add --yes to "
                               "confirm (turn maintenance mode on and stop the workers first)")
    try:
        restore_backup(file)
    except ReleaseError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {file}; the database is at revision {', '.join(current_revisions()) or 'none'}.")
