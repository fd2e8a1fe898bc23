"""`flask --app api_app recurring run`: record the occurrences that are due (schedule it hourly)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api_app.recurring.service import record_due_occurrences

recurring_cli = AppGroup("recurring", help="Scheduled jobs on recurring transactions.")


@recurring_cli.command("run")
def run_command() -> None:
    """Record every occurrence of every rule that is due up to its user's today (in the user's
    time zone). Running it twice, late or in several processes records each occurrence once."""
    report = record_due_occurrences()
    click.echo(f"recorded {report.transactions} transactions of {report.rules} recurring rules")
