"""The exact arithmetic of splits: shares to the cent, and the fewest transfers that settle.

Pure functions over Decimals, no database: the services validate members and store the result.

The cents that do not divide evenly (10.00 among three) go by the largest remainder: every
member first gets their exact share rounded down to the cent, then the cents left over go one
each to the members whose exact share lost the most to that rounding, ties broken by user id
ascending. So the same amount, method and members always give the same shares, whatever order
the members were listed in, and no member is ever a cent further from their exact share than
the rounding forces.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Final

CENT: Final = Decimal("0.01")
HUNDRED: Final = Decimal(100)


class SplitMethod(enum.StrEnum):
    EQUAL = "equal"  # the same for everyone (`value` omitted)
    SHARES = "shares"  # in proportion to each `value` (2 and 1: two thirds and one third)
    PERCENT = "percent"  # each `value` a percentage; they add up to 100
    AMOUNTS = "amounts"  # each `value` an amount; they add up to the total


@dataclass(frozen=True)
class Portion:
    """One member's part of a split as asked: `value` is None for an equal split."""

    user_id: uuid.UUID
    value: Decimal | None = None


@dataclass(frozen=True)
class Share:
    user_id: uuid.UUID
    amount: Decimal


@dataclass(frozen=True)
class Transfer:
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    amount: Decimal


class InvalidSplitError(ValueError):
    """What is wrong with a split, in words a client can act on; `field` names the part."""

    def __init__(self, message: str, field: str = "among") -> None:
        super().__init__(message)
        self.field = field


def split(amount: Decimal, method: SplitMethod, among: Sequence[Portion]) -> list[Share]:
    """Each member's share of `amount` (positive, whole cents), in the order `among` lists
    them; the shares add up to `amount` exactly. Raises InvalidSplitError."""
    _check_amount(amount)
    weights = _weights(amount, method, among)
    return _largest_remainder(amount, weights, [portion.user_id for portion in among])


def _check_amount(amount: Decimal) -> None:
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise InvalidSplitError(f"the amount {amount} is not a positive amount in cents", "amount")


def _weights(amount: Decimal, method: SplitMethod, among: Sequence[Portion]) -> list[Decimal]:
    if not among:
        raise InvalidSplitError("a split needs at least one member")
    if len({portion.user_id for portion in among}) != len(among):
        raise InvalidSplitError("a member is named twice in the split")
    values = [portion.value for portion in among]
    if method is SplitMethod.EQUAL:
        if any(value is not None for value in values):
            raise InvalidSplitError("an equal split takes no values")
        return [Decimal(1)] * len(among)
    given = [_value(value, method) for value in values]
    if method is SplitMethod.PERCENT and sum(given) != HUNDRED:
        raise InvalidSplitError(f"the percentages add up to {sum(given)}, not 100")
    if method is SplitMethod.AMOUNTS:
        if any(value != value.quantize(CENT) for value in given):
            raise InvalidSplitError("each amount of a split is in whole cents")
        if sum(given) != amount:
            raise InvalidSplitError(f"the amounts add up to {sum(given)}, not {amount}")
    return given


def _value(value: Decimal | None, method: SplitMethod) -> Decimal:
    if value is None:
        raise InvalidSplitError(f"a {method} split needs a value for every member")
    # An amount of 0 leaves a member out on purpose; a share or percentage of 0 likewise.
    if not value.is_finite() or value < 0:
        raise InvalidSplitError(f"{value} is not a value a split can take")
    return value


def _largest_remainder(
    amount: Decimal, weights: Sequence[Decimal], user_ids: Sequence[uuid.UUID]
) -> list[Share]:
    total_weight = sum(weights)
    if total_weight <= 0:
        raise InvalidSplitError("the split gives nobody any part of the amount")
    cents = int(amount / CENT)
    exact = [Decimal(cents) * weight / total_weight for weight in weights]
    floors = [int(value.to_integral_value(rounding=ROUND_FLOOR)) for value in exact]
    left_over = cents - sum(floors)
    # Who lost the most to the rounding first; the same remainders by user id.
    by_remainder = sorted(
        range(len(weights)), key=lambda index: (-(exact[index] - floors[index]), user_ids[index])
    )
    for index in by_remainder[:left_over]:
        floors[index] += 1
    return [
        Share(user_id, Decimal(cent_count) * CENT)
        for user_id, cent_count in zip(user_ids, floors, strict=True)
    ]


