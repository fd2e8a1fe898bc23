"""`flask --app api_app auth purge-tokens`: delete expired refresh tokens (compose: hourly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api_app.auth import refresh_tokens
from api_app.unit_of_work import UnitOfWork

auth_cli = AppGroup("auth", help="Account and token maintenance.")


@auth_cli.command("purge-tokens")
def purge_tokens() -> None:
    """Delete refresh tokens past their expiry, used or not."""
    with UnitOfWork():
        purged = refresh_tokens.purge_expired()
    click.echo(f"purged {purged} expired refresh tokens")
