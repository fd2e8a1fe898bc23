"""The month-end digest: `flask --app api_app budgets close-month` records budget.month_closed
once per user and month, and notify_app sends it to the users who opted in.

The scenarios go through the HTTP API, the command itself, the real worker and the Telegram
stand-in; the text and its length limit are checked on their own.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from api_app.budgets.month_close import previous_month
from api_app.events import month_closed_event_id
from event_contract import BUDGET_MONTH_CLOSED
from notify_app import messages
from notify_app.messages import DigestCategory
from tests.eventually import eventually
from tests.people import outbox_payloads
from tests.pipeline import deliveries_of, finished_delivery
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

# A month that has ended whenever the suite runs.
YEAR, MONTH = 2025, 10
DIGEST_PREFIX = "October 2025 in numbers:"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def close_month(api: Flask, *arguments: str) -> tuple[int, str]:
    result = api.test_cli_runner().invoke(args=["budgets", "close-month", *arguments])
    return result.exit_code, result.output


def expected_text(summary: dict[str, Any]) -> str:
    """The digest as it must read, from the monthly summary endpoint's figures."""
    totals = (
        f"{DIGEST_PREFIX} income {summary['income']}, expenses {summary['expense']},"
        f" net {summary['net']}."
    )
    over = sorted(
        (c for c in summary["categories"] if c["over_limit"]),
        key=lambda c: (Decimal(c["limit"]) - Decimal(c["spent"]), c["name"]),
    )
    if over:
        listed = ", ".join(f"{c['name']} {c['spent']} of {c['limit']}" for c in over)
        return f"{totals} Over the limit: {listed}."
    if any(c["limit"] is not None for c in summary["categories"]):
        return f"{totals} All categories stayed within their limits."
    return totals


def test_closing_a_month_twice_sends_each_opted_in_user_one_digest_with_the_summary_figures(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    ann, bob, cid, dan, eve = (register() for _ in range(5))
    ann.settings(telegram_chat_id="4001", notify_monthly_digest=True)
    bob.settings(telegram_chat_id="4002", notify_monthly_digest=True)
    cid.settings(telegram_chat_id="4003")  # the digest stays off by default
    dan.settings(telegram_chat_id="4004", notify_monthly_digest=True)
    eve.settings(telegram_chat_id="4005", notify_monthly_digest=True)

    limits = {"Food": "500.00", "Housing": "2000.00", "Entertainment": "100.00"}
    ann.budget(YEAR, MONTH, {ann.category_id(name): limit for name, limit in limits.items()})
    ann.transaction(ann.category_id("Salary"), "3000.00", "2025-10-01", "INCOME")
    ann.spend("Food", "520.00", "2025-10-02")
    ann.spend("Housing", "1930.00", "2025-10-03")
    ann.spend("Entertainment", "150.00", "2025-10-31")
    ann.spend("Food", "999.00", "2025-11-01")  # another month
    bob.transaction(bob.category_id("Salary"), "100.00", "2025-10-15", "INCOME")  # no budget at all
    bob.spend("Food", "40.50", "2025-10-16")
    cid.spend("Food", "10.00", "2025-10-16")
    dan.spend("Food", "10.00", "2025-09-30")  # no activity in October
    eve.budget(YEAR, MONTH, {eve.category_id("Food"): "500.00"})
    eve.spend("Food", "500.00", "2025-10-20")  # exactly the limit: within it
    eve.spend("Transport", "35.00", "2025-10-20")

    assert close_month(api, "--year", str(YEAR), "--month", str(MONTH)) == (
        0,
        "closed 2025-10: 4 users with transactions, 4 new digest events\n",
    )
    assert close_month(api, "--year", str(YEAR), "--month", str(MONTH)) == (
        0,
        "closed 2025-10: 4 users with transactions, 0 new digest events\n",
    )

    assert outbox_payloads(api, dan.id, BUDGET_MONTH_CLOSED) == []
    for person in (ann, bob, cid, eve):
        summary = person.summary(YEAR, MONTH)
        [payload] = outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)
        assert payload == {
            "year": YEAR,
            "month": MONTH,
            "income": summary["income"],
            "expense": summary["expense"],
            "net": summary["net"],
            "categories": [
                {"name": c["name"], "limit": c["limit"], "spent": c["spent"]}
                for c in summary["categories"]
            ],
        }
        delivery = finished_delivery(notify, month_closed_event_id(person.id, YEAR, MONTH))
        assert delivery.text == expected_text(summary)
        if person is cid:
            assert (delivery.status, delivery.reason) == (
                "skipped",
                "the monthly digest is turned off",
            )
        else:
            assert delivery.status == "sent"

    # A month with budget limits comes with the chart of /summary: a photo, the digest its
    # caption; one without is a plain message.
    assert sorted(
        (m["chat_id"], m["caption"])
        for m in telegram.photos
        if m["caption"].startswith(DIGEST_PREFIX)
    ) == [
        (
            "4001",
            "October 2025 in numbers: income 3000.00, expenses 2600.00, net 400.00."
            " Over the limit: Entertainment 150.00 of 100.00, Food 520.00 of 500.00.",
        ),
        (
            "4005",
            "October 2025 in numbers: income 0.00, expenses 535.00, net -535.00."
            " All categories stayed within their limits.",
        ),
    ]
    for photo in telegram.photos:
        assert photo["photo"]["content_type"] == "image/png"
        assert base64.b64decode(photo["photo"]["base64"]).startswith(PNG_SIGNATURE)
    assert sorted(
        (m["chat_id"], m["text"]) for m in telegram.messages if m["text"].startswith(DIGEST_PREFIX)
    ) == [("4002", "October 2025 in numbers: income 100.00, expenses 40.50, net 59.50.")]


