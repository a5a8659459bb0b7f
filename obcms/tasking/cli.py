"""`flask obcms tasks …`: the shipped task templates."""
import click
from flask.cli import AppGroup

from ..audit.context import acting_as
from ..extensions import db
from .seed import seed_templates

tasks_cli = AppGroup("tasks", help="Task templates.")


@tasks_cli.command("seed-templates")
def seed_templates_command():
    """Create or update the shipped task templates (by name); running it again changes nothing."""
    with acting_as("cli:tasks seed-templates"):
        counts = seed_templates()
        db.session.commit()
    click.echo(f"Task templates: {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged.")
