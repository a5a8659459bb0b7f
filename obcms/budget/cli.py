"""`flask obcms money check`: the ledger, the work items' roll-ups and the PPAs' tranches agree."""
import sys

import click
from flask.cli import AppGroup

from .ledger import check_money

money_cli = AppGroup("money", help="Money: prove the ledger, the trees' roll-ups and the tranches agree.")


@money_cli.command("check")
def check():
    """For every node: its obligated/disbursed = its own entries + its children's; for every PPA whose money lives
    on its tree: tree totals = ledger sums = tranche totals. Prints each mismatch; exit status 1 when any."""
    mismatches = check_money()
    for mismatch in mismatches:
        click.echo(str(mismatch))
    if mismatches:
        click.echo(f"{len(mismatches)} mismatch(es).", err=True)
        sys.exit(1)
    click.echo("All money agrees: trees, ledger and tranches.")