def test_a_run_after_the_outbox_was_purged_sends_nothing_again(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    from api_app.events.outbox import purge_published
    from api_app.unit_of_work import UnitOfWork

    person = register()
    person.settings(telegram_chat_id="5001", notify_monthly_digest=True)
    person.spend("Food", "12.34", "2025-10-05")
    assert close_month(api, "--year", "2025", "--month", "10")[0] == 0
    event_id = month_closed_event_id(person.id, YEAR, MONTH)
    assert finished_delivery(notify, event_id).status == "sent"

    # Months later the relay has purged the published row: the same event is recorded again.
    with api.app_context(), UnitOfWork() as uow:
        assert purge_published(uow.session, retention=timedelta(0)) >= 1
    assert close_month(api, "--year", "2025", "--month", "10") == (
        0,
        "closed 2025-10: 1 users with transactions, 1 new digest events\n",
    )
    # The worker handled it a second time (its task id is the event id) ...
    eventually(
        lambda: celery_worker.log_tail(2000).count(f"[{event_id}] succeeded") == 2,
        "the second handling of the digest event",
    )
    # ... and the delivery log, unique per event, kept it from being sent twice.
    assert [d.status for d in deliveries_of(notify, event_id)] == ["sent"]
    assert [m["text"] for m in telegram.messages] == [
        "October 2025 in numbers: income 0.00, expenses 12.34, net -12.34."
    ]


def test_by_default_the_previous_calendar_month_is_closed(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    today = datetime.now(UTC).date()
    year, month = previous_month(today)
    person = register()
    person.spend("Food", "1.00", date(year, month, 28).isoformat())
    person.spend("Food", "1.00", today.isoformat())  # the current month is not closed

    assert close_month(api) == (
        0,
        f"closed {year}-{month:02d}: 1 users with transactions, 1 new digest events\n",
    )
    [payload] = outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)
    assert (payload["year"], payload["month"], payload["expense"]) == (year, month, "1.00")


def test_a_month_closes_for_each_user_when_it_has_ended_in_their_time_zone(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    from api_app.budgets.month_close import close_month as close

    berlin, los_angeles = register(), register()
    for person, zone in ((berlin, "Europe/Berlin"), (los_angeles, "America/Los_Angeles")):
        response = person.patch("/api/users/me", json={"timezone": zone})
        assert response.status_code == 200, response.json
        person.spend("Food", "1.00", "2025-10-31")

    with api.app_context():
        # 05:00 UTC on November 1st: 06:00 in Berlin, still 22:00 on October 31st in Los Angeles.
        early = close(2025, 10, now=datetime(2025, 11, 1, 5, tzinfo=UTC))
        assert (early.users, early.emitted, early.waiting) == (2, 1, 1)
        assert len(outbox_payloads(api, berlin.id, BUDGET_MONTH_CLOSED)) == 1
        assert outbox_payloads(api, los_angeles.id, BUDGET_MONTH_CLOSED) == []
        # 08:00 UTC: midnight has passed in Los Angeles too.
        later = close(2025, 10, now=datetime(2025, 11, 1, 8, tzinfo=UTC))
        assert (later.users, later.emitted, later.waiting) == (2, 1, 0)
    assert len(outbox_payloads(api, berlin.id, BUDGET_MONTH_CLOSED)) == 1
    assert len(outbox_payloads(api, los_angeles.id, BUDGET_MONTH_CLOSED)) == 1


def test_previous_month_wraps_the_year() -> None:
    assert previous_month(date(2027, 1, 1)) == (2026, 12)
    assert previous_month(date(2026, 12, 31)) == (2026, 11)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--year", "2025"], "give --year and --month together"),
        (["--month", "3"], "give --year and --month together"),
        (["--year", "2025", "--month", "13"], "'--month'"),
        (["--year", "1999", "--month", "1"], "'--year'"),
    ],
)
def test_bad_arguments_are_refused_and_record_nothing(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    arguments: list[str],
    complaint: str,
) -> None:
    person = register()
    for day in ("2025-03-10", "2025-12-10", "1999-01-10"):
        person.spend("Food", "1.00", day)
    exit_code, output = close_month(api, *arguments)
    assert exit_code == 2
    assert complaint in output
    assert outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED) == []


