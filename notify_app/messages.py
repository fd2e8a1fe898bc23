"""The exact texts users receive: short, human, amounts with two decimals."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from event_contract import money

# Fixed English names: calendar.month_name would follow the process's locale.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

TEST_MESSAGE = "Test message: your budget notifications will arrive in this chat."


def percent_of_limit(spent: Decimal, limit: Decimal) -> int:
    """Whole percent, rounded down: an alert never claims more than was actually spent."""
    return int((spent * 100 / limit).to_integral_value(rounding=ROUND_FLOOR))


def budget_limit_exceeded(
    *, category_name: str, year: int, month: int, spent: Decimal, limit: Decimal
) -> str:
    """`Budget alert: Food for November 2026 is over its limit: 520.00 spent of 500.00 (104%).`

    A limit of 0.00 has no meaningful percentage, so the parenthesis is left out.
    """
    share = f" ({percent_of_limit(spent, limit)}%)" if limit > 0 else ""
    return (
        f"Budget alert: {category_name} for {MONTH_NAMES[month - 1]} {year} is over its limit:"
        f" {money(spent)} spent of {money(limit)}{share}."
    )


def goal_reached(*, name: str, current_amount: Decimal, target_amount: Decimal) -> str:
    """`Goal reached: "New bike" has 1000.00 of 1000.00.`"""
    return f'Goal reached: "{name}" has {money(current_amount)} of {money(target_amount)}.'
