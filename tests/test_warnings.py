"""Early warnings: budget.threshold_reached below the limit, and the heads-up users choose.

The arithmetic at the boundaries is checked on its own; the scenarios of issue 9 go through the
HTTP API of both services, the real worker and the Telegram stand-in.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api_app.events.levels import Spending, crossed_levels
from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_THRESHOLD_REACHED,
    DEFAULT_WARNING_THRESHOLDS,
    warning_thresholds,
)
from notify_app import messages
from notify_app.config import load_config as load_notify_config
from tests.people import Outcome, outbox_payloads, outcomes
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

THRESHOLDS = (50, 80, 90)
LIMIT = "500.00"
EXCEEDED = "budget.limit_exceeded"
WARNING = "budget.threshold_reached"


def spending(spent: str, limit: str = LIMIT) -> Spending:
    return Spending(limit=Decimal(limit), spent=Decimal(spent))


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [
        (None, "400.00", [50]),  # exactly 80 %: not over 80 %
        (None, "400.01", [50, 80]),
        ("400.00", "400.01", [80]),
        ("250.00", "250.01", [50]),
        ("449.99", "450.00", []),  # reaching 90 % exactly crosses nothing
        ("450.00", "450.01", [90]),
        ("500.00", "500.01", [100]),  # exactly the limit is within it
        ("50.00", "475.00", [50, 80, 90]),  # 10 % -> 95 %: one change, three thresholds
        ("475.00", "600.00", [100]),
        ("200.00", "600.00", [50, 80, 90, 100]),
        ("425.00", "475.00", [90]),  # 85 % -> 95 %: 80 was crossed before
        ("600.00", "700.00", []),  # staying over
        ("425.00", "350.00", []),  # falling back
        ("350.00", "425.00", [80]),  # and crossing again
    ],
)
def test_crossed_levels_compare_exactly(before: str | None, after: str, crossed: list[int]) -> None:
    was = None if before is None else spending(before)
    assert crossed_levels(was, spending(after), THRESHOLDS) == crossed


def test_a_limit_change_compares_against_the_old_and_the_new_limit() -> None:
    # 300 of 500 (60 %) -> 300 of 350 (85.7 %): lowering the limit crosses 80.
    assert crossed_levels(spending("300.00"), spending("300.00", "350.00"), THRESHOLDS) == [80]
    # Raising it from 300 of 350 to 300 of 1000 (30 %) crosses nothing upwards.
    assert (
        crossed_levels(spending("300.00", "350.00"), spending("300.00", "1000"), THRESHOLDS) == []
    )
    # A zero limit: any spending is over every level at once, so only the limit counts.
    assert crossed_levels(None, spending("0.01", "0.00"), THRESHOLDS) == [50, 80, 90, 100]
    assert crossed_levels(None, spending("0.00", "0.00"), THRESHOLDS) == []


@pytest.mark.parametrize(
    ("spent", "percent"),
    [("400.01", 80), ("410.00", 82), ("449.99", 89), ("499.99", 99), ("500.00", 100)],
)
def test_the_percent_is_rounded_down(spent: str, percent: int) -> None:
    assert spending(spent).whole_percent == percent


def test_the_threshold_setting() -> None:
    assert warning_thresholds(None) == DEFAULT_WARNING_THRESHOLDS == (50, 80, 90)
    assert warning_thresholds("  ") == DEFAULT_WARNING_THRESHOLDS
    assert warning_thresholds("90, 75,80") == (75, 80, 90)
    for invalid in ("0", "100", "50,50", "eighty", "50;80", "80,"):
        with pytest.raises(ValueError, match="BUDGET_WARNING_THRESHOLDS"):
            warning_thresholds(invalid)
    # notify_app stores 80 for users who never chose: the setting must keep it.
    with pytest.raises(ValueError, match="must include 80"):
        load_notify_config({"BUDGET_WARNING_THRESHOLDS": "75,90"})
    assert load_notify_config({"BUDGET_WARNING_THRESHOLDS": "60,80"})[
        "BUDGET_WARNING_THRESHOLDS"
    ] == (60, 80)


def test_the_heads_up_text() -> None:
    assert messages.budget_threshold_reached(
        category_name="Food",
        year=2026,
        month=11,
        percent=82,
        spent=Decimal("410"),
        limit=Decimal("500.00"),
    ) == ("Heads-up: Food for November 2026 is at 82% of its limit: 410.00 of 500.00.")


# --- the scenarios, over HTTP with the real worker ---------------------------------------------


def test_40_85_95_120_percent_warns_once_at_80_and_alerts_once(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    warned, unwarned = register(), register()
    assert warned.settings(telegram_chat_id="1001", warn_at_percent=80)["warn_at_percent"] == 80
    assert (
        unwarned.settings(telegram_chat_id="1002", warn_at_percent=None)["warn_at_percent"] is None
    )
    for person in (warned, unwarned):
        person.budget(2026, 11, {person.category_id("Food"): LIMIT})
        for amount in ("200.00", "225.00", "50.00", "125.00"):  # 40, 85, 95, 120 %
            person.spend("Food", amount, "2026-11-10")

    for person in (warned, unwarned):
        assert [
            (p["threshold"], p["crossed_thresholds"], p["percent"], p["spent"])
            for p in outbox_payloads(api, person.id, BUDGET_THRESHOLD_REACHED)
        ] == [(80, [50, 80], 85, "425.00"), (90, [90], 95, "475.00")]
        [exceeded] = outbox_payloads(api, person.id, BUDGET_LIMIT_EXCEEDED)
        assert exceeded["spent"] == "600.00"

    heads_up = "Heads-up: Food for November 2026 is at 85% of its limit: 425.00 of 500.00."
    alert = "Budget alert: Food for November 2026 is over its limit: 600.00 spent of 500.00 (120%)."
    assert sorted(outcomes(notify, warned.id, 3), key=lambda o: o.text) == [
        Outcome(EXCEEDED, "sent", None, "1001", alert),
        Outcome(WARNING, "sent", None, "1001", heads_up),
        Outcome(
            WARNING,
            "skipped",
            "budget warnings are set to 80%, which this change did not cross",
            "1001",
            "Heads-up: Food for November 2026 is at 95% of its limit: 475.00 of 500.00.",
        ),
    ]
    assert sorted((o.event_type, o.status, o.reason) for o in outcomes(notify, unwarned.id, 3)) == [
        (EXCEEDED, "sent", None),
        (WARNING, "skipped", "budget warnings are turned off"),
        (WARNING, "skipped", "budget warnings are turned off"),
    ]
    assert sorted((m["chat_id"], m["text"]) for m in telegram.messages) == [
        ("1001", alert),
        ("1001", heads_up),
        ("1002", alert),
    ]


def test_one_jump_from_10_to_95_percent_emits_only_the_90_event(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    person = register()
    person.settings(telegram_chat_id="2001")  # warnings at the default, 80 %
    person.budget(2026, 11, {person.category_id("Food"): LIMIT})
    person.spend("Food", "50.00", "2026-11-01")
    jump = person.spend("Food", "425.00", "2026-11-02")

    [payload] = outbox_payloads(api, person.id, BUDGET_THRESHOLD_REACHED)
    assert payload == {
        "budget_id": payload["budget_id"],
        "category_id": person.category_id("Food"),
        "category_name": "Food",
        "year": 2026,
        "month": 11,
        "limit": "500.00",
        "spent": "475.00",
        "percent": 95,
        "threshold": 90,
        "crossed_thresholds": [50, 80, 90],
        "transaction_id": jump,
    }
    assert outbox_payloads(api, person.id, BUDGET_LIMIT_EXCEEDED) == []
    # Warned at 80, the user hears of the jump past it, once.
    [outcome] = outcomes(notify, person.id, 1)
    assert (outcome.status, outcome.text) == (
        "sent",
        "Heads-up: Food for November 2026 is at 95% of its limit: 475.00 of 500.00.",
    )
    assert [m["text"] for m in telegram.messages] == [outcome.text]


def test_setting_or_lowering_a_limit_follows_the_same_rules(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    person = register()
    person.settings(telegram_chat_id="3001", warn_at_percent=50)
    budget_id = person.budget(2026, 11, {person.category_id("Housing"): "1000.00"})["id"]
    person.spend("Food", "420.00", "2026-11-03")  # no limit yet: nothing

    person.set_limit(budget_id, "Food", "1000.00")  # none before -> 42 %: nothing
    person.set_limit(budget_id, "Food", "800.00")  # 52.5 %: crosses 50
    person.set_limit(budget_id, "Food", "810.00")  # 51.85 %: still over 50, nothing
    person.set_limit(budget_id, "Food", "1000.00")  # 42 %: back under
    person.set_limit(budget_id, "Food", "450.00")  # 93.3 %: crosses 50, 80 and 90 at once
    person.set_limit(budget_id, "Food", "400.00")  # 105 %: over the limit

    assert [
        (p["threshold"], p["crossed_thresholds"], p["limit"], p["percent"], p["transaction_id"])
        for p in outbox_payloads(api, person.id, BUDGET_THRESHOLD_REACHED)
    ] == [(50, [50], "800.00", 52, None), (90, [50, 80, 90], "450.00", 93, None)]
    assert [p["limit"] for p in outbox_payloads(api, person.id, BUDGET_LIMIT_EXCEEDED)] == [
        "400.00"
    ]
    assert sorted(o.text for o in outcomes(notify, person.id, 3) if o.status == "sent") == [
        "Budget alert: Food for November 2026 is over its limit: 420.00 spent of 400.00 (105%).",
        "Heads-up: Food for November 2026 is at 52% of its limit: 420.00 of 800.00.",
        "Heads-up: Food for November 2026 is at 93% of its limit: 420.00 of 450.00.",
    ]


SETTINGS = "/api/notifications/settings"


@pytest.mark.parametrize("value", [50, 80, 90, None])
def test_warn_at_percent_takes_a_threshold_or_null(
    register: Callable[[], SignedInUser],
    notify_client: FlaskClient,
    api: Flask,
    notify: Flask,
    value: int | None,
) -> None:
    person = register()
    changed = person.settings(warn_at_percent=value, notify_monthly_digest=True)
    assert (changed["warn_at_percent"], changed["notify_monthly_digest"]) == (value, True)
    again = notify_client.get(SETTINGS, headers=person.headers).json
    assert (again["warn_at_percent"], again["notify_monthly_digest"]) == (value, True)


@pytest.mark.parametrize(
    "body",
    [
        {"warn_at_percent": 70},
        {"warn_at_percent": 100},
        {"warn_at_percent": 0},
        {"warn_at_percent": -80},
        {"warn_at_percent": "80"},
        {"warn_at_percent": 80.5},
        {"warn_at_percent": True},
        {"notify_monthly_digest": "yes"},
        {"notify_monthly_digest": None},
        {"notify_monthly_digest": 1},
    ],
)
def test_other_values_answer_422_and_change_nothing(
    register: Callable[[], SignedInUser],
    notify_client: FlaskClient,
    api: Flask,
    notify: Flask,
    body: dict[str, object],
) -> None:
    person = register()
    before = notify_client.get(SETTINGS, headers=person.headers).json
    response = notify_client.patch(SETTINGS, json=body, headers=person.headers)
    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert notify_client.get(SETTINGS, headers=person.headers).json == before
