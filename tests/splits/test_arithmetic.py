"""The arithmetic of splits, proven over random households: shares add up to the amount to the
cent, nets add up to zero, and the settle-up transfers, applied as settlements, clear them."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api_app.splits.arithmetic import (
    InvalidSplitError,
    Portion,
    Share,
    SplitMethod,
    settle_up,
    split,
)
from tests.splits.reference import nets

ANNA, BEN, CLEO, DAN = (uuid.UUID(int=number) for number in (1, 2, 3, 4))

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda cent: Decimal(cent) / 100)
members = st.lists(st.uuids(), min_size=1, max_size=8, unique=True)


@st.composite
def splits(draw: st.DrawFn) -> tuple[Decimal, SplitMethod, list[Portion]]:
    amount = draw(cents)
    people = draw(members)
    method = draw(st.sampled_from(SplitMethod))
    if method is SplitMethod.EQUAL:
        return amount, method, [Portion(person) for person in people]
    if method is SplitMethod.SHARES:
        values = draw(st.lists(st.integers(1, 50), min_size=len(people), max_size=len(people)))
        return amount, method, [Portion(p, Decimal(v)) for p, v in zip(people, values, strict=True)]
    # Percentages or amounts: cut 100 (or the amount's cents) at random points; the parts add
    # up to the whole, so every drawn split is a valid one.
    whole = 10_000 if method is SplitMethod.PERCENT else int(amount * 100)
    cuts = sorted(
        draw(st.lists(st.integers(0, whole), min_size=len(people) - 1, max_size=len(people) - 1))
    )
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, whole], strict=True)]
    return (
        amount,
        method,
        [Portion(p, Decimal(part) / 100) for p, part in zip(people, parts, strict=True)],
    )


def is_cents(amount: Decimal) -> bool:
    return amount == amount.quantize(Decimal("0.01"))


@given(splits())
def test_shares_add_up_to_the_amount_to_the_cent(
    case: tuple[Decimal, SplitMethod, list[Portion]],
) -> None:
    amount, method, among = case
    shares = split(amount, method, among)
    assert sum(share.amount for share in shares) == amount
    assert all(is_cents(share.amount) and share.amount >= 0 for share in shares)
    assert [share.user_id for share in shares] == [portion.user_id for portion in among]
    if method is SplitMethod.AMOUNTS:
        assert [share.amount for share in shares] == [portion.value for portion in among]


@given(splits())
def test_the_same_split_listed_in_another_order_gives_the_same_shares(
    case: tuple[Decimal, SplitMethod, list[Portion]],
) -> None:
    amount, method, among = case
    forward = split(amount, method, among)
    backward = split(amount, method, among[::-1])
    assert sorted(forward, key=lambda s: s.user_id) == sorted(backward, key=lambda s: s.user_id)


@given(splits())
def test_each_share_is_within_a_cent_of_its_exact_part(
    case: tuple[Decimal, SplitMethod, list[Portion]],
) -> None:
    amount, method, among = case
    shares = split(amount, method, among)
    weights = [Decimal(1) if p.value is None else p.value for p in among]
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share.amount - amount * weight / sum(weights)) < Decimal("0.01")


def test_ten_among_three_gives_the_odd_cent_to_the_lowest_user_id() -> None:
    shares = split(
        Decimal("10.00"), SplitMethod.EQUAL, [Portion(CLEO), Portion(ANNA), Portion(BEN)]
    )
    assert shares == [
        Share(CLEO, Decimal("3.33")),
        Share(ANNA, Decimal("3.34")),
        Share(BEN, Decimal("3.33")),
    ]


def test_sixty_forty_by_percent() -> None:
    shares = split(
        Decimal("99.99"),
        SplitMethod.PERCENT,
        [Portion(ANNA, Decimal(60)), Portion(BEN, Decimal(40))],
    )
    assert shares == [Share(ANNA, Decimal("59.99")), Share(BEN, Decimal("40.00"))]


@pytest.mark.parametrize(
    ("method", "among", "problem"),
    [
        (SplitMethod.EQUAL, [], "at least one member"),
        (SplitMethod.EQUAL, [Portion(ANNA), Portion(ANNA)], "named twice"),
        (SplitMethod.EQUAL, [Portion(ANNA, Decimal(1))], "takes no values"),
        (SplitMethod.SHARES, [Portion(ANNA)], "needs a value"),
        (SplitMethod.SHARES, [Portion(ANNA, Decimal(-1)), Portion(BEN, Decimal(2))], "not a value"),
        (
            SplitMethod.PERCENT,
            [Portion(ANNA, Decimal(60)), Portion(BEN, Decimal(30))],
            "add up to 90",
        ),
        (
            SplitMethod.AMOUNTS,
            [Portion(ANNA, Decimal("5.00")), Portion(BEN, Decimal("4.00"))],
            "not 10.00",
        ),
        (
            SplitMethod.AMOUNTS,
            [Portion(ANNA, Decimal("9.995")), Portion(BEN, Decimal("0.005"))],
            "whole cents",
        ),
        (SplitMethod.PERCENT, [Portion(ANNA, Decimal(0)), Portion(BEN, Decimal(0))], "add up to 0"),
        (SplitMethod.SHARES, [Portion(ANNA, Decimal(0))], "nobody"),
    ],
)
def test_an_invalid_split_is_refused_naming_the_problem(
    method: SplitMethod, among: list[Portion], problem: str
) -> None:
    with pytest.raises(InvalidSplitError, match=problem):
        split(Decimal("10.00"), method, among)


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-5.00"), Decimal("1.005"), Decimal("NaN")])
def test_an_amount_that_is_not_positive_cents_cannot_be_split(amount: Decimal) -> None:
    with pytest.raises(InvalidSplitError, match="positive amount in cents"):
        split(amount, SplitMethod.EQUAL, [Portion(ANNA)])


@st.composite
def households(draw: st.DrawFn) -> dict[uuid.UUID, Decimal]:
    """Balances after random expenses, each paid by one member and split among some."""
    people = draw(st.lists(st.uuids(), min_size=2, max_size=7, unique=True))
    payments: list[tuple[uuid.UUID, Decimal]] = []
    shares: list[Share] = []
    for _ in range(draw(st.integers(1, 12))):
        amount = draw(cents)
        payer = draw(st.sampled_from(people))
        among = draw(st.lists(st.sampled_from(people), min_size=1, unique=True))
        payments.append((payer, amount))
        shares.extend(split(amount, SplitMethod.EQUAL, [Portion(person) for person in among]))
    return nets(payments, shares)


@given(households())
def test_nets_add_up_to_zero_and_settling_up_clears_every_balance(
    balances: dict[uuid.UUID, Decimal],
) -> None:
    assert sum(balances.values()) == 0
    transfers = settle_up(balances)
    settled = dict(balances)
    for transfer in transfers:
        assert transfer.amount > 0
        assert is_cents(transfer.amount)
        settled[transfer.from_user_id] += transfer.amount
        settled[transfer.to_user_id] -= transfer.amount
    assert all(amount == 0 for amount in settled.values())
    open_count = sum(1 for amount in balances.values() if amount != 0)
    assert len(transfers) <= max(open_count - 1, 0)


def test_settling_up_finds_the_groups_that_cancel_out() -> None:
    """Pairing the largest debtor with the largest creditor takes four transfers here (Eve
    pays Anna 3, then Ben 1, Cleo pays Ben 1 and Dan 2): Anna and Cleo cancel out, so three
    do."""
    eve = uuid.UUID(int=5)
    balances = {
        ANNA: Decimal("3.00"),
        BEN: Decimal("2.00"),
        CLEO: Decimal("-3.00"),
        DAN: Decimal("2.00"),
        eve: Decimal("-4.00"),
    }
    transfers = settle_up(balances)
    assert len(transfers) == 3
    assert (CLEO, ANNA, Decimal("3.00")) in {
        (t.from_user_id, t.to_user_id, t.amount) for t in transfers
    }


def test_balances_that_do_not_add_up_to_zero_cannot_be_settled() -> None:
    with pytest.raises(ValueError, match="add up to zero"):
        settle_up({ANNA: Decimal("1.00")})
