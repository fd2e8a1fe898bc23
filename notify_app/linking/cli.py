"""`flask --app notify_app telegram set-webhook URL`, `... telegram doctor` and `... telegram
purge-codes`, for operators and the periodic jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from notify_app.linking.doctor import diagnose
from notify_app.linking.service import purge_link_codes
from notify_app.telegram import TelegramClient

telegram_cli = AppGroup("telegram", help="Telegram bot operations.")


@telegram_cli.command("set-webhook")
@click.argument("url")
def set_webhook(url: str) -> None:
    """Point the bot's updates at URL (…/api/notifications/telegram/webhook) with the secret."""
    secret = current_app.config["TELEGRAM_WEBHOOK_SECRET"]
    if secret is None:
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET must be set")
    client = TelegramClient(
        current_app.config["TELEGRAM_API_URL"], current_app.config["TELEGRAM_BOT_TOKEN"]
    )
    with client:
        problem = client.set_webhook(url, secret)
    if problem is not None:
        raise click.ClickException(f"setWebhook failed: {problem}")
    click.echo(f"webhook set to {url}")


@telegram_cli.command("doctor")
@click.option("--url", default=None, help="The webhook URL Telegram should post to.")
def doctor(url: str | None) -> None:
    """Check the bot's token, username, webhook and secret against Telegram; exit 1 on a problem."""
    findings = diagnose(current_app.config, url)
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'PROBLEM'}: {finding.text}")
    problems = sum(not finding.ok for finding in findings)
    if problems:
        raise click.ClickException(f"{problems} problem(s) found")
    click.echo("the bot is ready")


@telegram_cli.command("purge-codes")
def purge_codes() -> None:
    """Delete expired and used Telegram link codes (safe to run often, on any number of hosts)."""
    click.echo(f"purged {purge_link_codes()} link codes")
