"""The exact texts users receive: short, human, amounts with two decimals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from event_contract import PASSWORD_CHANGED, REFRESH_TOKEN_REUSED, money

# handlers.py names months through this module too.
from service_kit.months import MONTH_NAMES as MONTH_NAMES

# Telegram's limit for one sendMessage text.
MAX_MESSAGE_LENGTH = 4096

TEST_MESSAGE = "Test message: your budget notifications will arrive in this chat."


def chat_unlinked_on_sign_out(reason: str) -> str:
    """Every session of the account ended (user.sessions_revoked, its `reason`), so its chat
    was unlinked: whoever held a token for a minute could have linked their own chat."""
    if reason == PASSWORD_CHANGED:
        lead = "Your password was changed, so you were signed out everywhere"
    elif reason == REFRESH_TOKEN_REUSED:
        lead = "A stolen sign-in was detected, so you were signed out everywhere"
    else:
        lead = "You signed out everywhere"
    return (
        f"{lead}, and this chat is unlinked from your budget account. To get alerts here again,"
        " sign in and open the Telegram link from the app's settings."
    )


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


def budget_threshold_reached(
    *, category_name: str, year: int, month: int, percent: int, spent: Decimal, limit: Decimal
) -> str:
    """`Heads-up: Food for November 2026 is at 82% of its limit: 410.00 of 500.00.`"""
    return (
        f"Heads-up: {category_name} for {MONTH_NAMES[month - 1]} {year} is at {percent}% of its"
        f" limit: {money(spent)} of {money(limit)}."
    )


@dataclass(frozen=True)
class DigestCategory:
    name: str
    limit: Decimal | None
    spent: Decimal


def monthly_digest(
    *,
    year: int,
    month: int,
    income: Decimal,
    expense: Decimal,
    net: Decimal,
    categories: Sequence[DigestCategory],
) -> str:
    """Totals first, then the categories over their limit, the furthest over first:

    `November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00. Over the limit:
    Food 520.00 of 500.00.` When none is over: `... All categories stayed within their limits.`
    (left out when no category had a limit). A list too long for one Telegram message is cut
    and ends with `and N more`.
    """
    totals = (
        f"{MONTH_NAMES[month - 1]} {year} in numbers: income {money(income)},"
        f" expenses {money(expense)}, net {money(net)}."
    )
    over = sorted(
        (
            (category.limit - category.spent, category.name, category.spent, category.limit)
            for category in categories
            if category.limit is not None and category.spent > category.limit
        ),
    )
    if not over:
        if any(category.limit is not None for category in categories):
            return f"{totals} All categories stayed within their limits."
        return totals
    entries = [f"{name} {money(spent)} of {money(limit)}" for _, name, spent, limit in over]
    head = f"{totals} Over the limit: "
    return head + _fitting_list(entries, room=MAX_MESSAGE_LENGTH - telegram_length(head) - 1) + "."


def _fitting_list(entries: list[str], *, room: int) -> str:
    """As many of `entries` as fit in `room` characters, the rest counted as `and N more`."""
    lengths = [telegram_length(entry) for entry in entries]
    # Joined with ", ": the first k entries take sum(lengths[:k]) + 2 * (k - 1) characters.
    prefix = [0]
    for length in lengths:
        prefix.append(prefix[-1] + length)
    for shown in range(len(entries), 0, -1):
        rest = len(entries) - shown
        more = f" and {rest} more" if rest else ""
        if prefix[shown] + 2 * (shown - 1) + len(more) <= room:
            return ", ".join(entries[:shown]) + more
    return f"{len(entries)} categories"


def telegram_length(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units (an emoji takes two)."""
    return len(text.encode("utf-16-le")) // 2
