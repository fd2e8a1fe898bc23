"""The budget_api tables: the specification's seven, the outbox of the events, and the runs of
the periodic jobs."""

from api_app.models.budget import Budget, BudgetLimit
from api_app.models.category import Category
from api_app.models.goal import Goal
from api_app.models.job_run import JobRun
from api_app.models.outbox import OutboxEvent
from api_app.models.transaction import Transaction, TransactionType
from api_app.models.user import RefreshToken, User

__all__ = [
    "Budget",
    "BudgetLimit",
    "Category",
    "Goal",
    "JobRun",
    "OutboxEvent",
    "RefreshToken",
    "Transaction",
    "TransactionType",
    "User",
]
