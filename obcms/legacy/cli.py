"""`flask obcms import-legacy FILE [--dry-run | --verify] [--as USERNAME]`: the older system's export.

The actor is the `--as` user (default: the first active administrator); audit rows name it as
"cli:import-legacy (<username>)" with the cause "legacy import <file name>"."""
import os
import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..audit.context import acting_as, audit_cause
from ..auth.models import User
from ..errors import ValidationFailed
from ..extensions import db
from .export import read_export
from .importing import DOMAIN_ERRORS, ORDER, apply_plan, plan_import, verify

ACTIONS = ("create", "update", "unchanged", "refused")


def _actor(username):
    query = sa.select(User).where(User.is_active)
    query = query.where(User.username == username) if username else query.where(User.role == "admin")
    actor = db.session.scalars(query.order_by(User.id).limit(1)).first()
    if actor is None:
        raise click.ClickException(f"No active user {username!r}." if username else
                                   "No active administrator: name the importing user with --as.")
    return actor


def _summary(plan, name, dry_run):
    export = plan.export
    click.echo(f"{name}: {len(export.records)} records to import"
               + (f", {sum(export.others.values())} of other models left alone" if export.others else "")
               + (f"; {export.non_utf8_bytes} byte(s) not UTF-8, read as cp1252" if export.non_utf8_bytes else ""))
    if dry_run:
        click.echo("Dry run: what a real run would do; nothing is written.")
    counts = plan.counts()
    click.echo(f"  {'kind':<18}" + "".join(f"{action:>11}" for action in ACTIONS))
    for kind in ORDER:
        click.echo(f"  {kind:<18}" + "".join(f"{counts[kind][action]:>11}" for action in ACTIONS))
    if plan.refused:
        click.echo(f"Refused ({len(plan.refused)}):")
        for row in plan.refused:
            click.echo(f"  record #{row.record.number} {row.record.kind} {row.record.legacy_id}: {row.reason}")


@click.command("import-legacy")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would be created, updated and refused; write nothing.")
@click.option("--verify", "check", is_flag=True, help="Compare the file's counts and sums with the database.")
@click.option("--as", "username", help="The importing user (default: the first active administrator).")
@with_appcontext
def import_legacy(path, dry_run, check, username):
    """Import events, staff tasks and project workflows from the older system's JSON export FILE.

    A record that cannot be imported is refused (with its reason) and skipped with the records that hang from
    it; the rest lands in one transaction. A database error, or a workflow whose PPA cannot be given an
    execution project, writes nothing."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            export = read_export(handle.read())
    except ValidationFailed as error:
        raise click.ClickException(f"{name}: {error.detail}") from None
    actor = _actor(username)
    if check:
        differences = verify(export, actor)
        db.session.rollback()
        for line in differences:
            click.echo(f"DIFFERENT {line}")
        if differences:
            sys.exit(1)
        click.echo(f"{name}: the database holds what the file says.")
        return
    plan = plan_import(export, actor)
    if dry_run:
        _summary(plan, name, dry_run)
        db.session.rollback()
        return
    try:
        with acting_as(f"cli:import-legacy ({actor.username})"), audit_cause(f"legacy import {name}"):
            with click.progressbar(length=len(plan.rows), label="Importing", file=sys.stderr) as bar:
                apply_plan(plan, actor, name, progress=bar.update)
        db.session.commit()
    except DOMAIN_ERRORS as error:
        db.session.rollback()
        raise click.ClickException(f"{name}: nothing imported: {getattr(error, 'detail', None) or error}") from None
    except BaseException:
        db.session.rollback()
        raise
    _summary(plan, name, dry_run)
    click.echo(f"{name}: imported; a re-run creates nothing twice and updates what changed.")
