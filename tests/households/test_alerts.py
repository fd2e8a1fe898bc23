"""Alerts of a shared ledger: one event per member who is a member when the change commits, one
for the ledger's group, each naming the ledger and who recorded which expense; a personal
ledger's alerts stay as they were."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from event_contract import (
    BUDGET_LIMIT_EXCEEDED,
    BUDGET_MONTH_CLOSED,
    BUDGET_THRESHOLD_REACHED,
    GOAL_REACHED,
)
from tests.households.conftest import Household, create_ledger, invite, join
from tests.parallel import in_parallel
from tests.users import LiveClient, SignedInUser


@dataclass(frozen=True)
class Alert:
    user_id: str
    payload: dict[str, Any]

    @property
    def audience(self) -> str | None:
        ledger = self.payload.get("ledger")
        return None if ledger is None else ledger["audience"]


def alerts(api: Flask, event_type: str) -> list[Alert]:
    from api_app.extensions import db
    from api_app.models import OutboxEvent

    with api.app_context():
        rows = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == event_type)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        ).all()
        return [Alert(row.payload["user_id"], row.payload["payload"]) for row in rows]


def of_ledger(found: list[Alert], ledger_id: str) -> list[Alert]:
    return [
        alert
        for alert in found
        if (alert.payload.get("ledger") or {}).get("ledger_id") == ledger_id
    ]


def food_of(person: SignedInUser, ledger_id: str) -> str:
    listed = person.expect(200, "GET", f"/api/categories?ledger_id={ledger_id}&page_size=100")
    return str(next(category["id"] for category in listed if category["name"] == "Food"))


def limit_food(person: SignedInUser, ledger_id: str, amount: str) -> str:
    food = food_of(person, ledger_id)
    person.created(
        "/api/budgets",
        {"year": 2026, "month": 11, "ledger_id": ledger_id,
         "limits": [{"category_id": food, "limit_amount": amount}]},
    )  # fmt: skip
    return food


def spend(person: SignedInUser, ledger_id: str, category_id: str, amount: str, about: str) -> str:
    body = {
        "ledger_id": ledger_id,
        "category_id": category_id,
        "type": "EXPENSE",
        "amount": amount,
        "date": "2026-11-10",
        "description": about,
    }
    return str(person.created("/api/transactions", body)["id"])


def test_a_crossing_in_a_shared_ledger_reaches_every_member_and_the_group(
    api: Flask, household: Household
) -> None:
    ledger, owner, member, viewer = (
        household.ledger_id, household.owner, household.member, household.viewer,
    )  # fmt: skip
    member.expect(200, "PATCH", "/api/users/me", json={"display_name": "Boris"})
    food = limit_food(owner, ledger, "400.00")
    owner.expect(200, "PATCH", "/api/users/me", json={"display_name": "Anna"})
    spend(owner, ledger, food, "378.00", "market")
    crossing = spend(member, ledger, food, "32.00", "groceries")

    exceeded = of_ledger(alerts(api, BUDGET_LIMIT_EXCEEDED), ledger)
    assert sorted((alert.user_id, alert.audience) for alert in exceeded) == sorted(
        [
            (str(owner.id), "member"),
            (str(member.id), "member"),
            (str(viewer.id), "member"),
            (str(member.id), "group"),
        ]
    )
    for alert in exceeded:
        assert alert.payload["limit"] == "400.00"
        assert alert.payload["spent"] == "410.00"
        assert alert.payload["transaction_id"] == crossing
        assert alert.payload["ledger"] == {
            "ledger_id": ledger,
            "ledger_name": "Home",
            "audience": alert.audience,
            "recorded_by": str(member.id),
            "recorded_by_name": "Boris",
            "transaction_amount": "32.00",
            "transaction_description": "groceries",
        }
    # The early warning before it (378.00 of 400.00: past 90 %) went to the household too.
    warned = of_ledger(alerts(api, BUDGET_THRESHOLD_REACHED), ledger)
    assert Counter(alert.audience for alert in warned) == {"member": 3, "group": 1}
    assert {alert.payload["ledger"]["recorded_by_name"] for alert in warned} == {"Anna"}


def test_a_personal_ledgers_alert_stays_as_it_was(api: Flask, anna: SignedInUser) -> None:
    food = anna.category_id("Food")
    anna.budget(2026, 11, {food: "10.00"})
    anna.transaction(food, "11.00", "2026-11-02")
    [alert] = [a for a in alerts(api, BUDGET_LIMIT_EXCEEDED) if a.user_id == str(anna.id)]
    assert "ledger" not in alert.payload or alert.payload["ledger"] is None
    assert alert.payload["spent"] == "11.00"


def test_lowering_a_limit_and_reaching_a_goal_reach_the_household(
    api: Flask, household: Household
) -> None:
    ledger, owner, member = household.ledger_id, household.owner, household.member
    food = food_of(owner, ledger)
    spend(member, ledger, food, "50.00", "cheese")
    budget = owner.created("/api/budgets", {"year": 2026, "month": 11, "ledger_id": ledger})
    owner.expect(
        200, "PUT", f"/api/budgets/{budget['id']}/limits/{food}", json={"limit_amount": "40"}
    )
    lowered = of_ledger(alerts(api, BUDGET_LIMIT_EXCEEDED), ledger)
    assert len(lowered) == 4
    assert {alert.payload["ledger"]["recorded_by"] for alert in lowered} == {str(owner.id)}
    assert {alert.payload["ledger"]["transaction_amount"] for alert in lowered} == {None}

    goal = owner.created(
        "/api/goals", {"name": "Sofa", "target_amount": "100", "ledger_id": ledger}
    )
    member.expect(200, "POST", f"/api/goals/{goal['id']}/contributions", json={"amount": "100"})
    reached = of_ledger(alerts(api, GOAL_REACHED), ledger)
    assert sorted((alert.user_id, alert.audience) for alert in reached) == sorted(
        [
            (str(owner.id), "member"),
            (str(member.id), "member"),
            (str(household.viewer.id), "member"),
            (str(member.id), "group"),
        ]
    )


def test_only_members_at_the_time_hear_of_a_crossing(
    api: Flask, household: Household, outsider: SignedInUser
) -> None:
    ledger, owner = household.ledger_id, household.owner
    food = limit_food(owner, ledger, "10.00")
    owner.expect(204, "DELETE", f"/api/ledgers/{ledger}/members/{household.viewer.id}")
    join(outsider, invite(owner, ledger, "viewer"))
    spend(household.member, ledger, food, "11.00", "x")
    heard = {alert.user_id for alert in of_ledger(alerts(api, BUDGET_LIMIT_EXCEEDED), ledger)}
    assert heard == {str(owner.id), str(household.member.id), str(outsider.id)}


def test_twenty_parallel_expenses_by_three_members_cross_once_for_each(
    api: Flask,
    gunicorn_gateway: str,
    anna: SignedInUser,
    boris: SignedInUser,
    vera: SignedInUser,
) -> None:
    ledger = create_ledger(anna)
    join(boris, invite(anna, ledger, "member"))
    join(vera, invite(anna, ledger, "member"))
    food = limit_food(anna, ledger, "100.00")
    over_http = [
        replace(person, client=LiveClient(gunicorn_gateway, timeout_seconds=60))
        for person in (anna, boris, vera)
    ]
    statuses = in_parallel(
        *[
            (lambda person=over_http[n % 3]: person.post(
                "/api/transactions",
                json={"ledger_id": ledger, "category_id": food, "type": "EXPENSE",
                      "amount": "10.00", "date": "2026-11-10"},
            ).status_code)
            for n in range(20)
        ]
    )  # fmt: skip
    assert statuses == [201] * 20
    exceeded = of_ledger(alerts(api, BUDGET_LIMIT_EXCEEDED), ledger)
    assert Counter(
        (alert.user_id, alert.audience) for alert in exceeded if alert.audience == "member"
    ) == {
        (str(anna.id), "member"): 1,
        (str(boris.id), "member"): 1,
        (str(vera.id), "member"): 1,
    }
    [group] = [alert for alert in exceeded if alert.audience == "group"]
    # The crossing's one event names the expense that took the month over 100.00.
    assert group.payload["spent"] == "110.00"
    assert group.user_id == group.payload["ledger"]["recorded_by"]
    # Each threshold's warning, too, reached each member once.
    warned = of_ledger(alerts(api, BUDGET_THRESHOLD_REACHED), ledger)
    per_member = Counter(alert.user_id for alert in warned if alert.audience == "member")
    assert set(per_member.values()) == {len(warned) // 4}


def test_a_household_month_closes_once_for_each_member_and_its_group(
    api: Flask, household: Household
) -> None:
    from api_app.budgets.month_close import close_month

    ledger, owner, member = household.ledger_id, household.owner, household.member
    food = limit_food(owner, ledger, "100.00")
    spend(member, ledger, food, "120.00", "feast")
    december = datetime(2026, 12, 2, tzinfo=UTC)
    with api.app_context():
        first = close_month(2026, 11, december)
        again = close_month(2026, 11, december)
    assert (first.households, first.households_closed) == (1, 1)
    assert (again.households, again.households_closed) == (1, 0)
    digests = of_ledger(alerts(api, BUDGET_MONTH_CLOSED), ledger)
    assert sorted((alert.user_id, alert.audience) for alert in digests) == sorted(
        [
            (str(owner.id), "member"),
            (str(member.id), "member"),
            (str(household.viewer.id), "member"),
            (str(owner.id), "group"),
        ]
    )
    for digest in digests:
        assert (digest.payload["expense"], digest.payload["ledger"]["ledger_name"]) == (
            "120.00",
            "Home",
        )
        assert digest.payload["categories"] == [
            {"name": "Food", "limit": "100.00", "spent": "120.00"}
        ]
