"""The exact texts of the notifications."""

from __future__ import annotations

from decimal import Decimal

import pytest

from notify_app import messages


def test_budget_alert_text() -> None:
    assert messages.budget_limit_exceeded(
        category_name="Food", year=2026, month=11, spent=Decimal("520"), limit=Decimal("500.00")
    ) == ("Budget alert: Food for November 2026 is over its limit: 520.00 spent of 500.00 (104%).")


@pytest.mark.parametrize(
    ("spent", "limit", "percent"),
    [
        ("500.01", "500.00", 100),  # just over: rounded down, never up to 101
        ("100.99", "100.00", 100),
        ("101.00", "100.00", 101),
        ("1000.00", "3.00", 33333),
        ("0.02", "0.01", 200),
    ],
)
def test_the_percentage_is_rounded_down(spent: str, limit: str, percent: int) -> None:
    text = messages.budget_limit_exceeded(
        category_name="Rent", year=2027, month=1, spent=Decimal(spent), limit=Decimal(limit)
    )
    assert text.endswith(f"{Decimal(spent):.2f} spent of {Decimal(limit):.2f} ({percent}%).")
    assert " for January 2027 " in text


def test_a_zero_limit_has_no_percentage() -> None:
    assert (
        messages.budget_limit_exceeded(
            category_name="Games", year=2026, month=12, spent=Decimal("5"), limit=Decimal("0")
        )
        == "Budget alert: Games for December 2026 is over its limit: 5.00 spent of 0.00."
    )


def test_goal_text() -> None:
    assert (
        messages.goal_reached(
            name="New bike", current_amount=Decimal("1000"), target_amount=Decimal("1000.00")
        )
        == 'Goal reached: "New bike" has 1000.00 of 1000.00.'
    )
