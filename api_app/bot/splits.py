"""The bot's side of splits: `/spent 60 food @all` and `/spent 60 food for Ben`, the line every
reply in a shared ledger adds about the split it applied, `/balance` and `/settle 30 Ben`.

Members are named by their display name (unique, in any letter case, within each ledger they
share: api_app.ledgers.service), else by their e-mail address's local part.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api_app.bot.parsing import AMOUNT
from api_app.models import LedgerMember, Transaction, User
from api_app.money import CENT, MAX_AMOUNT
from api_app.splits.arithmetic import Portion, SplitMethod
from api_app.splits.balances import Balances, balances_in
from api_app.splits.service import NewSettlement, record_settlement
from api_app.splits.sharing import SPENDERS, SplitRequest
from service_kit.i18n import Translator

EVERYONE: Final = "@all"
# `/spent 60 food for Ben`: the word before a member's name puts it all on them.
FOR_WORDS: Final = frozenset({"for", "для"})


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    name: str
    role: str


def members_of(session: Session, ledger_id: uuid.UUID) -> list[Member]:
    rows = session.execute(
        select(LedgerMember.user_id, User.display_name, User.email, LedgerMember.role)
        .join(User, User.id == LedgerMember.user_id)
        .where(LedgerMember.ledger_id == ledger_id)
        .order_by(LedgerMember.joined_at, LedgerMember.user_id)
    ).all()
    return [
        Member(row.user_id, row.display_name or row.email.split("@")[0], row.role) for row in rows
    ]


def named(members: Sequence[Member], name: str) -> Member | None:
    wanted = name.strip().casefold()
    found = [member for member in members if member.name.casefold() == wanted]
    return found[0] if len(found) == 1 else None


def split_asked(
    words: list[str], members: Sequence[Member]
) -> tuple[list[str], SplitRequest | None]:
    """The words without a split at their end, and the split it asked for (None: none, the
    ledger's default applies). The category stays: its first word is never taken."""
    if len(words) > 1 and words[-1].casefold() == EVERYONE:
        spenders = sorted(member.user_id for member in members if member.role in SPENDERS)
        return words[:-1], SplitRequest(
            SplitMethod.EQUAL, tuple(Portion(user_id) for user_id in spenders)
        )
    for index in range(len(words) - 2, 0, -1):
        if words[index].casefold() in FOR_WORDS:
            member = named(members, " ".join(words[index + 1 :]))
            if member is not None:
                return words[:index], SplitRequest(SplitMethod.EQUAL, (Portion(member.user_id),))
    return words, None


def split_line(t: Translator, transaction: Transaction, members: Sequence[Member]) -> str:
    """What a reply in a shared ledger says about the split it applied."""
    names = {member.user_id: member.name for member in members}
    if not transaction.shares:
        return t.gettext("Not split: the household pays.")
    shares = ", ".join(
        f"{names.get(share.user_id, '?')} {t.amount(share.amount)}" for share in transaction.shares
    )
    payer = names.get(transaction.paid_by, "?") if transaction.paid_by else "?"
    return t.gettext("Paid by %(payer)s, split: %(shares)s") % {"payer": payer, "shares": shares}


def balance_text(t: Translator, balances: Balances, ledger_name: str) -> str:
    names = {balance.user_id: balance.name for balance in balances.balances}
    lines = [t.gettext("Who owes whom in %(ledger)s:") % {"ledger": ledger_name}]
    for balance in balances.balances:
        net = t.amount(balance.net)
        shown = f"+{net}" if balance.net > 0 else net
        if balance.former:
            lines.append(
                t.gettext("%(name)s (former member): %(net)s")
                % {"name": balance.name, "net": shown}
            )
        else:
            lines.append(f"{balance.name}: {shown}")
    if not balances.settle_up:
        lines.append(t.gettext("Everyone is even."))
        return "\n".join(lines)
    lines.append(t.gettext("To settle up:"))
    for transfer in balances.settle_up:
        lines.append(
            t.gettext("%(payer)s pays %(payee)s %(amount)s")
            % {
                "payer": names.get(transfer.from_user_id, "?"),
                "payee": names.get(transfer.to_user_id, "?"),
                "amount": t.amount(transfer.amount),
            }
        )
    return "\n".join(lines)


def personal_text(t: Translator) -> str:
    return t.gettext(
        "Nobody owes anybody in a personal ledger: use this in a shared ledger's group, or pick"
        " one with /ledger."
    )


def balance(t: Translator, session: Session, ledger_id: uuid.UUID, ledger_name: str) -> str:
    return balance_text(t, balances_in(session, ledger_id), ledger_name)


def settle(
    t: Translator,
    session: Session,
    *,
    user_id: uuid.UUID,
    ledger_id: uuid.UUID,
    ledger_name: str,
    arguments: str,
    today: date,
) -> str:
    """`/settle 30 Ben`: the sender paid Ben back 30; answers with the balances after it."""
    usage = t.gettext(
        "Write it like this: /settle 30 Ben (the amount you paid back, then to whom)."
    )
    words = arguments.split()
    if len(words) < 2 or not AMOUNT.match(words[0]):
        return usage
    amount = Decimal(words[0].replace(",", ".")).quantize(CENT)
    if not Decimal(0) < amount <= MAX_AMOUNT:
        return usage
    members = members_of(session, ledger_id)
    payee = named(members, " ".join(words[1:]))
    if payee is None or payee.user_id == user_id:
        others = ", ".join(member.name for member in members if member.user_id != user_id)
        return t.gettext("No one here is called that. The others: %(names)s.") % {"names": others}
    record_settlement(user_id, ledger_id, NewSettlement(user_id, payee.user_id, amount, today))
    done = t.gettext("Recorded: you paid %(name)s back %(amount)s.") % {
        "name": payee.name,
        "amount": t.amount(amount),
    }
    return done + "\n" + balance(t, session, ledger_id, ledger_name)
