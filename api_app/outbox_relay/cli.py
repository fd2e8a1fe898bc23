"""`flask --app api_app outbox relay|status`."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from api_app.events.outbox import outbox_status
from api_app.extensions import db
from api_app.outbox_relay.loop import StopSignal, run_relay
from service_kit.logs import configure_logging

outbox_cli = AppGroup("outbox", help="The transactional outbox of the events for notify_app.")


@outbox_cli.command("relay")
@click.option(
    "--once",
    is_flag=True,
    help="Publish what is pending, purge, and exit (non-zero if some events are left).",
)
def relay_command(once: bool) -> None:
    """Publish unpublished events to the broker until SIGTERM/SIGINT."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # The relay's log lines say "relay", so an operator tells them from the web service's.
    app.config["SERVICE_NAME"] = "relay"
    if not app.testing:
        configure_logging("relay", app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    stop = StopSignal()
    if not once:
        stop.install()
        click.echo("outbox relay started")
    summary = run_relay(app, once=once, stop=stop.event)
    click.echo(
        f"outbox relay stopped: published {summary.published}, purged {summary.purged}"
        + (", some events are still unpublished" if summary.left_behind else "")
    )
    if once and summary.left_behind:
        raise SystemExit(1)


@outbox_cli.command("status")
def status_command() -> None:
    """How many events wait to be published, and since when."""
    with Session(db.engine) as session:
        status = outbox_status(session)
    click.echo(f"unpublished: {status.unpublished}")
    if status.oldest_unpublished_at is not None:
        age = datetime.now(UTC) - status.oldest_unpublished_at
        click.echo(f"oldest unpublished: {status.oldest_unpublished_at.isoformat()} ({age} ago)")
    click.echo(f"published, kept until purged: {status.published}")
