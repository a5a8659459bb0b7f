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
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: GET only; write: whatever the user may do.")
@click.option("--expires-in-days", type=click.IntRange(1, 3660), default=None,
              help="Days until the token stops working (default: until revoked).")
def create_token_command(username, name, scope, expires_in_days):
    """Create a token for USERNAME and print it (once: only its digest is stored)."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No user {username!r}.")
    try:
        with acting_as("cli:api-create-token"):
            token, secret = create_token(user, name, scope=scope, expires_in_days=expires_in_days)
            db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        raise click.ClickException(error.detail) from None
    until = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "no expiry"
    click.echo(f"Token #{token.id} “{token.name}” ({token.scope}, {until}) for {user.username} "
               "(shown once, keep it safe):")
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
    """Every token: id, user, name, scope, created, last used, expiry, revoked."""
    rows = db.session.execute(sa.select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                              .order_by(ApiToken.id)).all()
    for token, username in rows:
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        if token.revoked_at is None and token.is_expired():
            state = "expired"
        expires = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "no expiry"
        click.echo(f"#{token.id}\t{username}\t{token.name}\t{token.scope}\tcreated {token.created_at:%Y-%m-%d}"
                   f"\tlast used {used}\t{expires}\t{state}")
