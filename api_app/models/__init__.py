"""The budget_api tables: the specification's seven, the outbox of the events, the rules of
recurring transactions with their recorded occurrences, the ledgers that hold the budgeting
rows with their members and invitations, the runs of the periodic jobs, the
bot's commands, and the rows each account wrote today (its quota)."""

from api_app.models.bot_command import BotCommandRecord
from api_app.models.budget import Budget, BudgetLimit
from api_app.models.category import Category
from api_app.models.goal import Goal
from api_app.models.job_run import JobRun
from api_app.models.ledger import Ledger, LedgerInvitation, LedgerMember
from api_app.models.outbox import OutboxEvent
from api_app.models.quota import DailyRowCount
from api_app.models.recurring import Frequency, RecurringOccurrence, RecurringTransaction
from api_app.models.split import (
    LedgerBalance,
    Settlement,
    TransactionShare,
    ledger_balance_changes,
)
from api_app.models.transaction import Transaction, TransactionType
from api_app.models.user import RefreshToken, User

__all__ = [
    "BotCommandRecord",
    "Budget",
    "BudgetLimit",
    "Category",
    "DailyRowCount",
    "Frequency",
    "Goal",
    "JobRun",
    "Ledger",
    "LedgerBalance",
    "LedgerInvitation",
    "LedgerMember",
    "OutboxEvent",
    "RecurringOccurrence",
    "RecurringTransaction",
    "RefreshToken",
    "Settlement",
    "Transaction",
    "TransactionShare",
    "TransactionType",
    "User",
    "ledger_balance_changes",
]
