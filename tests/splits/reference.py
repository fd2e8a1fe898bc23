"""The nets the tests expect, computed from the entries in Python: the database keeps them by
triggers (api migration 0013), and a test compares the two."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from api_app.splits.arithmetic import Share


def nets(
    payments: Iterable[tuple[uuid.UUID, Decimal]], shares: Iterable[Share]
) -> dict[uuid.UUID, Decimal]:
    """Each member's net: what they paid minus what they owe (positive: owed to them)."""
    balance: dict[uuid.UUID, Decimal] = {}
    for user_id, paid in payments:
        balance[user_id] = balance.get(user_id, Decimal(0)) + paid
    for share in shares:
        balance[share.user_id] = balance.get(share.user_id, Decimal(0)) - share.amount
    return balance
