"""`flask obcms tree check|rebuild`: verify and repair the nested sets."""
import sys

import click
from flask.cli import AppGroup

from ..audit.context import acting_as
from ..extensions import db
from . import tree

tree_cli = AppGroup("tree", help="Work-breakdown trees: check and rebuild the nested-set bounds.")


@tree_cli.command("check")
@click.option("--tree", "tree_id", type=int, help="Only this tree (its root's id).")
def check(tree_id):
    """List every nested-set violation; exit status 1 when there is any."""
    violations = tree.check_integrity(tree_id)
    for v in violations:
        click.echo(f"tree {v['tree_id']} node #{v['id']}: {v['kind']}: {v['detail']}")
    if violations:
        click.echo(f"{len(violations)} violation(s). Repair with: flask obcms tree rebuild"
                   + (f" --tree {tree_id}" if tree_id else ""), err=True)
        sys.exit(1)
    click.echo("All trees intact." if tree_id is None else f"Tree {tree_id} intact.")


@tree_cli.command("rebuild")
@click.option("--tree", "tree_id", type=int, help="Only this tree (its root's id).")
def rebuild(tree_id):
    """Renumber the bounds from the parent links (sibling order kept), then check again."""
    with acting_as("cli:tree-rebuild"):
        changed = tree.rebuild(tree_id)
        db.session.commit()
    click.echo(f"{changed} node(s) renumbered.")
    violations = tree.check_integrity(tree_id)
    if violations:
        click.echo(f"Still {len(violations)} violation(s) after the rebuild.", err=True)
        sys.exit(1)
