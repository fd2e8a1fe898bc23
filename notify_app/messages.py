"""The exact texts users receive: short, human, amounts with two decimals, in the recipient's
language (service_kit.i18n; English when none is known)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Final

from event_contract import PASSWORD_CHANGED, REFRESH_TOKEN_REUSED, LedgerContext
from service_kit.i18n import DEFAULT_LANGUAGE, Translator, heading, translator

# Telegram's limit for one sendMessage text.
MAX_MESSAGE_LENGTH = 4096

ENGLISH: Final = translator(DEFAULT_LANGUAGE)


def delivery_test_text(t: Translator) -> str:
    return t.gettext("Test message: your budget notifications will arrive in this chat.")


def chat_unlinked_on_sign_out(t: Translator, reason: str) -> str:
    """Every session of the account ended (user.sessions_revoked, its `reason`), so its chat
    was unlinked: whoever held a token for a minute could have linked their own chat."""
    if reason == PASSWORD_CHANGED:
        lead = t.gettext("Your password was changed, so you were signed out everywhere")
    elif reason == REFRESH_TOKEN_REUSED:
        lead = t.gettext("A stolen sign-in was detected, so you were signed out everywhere")
    else:
        lead = t.gettext("You signed out everywhere")
    return t.gettext(
        "%(lead)s, and this chat is unlinked from your budget account. To get alerts here again,"
        " sign in and open the Telegram link from the app's settings."
    ) % {"lead": lead}


def in_ledger(name: str, ledger: LedgerContext | None) -> str:
    """A shared ledger's category or goal, named with its ledger: `Home · Food`."""
    return name if ledger is None else f"{ledger.ledger_name} · {name}"


def with_recorder(t: Translator, text: str, ledger: LedgerContext | None) -> str:
    """A shared ledger's alert, with who recorded the expense that crossed the line:
    `..., after Anna's 32.00 groceries.` Unchanged when no transaction crossed it (a limit
    changed) or its author is unknown (their account was deleted)."""
    if ledger is None or ledger.recorded_by_name is None or ledger.transaction_amount is None:
        return text
    values = {
        "name": ledger.recorded_by_name,
        "amount": t.amount(ledger.transaction_amount),
        "description": ledger.transaction_description or "",
    }
    if ledger.transaction_description:
        clause = t.gettext("after %(name)s's %(amount)s %(description)s") % values
    else:
        clause = t.gettext("after %(name)s's %(amount)s") % values
    return f"{text.removesuffix('.')}, {clause}."


def group_ledger_deleted(t: Translator, ledger_name: str) -> str:
    return t.gettext(
        "The ledger %(ledger)s was deleted, so this group is no longer linked to it and gets no"
        " more of its alerts."
    ) % {"ledger": ledger_name}


def percent_of_limit(spent: Decimal, limit: Decimal) -> int:
    """Whole percent, rounded down: an alert never claims more than was actually spent."""
    return int((spent * 100 / limit).to_integral_value(rounding=ROUND_FLOOR))


def budget_limit_exceeded(
    *,
    category_name: str,
    year: int,
    month: int,
    spent: Decimal,
    limit: Decimal,
    t: Translator = ENGLISH,
) -> str:
    """`Budget alert: Food for November 2026 is over its limit: 520.00 spent of 500.00 (104%).`

    A limit of 0.00 has no meaningful percentage, so the parenthesis is left out.
    """
    values = {
        "category": category_name,
        "month": t.month(year, month),
        "spent": t.amount(spent),
        "limit": t.amount(limit),
    }
    if limit > 0:
        return t.gettext(
            "Budget alert: %(category)s for %(month)s is over its limit:"
            " %(spent)s spent of %(limit)s (%(percent)d%%)."
        ) % {**values, "percent": percent_of_limit(spent, limit)}
    return (
        t.gettext(
            "Budget alert: %(category)s for %(month)s is over its limit:"
            " %(spent)s spent of %(limit)s."
        )
        % values
    )


def goal_reached(
    *, name: str, current_amount: Decimal, target_amount: Decimal, t: Translator = ENGLISH
) -> str:
    """`Goal reached: "New bike" has 1000.00 of 1000.00.`"""
    return t.gettext('Goal reached: "%(name)s" has %(current)s of %(target)s.') % {
        "name": name,
        "current": t.amount(current_amount),
        "target": t.amount(target_amount),
    }


