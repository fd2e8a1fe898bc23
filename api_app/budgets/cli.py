"""`flask --app api_app budgets close-month`: the monthly digest events (schedule it monthly)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from api_app.budgets.month_close import close_month, previous_month

budgets_cli = AppGroup("budgets", help="Scheduled jobs on budgets.")


@budgets_cli.command("close-month")
@click.option("--year", type=click.IntRange(2000, 2100), help="With --month: the month to close.")
@click.option("--month", type=click.IntRange(1, 12), help="With --year: the month to close.")
def close_month_command(year: int | None, month: int | None) -> None:
    """Record budget.month_closed (the monthly digest) for every user with transactions in the
    month whose month has ended in their time zone: by default the previous calendar month in UTC.
    Running it again records nothing new; users still in the month are closed by a later run."""
    today = datetime.now(UTC).date()
    if year is None and month is None:
        year, month = previous_month(today)
    elif year is None or month is None:
        raise click.UsageError("give --year and --month together, or neither")
    elif (year, month) >= (today.year, today.month):
        # A digest of a month still running would be final: its id is taken for good.
        raise click.UsageError(f"{year}-{month:02d} has not ended yet (UTC)")
    report = close_month(year, month)
    waiting = (
        f", {report.waiting} waiting for the month to end in their time zone"
        if report.waiting
        else ""
    )
    households = (
        f"; {report.households} shared ledgers with transactions, {report.households_closed}"
        f" closed now, {report.households_waiting} waiting for the month to end in their"
        " owner's time zone"
        if report.households
        else ""
    )
    click.echo(
        f"closed {year}-{month:02d}: {report.users} users with transactions,"
        f" {report.emitted} new digest events{waiting}{households}"
    )
