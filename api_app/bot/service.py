"""Carrying out a BotCommand as its user, exactly once, and answering it.

One unit of work per command: the transaction it records (through create_transaction, the same
use case as POST /api/transactions, so limit and warning alerts fire), its bot_commands row and
its bot.reply event commit together or not at all. The command's id, the transaction's and the
reply's derive from the Telegram update: a command that arrives again finds its row and records
its reply again, which the outbox (and notify's delivery log, unique per event id) keep single.

A command acts on a ledger as its sender: in a group, the shared ledger linked to it; in a
private chat, the one the person picked with /ledger (users.bot_ledger_id) while they are still
a member of it, else their personal one. A sender who is not a member of the group's ledger is
told so; a viewer may read (/summary, /categories) but not write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from api_app.bot import splits
from api_app.bot.parsing import AMOUNT, match_category, parse_entry
from api_app.budgets.service import NewBudget, NewLimit, create_budget, set_limit
from api_app.budgets.spending import spent_in_month
from api_app.budgets.summary import monthly_summary
from api_app.changes import UNSET
from api_app.domain_errors import ForbiddenError, InvalidError, NotFoundError, QuotaExceededError
from api_app.extensions import db
from api_app.ledgers.membership import WRITERS, memberships_of
from api_app.ledgers.service import ledgers_of
from api_app.models import (
    BotCommandRecord,
    Budget,
    BudgetLimit,
    Category,
    Ledger,
    Transaction,
    TransactionType,
    User,
)
from api_app.money import CENT, MAX_AMOUNT
from api_app.months import month_bounds
from api_app.splits.sharing import SplitRequest
from api_app.transactions.service import NewTransaction, create_transaction, delete_transaction
from api_app.unit_of_work import UnitOfWork
from api_app.users.service import set_locale
from api_app.users.timezones import today_in
from event_contract import (
    BOT_BALANCE,
    BOT_CATEGORIES,
    BOT_CHOOSE,
    BOT_INCOME,
    BOT_LANGUAGE,
    BOT_LEDGER,
    BOT_LIMIT,
    BOT_SETTLE,
    BOT_SPENT,
    BOT_SUMMARY,
    BOT_UNDO,
    CHAT_GROUP,
    LEDGER_PERSONAL,
    LEDGER_SHARED,
    BotCommand,
    BotReply,
    Event,
    bot_reply_id,
    bot_transaction_id,
    money,
)
from service_kit.i18n import (
    Translator,
    choose_language,
    heading,
    sentence,
    supported_language,
    translator,
)

logger = logging.getLogger(__name__)

UNDO_WINDOW: Final = timedelta(hours=24)
# Buttons offered for a category, two per row.
MAX_BUTTONS: Final = 24
CHOICE_PREFIX: Final = "c"


@dataclass
class Outcome:
    """What a command did: its reply, and the transaction or choice to remember."""

    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    transaction_id: uuid.UUID | None = None
    choice: dict[str, Any] | None = None


def handle_bot_command(message: dict[str, Any]) -> str:
    """Carry out the command (BotCommand.to_message()); returns what became of it."""
    command = BotCommand.from_message(message)
    logger.info(
        "bot command %s (/%s, %d characters of arguments)",
        command.id,
        command.name,
        len(command.arguments),
        extra={"user_id": str(command.user_id)},
    )
    if _answer_again(command):
        return "answered before"
    try:
        with UnitOfWork(command.user_id) as uow:
            # FOR KEY SHARE: the account cannot be deleted under the command.
            user = uow.session.execute(
                select(User.timezone, User.language, User.currency, User.bot_ledger_id)
                .where(User.id == command.user_id)
                .with_for_update(read=True, key_share=True)
            ).one_or_none()
            if user is None:
                return "no such user"
            # The person's choice, else their Telegram's language, else English.
            t = translator(choose_language(user.language, command.language_code), user.currency)
            outcome = _carry_out(command, t, today_in(user.timezone, command.sent_at), uow, user)
            reply = _reply_payload(command, outcome)
            uow.session.add(
                BotCommandRecord(
                    id=command.id,
                    user_id=command.user_id,
                    chat_id=command.chat_id,
                    name=command.name,
                    transaction_id=outcome.transaction_id,
                    choice=outcome.choice,
                    reply=reply,
                )
            )
            uow.session.flush()
            uow.record_once(_reply_event(command, reply))
    except IntegrityError:
        # The same command, carried out meanwhile by another copy of the message.
        if _answer_again(command):
            return "answered before"
        raise
    return "done"


def _answer_again(command: BotCommand) -> bool:
    with UnitOfWork(command.user_id) as uow:
        record = uow.session.get(BotCommandRecord, command.id)
        if record is None:
            return False
        uow.record_once(_reply_event(command, record.reply))
    return True


@dataclass(frozen=True)
class Asked:
    """A command, the user's today, the language to answer in and the ledger it acts on (with
    the sender's role in it)."""

    command: BotCommand
    today: date
    t: Translator
    uow: UnitOfWork
    ledger_id: uuid.UUID
    role: str