def budget_threshold_reached(
    *,
    category_name: str,
    year: int,
    month: int,
    percent: int,
    spent: Decimal,
    limit: Decimal,
    t: Translator = ENGLISH,
) -> str:
    """`Heads-up: Food for November 2026 is at 82% of its limit: 410.00 of 500.00.`"""
    return t.gettext(
        "Heads-up: %(category)s for %(month)s is at %(percent)d%% of its limit:"
        " %(spent)s of %(limit)s."
    ) % {
        "category": category_name,
        "month": t.month(year, month),
        "percent": percent,
        "spent": t.amount(spent),
        "limit": t.amount(limit),
    }


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
    t: Translator = ENGLISH,
    ledger_name: str | None = None,
) -> str:
    """Totals first, then the categories over their limit, the furthest over first:

    `November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00. Over the limit:
    Food 520.00 of 500.00.` When none is over: `... All categories stayed within their limits.`
    (left out when no category had a limit). A list too long for one Telegram message is cut
    and ends with `and N more`. A shared ledger's digest starts with its name: `Home · ...`.
    """
    totals = heading(
        t.gettext("%(month)s in numbers: income %(income)s, expenses %(expense)s, net %(net)s.")
        % {
            "month": t.month(year, month),
            "income": t.amount(income),
            "expense": t.amount(expense),
            "net": t.amount(net),
        }
    )
    if ledger_name is not None:
        totals = f"{ledger_name} · {totals}"
    over = sorted(
        (
            (category.limit - category.spent, category.name, category.spent, category.limit)
            for category in categories
            if category.limit is not None and category.spent > category.limit
        ),
    )
    if not over:
        if any(category.limit is not None for category in categories):
            return totals + " " + t.gettext("All categories stayed within their limits.")
        return totals
    entries = [
        t.gettext("%(category)s %(spent)s of %(limit)s")
        % {"category": name, "spent": t.amount(spent), "limit": t.amount(limit)}
        for _, name, spent, limit in over
    ]
    head = totals + " " + t.gettext("Over the limit:") + " "
    room = MAX_MESSAGE_LENGTH - telegram_length(head) - 1
    return head + _fitting_list(entries, room=room, t=t) + "."


@dataclass(frozen=True)
class DigestBalance:
    name: str
    net: Decimal
    former_member: bool = False


@dataclass(frozen=True)
class DigestTransfer:
    payer: str
    payee: str
    amount: Decimal


def digest_balances(
    *,
    ledger_name: str,
    balances: Sequence[DigestBalance],
    settle_up: Sequence[DigestTransfer],
    t: Translator = ENGLISH,
) -> str:
    """A shared ledger's digest's last lines: who owes whom, and how they settle up.

    `Who owes whom in Home:` / `Anna: +60.00` / `Ben: -10.00` / `To settle up:` / `Ben pays
    Anna 10.00`.
    """
    lines = [t.gettext("Who owes whom in %(ledger)s:") % {"ledger": ledger_name}]
    for balance in balances:
        net = t.amount(balance.net)
        shown = f"+{net}" if balance.net > 0 else net
        if balance.former_member:
            lines.append(
                t.gettext("%(name)s (former member): %(net)s")
                % {"name": balance.name, "net": shown}
            )
        else:
            lines.append(f"{balance.name}: {shown}")
    if settle_up:
        lines.append(t.gettext("To settle up:"))
        lines.extend(
            t.gettext("%(payer)s pays %(payee)s %(amount)s")
            % {
                "payer": transfer.payer,
                "payee": transfer.payee,
                "amount": t.amount(transfer.amount),
            }
            for transfer in settle_up
        )
    return "\n".join(lines)


def _fitting_list(entries: list[str], *, room: int, t: Translator) -> str:
    """As many of `entries` as fit in `room` characters, the rest counted as `and N more`."""
    lengths = [telegram_length(entry) for entry in entries]
    # Joined with ", ": the first k entries take sum(lengths[:k]) + 2 * (k - 1) characters.
    prefix = [0]
    for length in lengths:
        prefix.append(prefix[-1] + length)
    for shown in range(len(entries), 0, -1):
        rest = len(entries) - shown
        more = (
            " " + t.ngettext("and %(count)d more", "and %(count)d more", rest) % {"count": rest}
            if rest
            else ""
        )
        if prefix[shown] + 2 * (shown - 1) + telegram_length(more) <= room:
            return ", ".join(entries[:shown]) + more
    count = len(entries)
    return t.ngettext("%(count)d category", "%(count)d categories", count) % {"count": count}


def telegram_length(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units (an emoji takes two)."""
    return len(text.encode("utf-16-le")) // 2
