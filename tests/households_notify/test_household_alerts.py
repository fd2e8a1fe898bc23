"""A shared ledger's crossing reaches every member by their own settings and the ledger's group,
exactly once each: api_app records one event per member (audience "member") and one for the
group (audience "group"); here they are recorded as its use cases do, and travel the real
pipeline (outbox, Redis, the worker) to the Telegram stand-in."""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask import Flask

from event_contract import (
    AUDIENCE_GROUP,
    AUDIENCE_MEMBER,
    BudgetLimitExceeded,
    BudgetMonthClosed,
    BudgetThresholdReached,
    ClosedCategory,
    Event,
    LedgerContext,
)
from tests.households_notify.conftest import Home, Household
from tests.households_notify.ledgers import link_group, sent_to
from tests.pipeline import deliveries_of, finished_delivery, limit_exceeded, record
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn

GROUP = -6001


def context(household: Household, audience: str) -> LedgerContext:
    """Boris's 32.00 of groceries crossed the line in "Home"."""
    return LedgerContext(
        ledger_id=household.ledger_id,
        ledger_name="Home",
        audience=audience,
        recorded_by=household.boris.id,
        recorded_by_name="Boris",
        transaction_amount=Decimal("32.00"),
        transaction_description="groceries",
    )


def food_over_its_limit(household: Household) -> list[Event]:
    """What api_app records for the crossing: one event per member, one for the group."""
    budget_id, category_id, transaction_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def alert(user_id: uuid.UUID, audience: str) -> Event:
        return Event(
            user_id=user_id,
            payload=BudgetLimitExceeded(
                budget_id=budget_id,
                category_id=category_id,
                category_name="Food",
                year=2026,
                month=11,
                limit=Decimal("400.00"),
                spent=Decimal("410.00"),
                transaction_id=transaction_id,
                ledger=context(household, audience),
            ),
        )

    members = [household.anna, household.boris, household.clara]
    return [alert(user.id, AUDIENCE_MEMBER) for user in members] + [
        alert(household.boris.id, AUDIENCE_GROUP)
    ]


ALERT = (
    "Budget alert: Home · Food for November 2026 is over its limit: 410.00 spent of 400.00"
    " (102%), after Boris's 32.00 groceries."
)


def test_each_member_by_their_settings_and_the_group_get_the_crossing_exactly_once(
    api: Flask,
    home: Home,
    celery_worker: LaunchedProcess,
) -> None:
    from api_app.events.fast_path import PUBLISHER_EXTENSION

    link_group(home.telegram, home.notify_client, home.boris, home.ledger_id, GROUP, by=9102)
    turned_off = home.notify_client.patch(
        "/api/notifications/settings",
        json={"notify_limit_exceeded": False},
        headers=home.boris.headers,
    )
    assert turned_off.status_code == 200
    events = food_over_its_limit(home)

    record(api, *events)
    for event in events:
        finished_delivery(home.notify, event.id)
    # The broker hands every one of them out again (a relay crash, a restored task): each is
    # still one message per recipient.
    for _ in range(2):
        for event in events:
            api.extensions[PUBLISHER_EXTENSION].publish(event.to_message())
    # A later event proves the worker got past the copies before we count.
    marker = limit_exceeded(home.anna.id, category_name="Marker")
    record(api, marker)
    assert finished_delivery(home.notify, marker.id).status == "sent"

    assert [m["text"] for m in sent_to(home.telegram, 9101)][:1] == [ALERT]
    assert len(sent_to(home.telegram, 9101)) == 2  # the alert and the marker
    assert [m["text"] for m in sent_to(home.telegram, 9103)] == [ALERT]
    assert sent_to(home.telegram, 9102) == []
    [linked, alert] = sent_to(home.telegram, GROUP)
    assert linked["text"].startswith("Linked!")
    assert alert["text"] == ALERT
    boris_delivery = deliveries_of(home.notify, events[1].id)
    assert [(d.status, d.reason) for d in boris_delivery] == [
        ("skipped", "budget limit notifications are turned off")
    ]
    for event in events:
        assert len(deliveries_of(home.notify, event.id)) == 1


def test_without_a_linked_group_the_groups_copy_is_skipped_with_the_reason(
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    household: Household,
    celery_worker: LaunchedProcess,
) -> None:
    group_event = food_over_its_limit(household)[-1]
    record(api, group_event)
    delivery = finished_delivery(notify, group_event.id)
    assert (delivery.status, delivery.reason) == (
        "skipped",
        "no group chat is linked to the ledger",
    )
    assert telegram.messages == []


def test_the_group_reads_in_the_language_of_whoever_linked_it(
    api: Flask,
    home: Home,
    celery_worker: LaunchedProcess,
) -> None:
    # Anna chose no language; her Telegram speaks Russian when she adds the bot.
    link_group(
        home.telegram, home.notify_client, home.anna, home.ledger_id, GROUP, by=9101,
        language_code="ru",
    )  # fmt: skip
    [linked] = sent_to(home.telegram, GROUP)
    assert linked["text"].startswith("Готово! Эта группа получает уведомления общего бюджета Home")
    warning = Event(
        user_id=home.boris.id,
        payload=BudgetThresholdReached(
            budget_id=uuid.uuid4(),
            category_id=uuid.uuid4(),
            category_name="Food",
            year=2026,
            month=11,
            limit=Decimal("500.00"),
            spent=Decimal("410.00"),
            transaction_id=uuid.uuid4(),
            ledger=context(home, AUDIENCE_GROUP),
            percent=82,
            threshold=80,
            crossed_thresholds=(80,),
        ),
    )
    record(api, warning)
    assert finished_delivery(home.notify, warning.id).status == "sent"
    text = sent_to(home.telegram, GROUP)[-1]["text"]
    assert text.startswith("Внимание: Home · Food за ")
    assert text.endswith("«groceries» (записал(а) Boris).")  # noqa: RUF001 - Russian


def test_a_shared_ledgers_month_digest_reaches_its_group(
    api: Flask,
    home: Home,
    celery_worker: LaunchedProcess,
) -> None:
    link_group(home.telegram, home.notify_client, home.anna, home.ledger_id, GROUP, by=9101)
    ledger = LedgerContext(ledger_id=home.ledger_id, ledger_name="Home")

    def closed(user_id: uuid.UUID, audience: str) -> Event:
        return Event(
            user_id=user_id,
            payload=BudgetMonthClosed(
                year=2026,
                month=11,
                income=Decimal("3000"),
                expense=Decimal("2450"),
                net=Decimal("550"),
                categories=(ClosedCategory("Food", None, Decimal("2450")),),
                ledger=LedgerContext(
                    ledger_id=ledger.ledger_id, ledger_name="Home", audience=audience
                ),
            ),
        )

    # Anna left the digest off (the default); the group gets it.
    for_anna, for_group = (
        closed(home.anna.id, AUDIENCE_MEMBER),
        closed(home.anna.id, AUDIENCE_GROUP),
    )
    record(api, for_anna, for_group)
    assert finished_delivery(home.notify, for_anna.id).status == "skipped"
    assert finished_delivery(home.notify, for_group.id).status == "sent"
    assert sent_to(home.telegram, GROUP)[-1]["text"] == (
        "Home · November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00."
    )