# Commands that write to the ledger: a viewer is told they may only read.
WRITING: Final = frozenset({BOT_SPENT, BOT_INCOME, BOT_CHOOSE, BOT_UNDO, BOT_LIMIT, BOT_SETTLE})


def _carry_out(
    command: BotCommand, t: Translator, today: date, uow: UnitOfWork, user: Any
) -> Outcome:
    memberships = memberships_of(command.user_id)
    if command.chat_type == CHAT_GROUP and command.ledger_id is not None:
        ledger_id = command.ledger_id
        if memberships.role(ledger_id) is None:
            return Outcome(
                t.gettext(
                    "You are not a member of this group's ledger: ask its owner for an invitation."
                )
            )
    elif user.bot_ledger_id is not None and memberships.role(user.bot_ledger_id) is not None:
        ledger_id = user.bot_ledger_id
    else:
        ledger_id = memberships.personal_ledger_id
    role = memberships.role(ledger_id)
    assert role is not None
    if command.name in WRITING and role not in WRITERS:
        return Outcome(_only_reads(t))
    try:
        return COMMANDS[command.name](Asked(command, today, t, uow, ledger_id, role))
    except ForbiddenError:
        return Outcome(_only_reads(t))


def _only_reads(t: Translator) -> str:
    return t.gettext("You may only read this ledger: ask its owner to make you a member.")


def _reply_payload(command: BotCommand, outcome: Outcome) -> dict[str, Any]:
    """The reply as the contract carries it, kept with the command to answer a repeat."""
    return BotReply(
        chat_id=command.chat_id,
        text=outcome.text,
        buttons=outcome.buttons or None,
        chart=outcome.chart,
    ).to_json()


def _reply_event(command: BotCommand, reply: dict[str, Any]) -> Event:
    return Event(
        user_id=command.user_id, payload=BotReply.from_json(reply), id=bot_reply_id(command.id)
    )


# -- /spent and /income ---------------------------------------------------------------------


def _usage(t: Translator, command: str) -> str:
    text = t.gettext(
        "Write it like this: /spent 12.50 food lunch (amount, category or the start of its name,"
        " then a description if you like)."
    )
    return text.replace("/spent", f"/{command}")


def _record_entry(kind: TransactionType) -> Callable[[Asked], Outcome]:
    def record(asked: Asked) -> Outcome:
        command, t = asked.command, asked.t
        entry = parse_entry(command.arguments)
        if entry is None:
            return Outcome(_usage(t, command.name))
        categories = _categories_of(asked.ledger_id)
        if not categories:
            return Outcome(t.gettext("You have no categories yet: add one in the app first."))
        words, split = entry.category_words, None
        if kind is TransactionType.EXPENSE and _is_shared(asked):
            members = splits.members_of(asked.uow.session, asked.ledger_id)
            words, split = splits.split_asked(words, members)
        match = match_category(words, categories)
        if match.category_id is None:
            return _offer_categories(asked, kind, entry.amount, match, split)
        return _record(
            asked, kind, entry.amount, match.category_id, asked.today, match.description, split
        )

    return record


