"""`flask obcms maintenance on|off|status`: the maintenance switch every web process and worker reads; and
`flask obcms check-deploy`: the production settings that are wrong or risky."""
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
