"""`flask obcms api …`: API tokens."""
import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..audit.context import acting_as
from ..auth.models import User
from ..errors import ValidationFailed
from ..extensions import db
from .models import ApiToken
from .tokens import create_token, revoke_token

api_cli = AppGroup("api", help="The JSON API: bearer tokens.")


@api_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
def create_token_command(username, name):
    """Create a token for USERNAME and print it (once: only its digest is stored)."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    try:
        with acting_as("cli:api-create-token"):
            token, secret = create_token(user, name)
            db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        raise click.ClickException(error.detail) from None
    click.echo(f"Token #{token.id} “{token.name}” for {user.username} (shown once, keep it safe):")
    click.echo(secret)


@api_cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token_command(token_id):
    """Revoke token TOKEN_ID (see list-tokens)."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"No token #{token_id}.")
    with acting_as("cli:api-revoke-token"):
        revoke_token(token)
        db.session.commit()
    click.echo(f"Token #{token.id} revoked.")


@api_cli.command("list-tokens")
def list_tokens_command():
    """Every token: id, user, name, created, last used, revoked."""
    rows = db.session.execute(sa.select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                              .order_by(ApiToken.id)).all()
    for token, username in rows:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"#{token.id}\t{username}\t{token.name}\tcreated {token.created_at:%Y-%m-%d}\tlast used {used}\t{state}")