def _offer_categories(
    asked: Asked,
    kind: TransactionType,
    amount: Decimal,
    match: Any,
    split: SplitRequest | None = None,
) -> Outcome:
    command, today = asked.command, asked.today
    candidates = sorted(match.candidates, key=lambda c: c[1].casefold())[:MAX_BUTTONS]
    buttons = [
        {"text": name, "data": f"{CHOICE_PREFIX}:{command.id.hex}:{index}"}
        for index, (_, name) in enumerate(candidates)
    ]
    return Outcome(
        asked.t.gettext("Which category should %(amount)s go to?")
        % {"amount": asked.t.amount(amount)},
        buttons=[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
        choice={
            "type": kind.value,
            "amount": money(amount),
            "date": today.isoformat(),
            "description": match.description,
            "categories": [str(category_id) for category_id, _ in candidates],
            "ledger_id": str(asked.ledger_id),
            "split": None if split is None else split.as_json(),
        },
    )


def _record(
    asked: Asked,
    kind: TransactionType,
    amount: Decimal,
    category_id: uuid.UUID,
    day: date,
    description: str | None,
    split: SplitRequest | None = None,
) -> Outcome:
    """`split`: the one the command asked for (None: the ledger's default)."""
    command, t = asked.command, asked.t
    try:
        transaction = create_transaction(
            command.user_id,
            NewTransaction(
                category_id,
                kind,
                amount,
                day,
                description,
                ledger_id=asked.ledger_id,
                split=UNSET if split is None else split,
            ),
            transaction_id=bot_transaction_id(command.id),
        )
    except QuotaExceededError:
        return Outcome(
            t.gettext(
                "This account wrote as many entries today as it may in a day; nothing was"
                " recorded. Send it again tomorrow."
            )
        )
    except InvalidError as invalid:
        # The ledger's default split names someone who has left, say.
        return Outcome(
            t.gettext("Nothing was recorded: %(problem)s.") % {"problem": invalid.message}
        )
    values = {
        "amount": t.amount(amount),
        "about": f" ({description})" if description else "",
        "day": t.day(day),
    }
    if kind is TransactionType.EXPENSE:
        text = t.gettext("Spent: %(amount)s%(about)s, %(day)s") % values
    else:
        text = t.gettext("Income: %(amount)s%(about)s, %(day)s") % values
    text = sentence(text) + "\n" + _month_so_far(t, command.user_id, category_id, day, kind)
    if kind is TransactionType.EXPENSE and _is_shared(asked):
        members = splits.members_of(asked.uow.session, asked.ledger_id)
        text += "\n" + splits.split_line(t, transaction, members)
    return Outcome(text, transaction_id=transaction.id)


def _month_so_far(
    t: Translator, user_id: uuid.UUID, category_id: uuid.UUID, day: date, kind: TransactionType
) -> str:
    """The category's month, this command included: "Food: 212.50 of 300.00, 71 %"."""
    name, ledger_id = db.session.execute(
        select(Category.name, Category.ledger_id).where(Category.id == category_id)
    ).one()
    if kind is TransactionType.INCOME:
        first, following = month_bounds(day.year, day.month)
        received = db.session.scalar(
            select(func.coalesce(func.sum(Transaction.amount), 0)).where(
                Transaction.ledger_id == ledger_id,
                Transaction.category_id == category_id,
                Transaction.type == TransactionType.INCOME,
                Transaction.date >= first,
                Transaction.date < following,
            )
        )
        return t.gettext("%(category)s: %(amount)s received %(in_month)s") % {
            "category": name,
            "amount": t.amount(Decimal(received or 0)),
            "in_month": t.in_month(day.month),
        }
    spent = spent_in_month(user_id, category_id, day.year, day.month)
    limit = db.session.scalar(
        select(BudgetLimit.limit_amount)
        .join(Budget, Budget.id == BudgetLimit.budget_id)
        .where(
            Budget.ledger_id == ledger_id,
            Budget.year == day.year,
            Budget.month == day.month,
            BudgetLimit.category_id == category_id,
        )
    )
    if limit is None:
        return t.gettext("%(category)s: %(amount)s spent %(in_month)s (no limit)") % {
            "category": name,
            "amount": t.amount(spent),
            "in_month": t.in_month(day.month),
        }
    return t.gettext("%(category)s: %(spent)s of %(limit)s, %(percent)d %%") % {
        "category": name,
        "spent": t.amount(spent),
        "limit": t.amount(limit),
        "percent": _percent(spent, limit),
    }


def _percent(spent: Decimal, limit: Decimal) -> int:
    if limit == 0:
        return 0 if spent == 0 else 100
    return int((spent * 100 / limit).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _choose(asked: Asked) -> Outcome:
    """A category button: record the waiting entry there, once, whichever button comes first."""
    command, t = asked.command, asked.t
    not_mine = t.gettext("That button is not mine any more; send the command again.")
    prefix, _, rest = command.arguments.partition(":")
    offer_hex, _, index_text = rest.partition(":")
    try:
        offer_id = uuid.UUID(hex=offer_hex)
        index = int(index_text)
    except ValueError:
        return Outcome(not_mine)
    offer = db.session.scalar(
        select(BotCommandRecord)
        .where(
            BotCommandRecord.id == offer_id,
            BotCommandRecord.user_id == command.user_id,
            BotCommandRecord.choice.is_not(None),
        )
        .with_for_update()
    )
    choice = None if offer is None else offer.choice
    if prefix != CHOICE_PREFIX or choice is None or not 0 <= index < len(choice["categories"]):
        return Outcome(not_mine)
    assert offer is not None
    if offer.chosen_by is not None:
        return Outcome(
            t.gettext("Already recorded: one entry per message. Send /undo to remove it.")
        )
    offer.chosen_by = command.id
    # The ledger the offer was made in (choices made before households: the personal one).
    if choice.get("ledger_id"):
        asked = replace(asked, ledger_id=uuid.UUID(choice["ledger_id"]))
    try:
        return _record(
            asked,
            TransactionType(choice["type"]),
            Decimal(choice["amount"]),
            uuid.UUID(choice["categories"][index]),
            date.fromisoformat(choice["date"]),
            choice["description"],
            None if choice.get("split") is None else SplitRequest.from_json(choice["split"]),
        )
    except NotFoundError:
        return Outcome(t.gettext("That category is gone; send the command again."))


# -- /undo ----------------------------------------------------------------------------------


def _undo(asked: Asked) -> Outcome:
    """Remove the chat's latest recorded transaction, if it is under 24 hours old."""
    command, t = asked.command, asked.t
    since = command.sent_at - UNDO_WINDOW
    latest = db.session.execute(
        select(BotCommandRecord.id, Transaction)
        .join(Transaction, Transaction.id == BotCommandRecord.transaction_id)
        .where(
            BotCommandRecord.user_id == command.user_id,
            BotCommandRecord.chat_id == command.chat_id,
            BotCommandRecord.created_at > since,
        )
        .order_by(BotCommandRecord.created_at.desc())
        .limit(1)
    ).one_or_none()
    if latest is None:
        return Outcome(
            t.gettext("Nothing to undo: nothing was recorded from this chat in the last 24 hours.")
        )
    transaction = latest[1]
    delete_transaction(command.user_id, transaction.id)
    day = transaction.date
    text = t.gettext("Removed: %(amount)s%(about)s, %(day)s") % {
        "amount": t.amount(transaction.amount),
        "about": f" ({transaction.description})" if transaction.description else "",
        "day": t.day(day),
    }
    text = sentence(text) + "\n"
    text += _month_so_far(t, command.user_id, transaction.category_id, day, transaction.type)
    return Outcome(text)


# -- /summary -------------------------------------------------------------------------------


def _summary(asked: Asked) -> Outcome:
    """This month's income, expense and each budgeted category's spent / limit, and a chart of
    every category with spending or a limit, whenever the month has either."""
    today, t = asked.today, asked.t
    summary = monthly_summary(asked.ledger_id, today.year, today.month)
    month = t.month(today.year, today.month)
    title = heading(month)
    so_far = t.gettext("%(month)s so far") % {"month": title}
    ledger_name = _shared_ledger_name(asked)
    if ledger_name is not None:
        so_far = f"{ledger_name} · {so_far}"
    lines = [
        so_far,
        t.gettext("Income: %(amount)s") % {"amount": t.amount(summary.income)},
        t.gettext("Expense: %(amount)s") % {"amount": t.amount(summary.expense)},
    ]
    budgeted = [category for category in summary.categories if category.limit is not None]
    for category in budgeted:
        assert category.limit is not None
        over = " - " + t.gettext("over the limit") if category.over_limit else ""
        values = {
            "category": category.name,
            "spent": t.amount(category.spent),
            "limit": t.amount(category.limit),
            "percent": _percent(category.spent, category.limit),
        }
        lines.append(
            t.gettext("%(category)s: %(spent)s of %(limit)s, %(percent)d %%") % values + over
        )
    unbudgeted = [c for c in summary.categories if c.limit is None and c.spent > 0]
    for category in unbudgeted:
        lines.append(
            t.gettext("%(category)s: %(amount)s spent %(in_month)s (no limit)")
            % {
                "category": category.name,
                "amount": t.amount(category.spent),
                "in_month": t.in_month(today.month),
            }
        )
    if not budgeted:
        lines.append(t.gettext("No budget limits for %(month)s.") % {"month": month})
    charted = [c for c in summary.categories if c.limit is not None or c.spent > 0]
    if not charted:
        return Outcome("\n".join(lines))
    chart = {
        "title": title,
        "language": t.language,
        "currency": t.currency,
        "bars": [
            {
                "name": category.name,
                "spent": money(category.spent),
                "limit": None if category.limit is None else money(category.limit),
            }
            for category in charted
        ],
    }
    return Outcome("\n".join(lines), chart=chart)


def _is_shared(asked: Asked) -> bool:
    membership = memberships_of(asked.command.user_id).by_ledger[asked.ledger_id]
    return membership.kind == LEDGER_SHARED


# -- /balance and /settle -------------------------------------------------------------------


def _balance(asked: Asked) -> Outcome:
    """Who owes whom in the ledger, and the fewest transfers that settle up."""
    name = _shared_ledger_name(asked)
    if name is None:
        return Outcome(splits.personal_text(asked.t))
    return Outcome(splits.balance(asked.t, asked.uow.session, asked.ledger_id, name))


def _settle(asked: Asked) -> Outcome:
    """`/settle 30 Ben`: the sender paid Ben back 30."""
    name = _shared_ledger_name(asked)
    if name is None:
        return Outcome(splits.personal_text(asked.t))
    return Outcome(
        splits.settle(
            asked.t,
            asked.uow.session,
            user_id=asked.command.user_id,
            ledger_id=asked.ledger_id,
            ledger_name=name,
            arguments=asked.command.arguments,
            today=asked.today,
        )
    )


def _shared_ledger_name(asked: Asked) -> str | None:
    """The ledger's name when it is a shared one (a personal ledger's replies read as ever)."""
    membership = memberships_of(asked.command.user_id).by_ledger[asked.ledger_id]
    if membership.kind == LEDGER_PERSONAL:
        return None
    return asked.uow.session.scalar(select(Ledger.name).where(Ledger.id == asked.ledger_id))


# -- /limit and /categories -----------------------------------------------------------------


def _limit(asked: Asked) -> Outcome:
    """`/limit food 400`: this month's limit of a category (the month's budget made if none)."""
    command, today, t = asked.command, asked.today, asked.t
    words = command.arguments.split()
    usage = t.gettext(
        "Write it like this: /limit food 400 (a category or the start of its name, then this"
        " month's limit)."
    )
    if len(words) < 2 or not AMOUNT.match(words[-1]):
        return Outcome(usage)
    amount = Decimal(words[-1].replace(",", ".")).quantize(CENT)
    if not Decimal(0) < amount <= MAX_AMOUNT:
        return Outcome(usage)
    categories = _categories_of(asked.ledger_id)
    match = match_category(words[:-1], categories)
    if match.category_id is None or match.description is not None:
        names = ", ".join(name for _, name in sorted(match.candidates, key=lambda c: c[1]))
        return Outcome(
            t.gettext("Which category? Write one of: %(names)s.") % {"names": names}
            if names
            else t.gettext("You have no categories yet: add one in the app first.")
        )
    budget_id = asked.uow.session.scalar(
        select(Budget.id).where(
            Budget.ledger_id == asked.ledger_id,
            Budget.year == today.year,
            Budget.month == today.month,
        )
    )
    if budget_id is None:
        create_budget(
            command.user_id,
            NewBudget(
                today.year,
                today.month,
                [NewLimit(match.category_id, amount)],
                ledger_id=asked.ledger_id,
            ),
        )
    else:
        set_limit(command.user_id, budget_id, match.category_id, amount)
    text = t.gettext("Limit set for %(month)s: %(amount)s.") % {
        "month": t.month(today.year, today.month),
        "amount": t.amount(amount),
    }
    return Outcome(
        text
        + "\n"
        + _month_so_far(t, command.user_id, match.category_id, today, TransactionType.EXPENSE)
    )


def _categories(asked: Asked) -> Outcome:
    """The ledger's categories, each with this month's spending and its limit."""
    today, t = asked.today, asked.t
    summary = monthly_summary(asked.ledger_id, today.year, today.month)
    shown = {category.category_id: category for category in summary.categories}
    names = _categories_of(asked.ledger_id)
    if not names:
        return Outcome(t.gettext("You have no categories yet: add one in the app first."))
    month = t.month(today.year, today.month)
    title = t.gettext("Categories, %(month)s:") % {"month": month}
    ledger_name = _shared_ledger_name(asked)
    lines = [title if ledger_name is None else f"{ledger_name} · {title}"]
    for category_id, name in names:
        spending = shown.get(category_id)
        spent = Decimal(0) if spending is None else spending.spent
        limit = None if spending is None else spending.limit
        if limit is None:
            lines.append(
                t.gettext("%(category)s: %(amount)s spent %(in_month)s (no limit)")
                % {"category": name, "amount": t.amount(spent), "in_month": t.in_month(today.month)}
            )
        else:
            lines.append(
                t.gettext("%(category)s: %(spent)s of %(limit)s, %(percent)d %%")
                % {
                    "category": name,
                    "spent": t.amount(spent),
                    "limit": t.amount(limit),
                    "percent": _percent(spent, limit),
                }
            )
    return Outcome("\n".join(lines))


# -- /ledger --------------------------------------------------------------------------------


def _ledger(asked: Asked) -> Outcome:
    """In a private chat: the person's ledgers, numbered, the one their /spent goes to marked;
    `/ledger 2` or `/ledger Home` picks one. In a group: the ledger it records into."""
    command, t = asked.command, asked.t
    ledgers = ledgers_of(command.user_id)
    current = next(ledger for ledger in ledgers if ledger.id == asked.ledger_id)
    if command.chat_type == CHAT_GROUP:
        return Outcome(t.gettext("This group records into %(ledger)s.") % {"ledger": current.name})
    wanted = command.arguments.strip()
    if not wanted:
        listed = [
            f"{number}. {ledger.name}" + (" ✓" if ledger.id == current.id else "")
            for number, ledger in enumerate(ledgers, start=1)
        ]
        return Outcome(
            "\n".join(
                [
                    t.gettext("Your ledgers; /spent and /income here record into the marked one:"),
                    *listed,
                    t.gettext("Pick another with /ledger and its number."),
                ]
            )
        )
    picked = None
    if wanted.isdigit() and 1 <= int(wanted) <= len(ledgers):
        picked = ledgers[int(wanted) - 1]
    else:
        named = [ledger for ledger in ledgers if ledger.name.casefold() == wanted.casefold()]
        picked = named[0] if len(named) == 1 else None
    if picked is None:
        return Outcome(t.gettext("No such ledger of yours: send /ledger to see them."))
    personal = memberships_of(command.user_id).personal_ledger_id
    asked.uow.session.execute(
        update(User)
        .where(User.id == command.user_id)
        .values(bot_ledger_id=None if picked.id == personal else picked.id)
    )
    return Outcome(
        t.gettext("From now on /spent and /income here record into %(ledger)s.")
        % {"ledger": picked.name}
    )


# -- /language ------------------------------------------------------------------------------


def _language(asked: Asked) -> Outcome:
    """`/language ru`: the account's language from now on, for the bot and the alerts alike."""
    language = supported_language(asked.command.arguments)
    if language is None:
        return Outcome(
            asked.t.gettext("Write /language ru for Russian or /language en for English.")
        )
    user = asked.uow.session.get_one(User, asked.command.user_id)
    set_locale(asked.uow, user, language=language, currency=user.currency)
    return Outcome(translator(language).gettext("From now on I write in English."))


def _categories_of(ledger_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = db.session.execute(
        select(Category.id, Category.name)
        .where(Category.ledger_id == ledger_id)
        .order_by(Category.name, Category.id)
    ).tuples()
    return list(rows)


COMMANDS: Final[dict[str, Callable[[Asked], Outcome]]] = {
    BOT_SPENT: _record_entry(TransactionType.EXPENSE),
    BOT_INCOME: _record_entry(TransactionType.INCOME),
    BOT_CHOOSE: _choose,
    BOT_UNDO: _undo,
    BOT_SUMMARY: _summary,
    BOT_LANGUAGE: _language,
    BOT_LIMIT: _limit,
    BOT_CATEGORIES: _categories,
    BOT_LEDGER: _ledger,
    BOT_BALANCE: _balance,
    BOT_SETTLE: _settle,
}