# Past this many members with a balance, the exact search below (3^n steps) gives way to the
# greedy pairing, which may need one transfer more for each zero-sum group it does not see.
EXACT_SETTLE_UP_LIMIT: Final = 12


def settle_up(balances: Mapping[uuid.UUID, Decimal]) -> list[Transfer]:
    """The fewest transfers that bring every balance to zero (the balances add up to zero).

    n people with a balance need n - g transfers, where g is the most groups they can be cut
    into that each add up to zero; so the members are cut into as many zero-sum groups as
    possible (exactly, over subsets, for a household's few members), and each group is settled
    by pairing its largest debtor with its largest creditor, which takes one transfer fewer
    than its size. Deterministic: ties go by user id.
    """
    if sum(balances.values(), Decimal(0)) != 0:
        raise ValueError("balances that do not add up to zero cannot be settled")
    open_balances = sorted(
        ((user_id, amount) for user_id, amount in balances.items() if amount != 0),
        key=lambda entry: str(entry[0]),
    )
    if len(open_balances) > EXACT_SETTLE_UP_LIMIT:
        return _pair_off(open_balances)
    transfers: list[Transfer] = []
    for group in _zero_sum_groups(open_balances):
        transfers.extend(_pair_off(group))
    return transfers


def _zero_sum_groups(
    open_balances: Sequence[tuple[uuid.UUID, Decimal]],
) -> list[list[tuple[uuid.UUID, Decimal]]]:
    """The balances cut into the most groups that each add up to zero."""
    count = len(open_balances)
    full = (1 << count) - 1
    totals = [Decimal(0)] * (1 << count)
    for mask in range(1, 1 << count):
        lowest = (mask & -mask).bit_length() - 1
        totals[mask] = totals[mask & (mask - 1)] + open_balances[lowest][1]
    # most[mask]: the most zero-sum groups the members in mask (adding up to zero) split into.
    most = [0] * (1 << count)
    best_part = [0] * (1 << count)
    for mask in range(1, full + 1):
        if totals[mask] != 0:
            continue
        # Groups containing mask's lowest member: the rest of mask is solved already.
        lowest_bit = mask & -mask
        rest = mask ^ lowest_bit
        most[mask], best_part[mask] = 1, mask
        sub = rest
        while sub:
            part = sub | lowest_bit
            if part != mask and totals[part] == 0 and 1 + most[mask ^ part] > most[mask]:
                most[mask], best_part[mask] = 1 + most[mask ^ part], part
            sub = (sub - 1) & rest
    groups = []
    mask = full
    while mask:
        part = best_part[mask]
        groups.append([open_balances[bit] for bit in range(count) if part >> bit & 1])
        mask ^= part
    return groups


def _pair_off(group: Sequence[tuple[uuid.UUID, Decimal]]) -> list[Transfer]:
    """Largest debtor pays largest creditor until the group is even: one transfer fewer than
    the group's size when it adds up to zero and no part of it does."""
    debtors = {user_id: -amount for user_id, amount in group if amount < 0}
    creditors = {user_id: amount for user_id, amount in group if amount > 0}
    transfers = []
    while debtors and creditors:
        debtor = max(debtors, key=lambda user_id: (debtors[user_id], str(user_id)))
        creditor = max(creditors, key=lambda user_id: (creditors[user_id], str(user_id)))
        amount = min(debtors[debtor], creditors[creditor])
        transfers.append(Transfer(debtor, creditor, amount))
        for side, user_id in ((debtors, debtor), (creditors, creditor)):
            side[user_id] -= amount
            if side[user_id] == 0:
                del side[user_id]
    return transfers


__all__ = [
    "InvalidSplitError",
    "Portion",
    "Share",
    "SplitMethod",
    "Transfer",
    "settle_up",
    "split",
]