def test_a_month_that_has_not_ended_is_refused(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    today = datetime.now(UTC).date()
    person = register()
    person.spend("Food", "1.00", today.isoformat())
    following = today.replace(day=1) + timedelta(days=32)
    for year, month in ((today.year, today.month), (following.year, following.month)):
        exit_code, output = close_month(api, "--year", str(year), "--month", str(month))
        assert exit_code == 2
        assert f"{year}-{month:02d} has not ended yet" in output
    assert outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED) == []


def test_event_ids_are_one_per_user_and_month() -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    assert month_closed_event_id(user, 2025, 10) == month_closed_event_id(user, 2025, 10)
    assert (
        len(
            {
                month_closed_event_id(user, 2025, 10),
                month_closed_event_id(user, 2025, 11),
                month_closed_event_id(user, 2024, 10),
                month_closed_event_id(other, 2025, 10),
            }
        )
        == 4
    )


# --- the text -----------------------------------------------------------------------------------


def digest(*categories: DigestCategory, income: str = "3000", expense: str = "2450") -> str:
    return messages.monthly_digest(
        year=2026,
        month=11,
        income=Decimal(income),
        expense=Decimal(expense),
        net=Decimal(income) - Decimal(expense),
        categories=categories,
    )


def category(name: str, limit: str | None, spent: str) -> DigestCategory:
    return DigestCategory(name, None if limit is None else Decimal(limit), Decimal(spent))


def test_totals_first_then_the_categories_over_their_limit_furthest_first() -> None:
    assert digest(
        category("Food", "500", "520"),
        category("Rent", "1000", "1000"),
        category("Fun", "50", "100.5"),
        category("Gifts", None, "80"),
    ) == (
        "November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00."
        " Over the limit: Fun 100.50 of 50.00, Food 520.00 of 500.00."
    )


def test_within_the_limits_or_without_any() -> None:
    assert digest(category("Food", "500", "500"), category("Gifts", None, "10")) == (
        "November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00."
        " All categories stayed within their limits."
    )
    assert digest(category("Gifts", None, "10"), income="0", expense="10") == (
        "November 2026 in numbers: income 0.00, expenses 10.00, net -10.00."
    )


@pytest.mark.parametrize("letter", ["x", "💸"])
def test_a_long_list_is_cut_to_fit_one_telegram_message(letter: str) -> None:
    names = [f"{index:03d}{letter * 61}" for index in range(300)]
    # The same overrun for all: the order is by name, so the cut keeps the first ones.
    text = digest(*(category(name, "1.00", "2.00") for name in names))
    assert messages.telegram_length(text) <= messages.MAX_MESSAGE_LENGTH
    assert len(text.encode("utf-16-le")) // 2 > messages.MAX_MESSAGE_LENGTH - 100
    listed, more = text.removeprefix(
        "November 2026 in numbers: income 3000.00, expenses 2450.00, net 550.00. Over the limit: "
    ).rsplit(" and ", 1)
    shown = listed.split(", ")
    assert shown == [f"{name} 2.00 of 1.00" for name in names[: len(shown)]]
    assert more == f"{300 - len(shown)} more."
