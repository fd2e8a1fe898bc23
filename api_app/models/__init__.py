"""The budget_api tables: the specification's seven, the outbox of the events, and the rules of
recurring transactions with their recorded occurrences."""

from api_app.models.budget import Budget, BudgetLimit
from api_app.models.category import Category
from api_app.models.goal import Goal
from api_app.models.outbox import OutboxEvent
from api_app.models.recurring import Frequency, RecurringOccurrence, RecurringTransaction
from api_app.models.transaction import Transaction, TransactionType
from api_app.models.user import RefreshToken, User

__all__ = [
    "Budget",
    "BudgetLimit",
    "Category",
    "Frequency",
    "Goal",
    "OutboxEvent",
    "RecurringOccurrence",
    "RecurringTransaction",
    "RefreshToken",
    "Transaction",
    "TransactionType",
    "User",
]
