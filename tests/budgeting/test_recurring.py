"""/api/recurring: rules that record themselves, at once back to their start and daily after.

The periodic job is `record_due_occurrences(now)`, the function behind `flask --app api_app
recurring run`; the tests hand it the moment it runs at, so days of downtime take no waiting.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import update

from api_app.extensions import db
from api_app.models import RecurringTransaction
from api_app.recurring.service import RunReport, record_due_occurrences
from event_contract import BUDGET_LIMIT_EXCEEDED
from tests.parallel import in_parallel
from tests.people import outbox_payloads
from tests.users import SignedInUser

RULE_KEYS = {
    "id", "category_id", "type", "amount", "description", "frequency", "start_date", "end_date",
    "next_date", "created_at", "updated_at", "paid_by", "split",
}  # fmt: skip

# An id the client may not choose; fixed, so that every test process collects the same tests.
CLIENT_CHOSEN_ID = "7d1b7f0e-5a53-4c4e-9e0b-2f8f3b8c1a01"


def rule(user: SignedInUser, category_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "category_id": category_id,
        "type": "EXPENSE",
        "amount": "10.00",
        "frequency": "monthly",
        "start_date": "2030-01-31",
        **fields,
    }
    return user.created("/api/recurring", body)


def recorded(user: SignedInUser, rule_id: str) -> list[dict[str, Any]]:
    response = user.get(f"/api/transactions?recurring_id={rule_id}&page_size=100")
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json
    return sorted(items, key=lambda item: item["date"])


def dates(user: SignedInUser, rule_id: str) -> list[str]:
    return [item["date"] for item in recorded(user, rule_id)]


def run_at(api: Flask, moment: datetime) -> RunReport:
    with api.app_context():
        return record_due_occurrences(now=moment)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_monthly_rule_falls_on_the_months_last_day_where_it_is_shorter(
    alice: SignedInUser,
) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2024-01-31", end_date="2024-12-31")
    assert set(created) == RULE_KEYS
    assert created["next_date"] is None  # ended: everything up to its end is recorded
    assert dates(alice, created["id"]) == [
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30",
        "2024-07-31", "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31",
    ]  # fmt: skip
    on_the_30th = rule(alice, rent["id"], start_date="2023-01-30", end_date="2023-04-30")
    assert dates(alice, on_the_30th["id"]) == [
        "2023-01-30", "2023-02-28", "2023-03-30", "2023-04-30",
    ]  # fmt: skip


def test_weekly_and_yearly_rules(alice: SignedInUser) -> None:
    gym = alice.category("Gym")
    weekly = rule(alice, gym["id"], frequency="weekly", start_date="2024-02-26",
                  end_date="2024-03-20")  # fmt: skip
    assert dates(alice, weekly["id"]) == ["2024-02-26", "2024-03-04", "2024-03-11", "2024-03-18"]
    leap = rule(alice, gym["id"], frequency="yearly", start_date="2020-02-29",
                end_date="2024-03-01")  # fmt: skip
    assert dates(alice, leap["id"]) == [
        "2020-02-29", "2021-02-28", "2022-02-28", "2023-02-28", "2024-02-29",
    ]  # fmt: skip


def test_creating_a_rule_records_every_occurrence_up_to_today_and_points_at_the_next(
    alice: SignedInUser,
) -> None:
    salary = alice.category("Salary")
    today = datetime.now(UTC).date()
    start = today - timedelta(weeks=5)
    created = rule(alice, salary["id"], type="income", amount="2500", frequency="weekly",
                   start_date=start.isoformat(), description="Pay")  # fmt: skip
    items = recorded(alice, created["id"])
    assert [item["date"] for item in items] == [
        (start + timedelta(weeks=n)).isoformat() for n in range(6)
    ]
    assert {(i["type"], i["amount"], i["description"], i["recurring_id"]) for i in items} == {
        ("INCOME", "2500.00", "Pay", created["id"])
    }
    assert created["next_date"] == (start + timedelta(weeks=6)).isoformat()
    assert alice.get(f"/api/recurring/{created['id']}").json == created


def test_a_rule_starting_later_records_nothing_yet(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2031-05-31")
    assert created["next_date"] == "2031-05-31"
    assert dates(alice, created["id"]) == []


def test_catch_up_after_days_of_downtime_records_each_missed_occurrence_once(
    api: Flask, alice: SignedInUser
) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2030-01-31")
    # The job last ran before the rule's first occurrence, then nothing ran until mid-May.
    assert run_at(api, utc(2030, 1, 30, 12)) == RunReport(rules=0, transactions=0)
    assert run_at(api, utc(2030, 5, 15, 9)) == RunReport(rules=1, transactions=4)
    assert dates(alice, created["id"]) == ["2030-01-31", "2030-02-28", "2030-03-31", "2030-04-30"]
    assert alice.get(f"/api/recurring/{created['id']}").json["next_date"] == "2030-05-31"
    # Run twice, and late: nothing twice.
    assert run_at(api, utc(2030, 5, 15, 9)) == RunReport(rules=0, transactions=0)
    assert run_at(api, utc(2030, 6, 2)) == RunReport(rules=1, transactions=1)
    assert run_at(api, utc(2030, 6, 2)) == RunReport(rules=0, transactions=0)
    assert dates(alice, created["id"])[-1] == "2030-05-31"
    assert len(dates(alice, created["id"])) == 5


def test_runs_at_the_same_time_record_each_occurrence_once(
    api: Flask, make_user: Callable[[], SignedInUser]
) -> None:
    users = [make_user() for _ in range(4)]
    rules = [rule(user, user.category("Rent")["id"], frequency="weekly", start_date="2030-01-01")
             for user in users]  # fmt: skip
    reports = in_parallel(*[lambda: run_at(api, utc(2030, 3, 1))] * 4)
    # 2030-01-01 to 2030-02-26: nine Tuesdays per rule, recorded by whichever run got there.
    assert sum(report.transactions for report in reports) == 4 * 9
    for user, created in zip(users, rules, strict=True):
        assert len(dates(user, created["id"])) == 9
    assert run_at(api, utc(2030, 3, 1)) == RunReport(rules=0, transactions=0)


def test_today_is_the_users_today(api: Flask, alice: SignedInUser, bob: SignedInUser) -> None:
    assert alice.patch("/api/users/me", json={"timezone": "Pacific/Auckland"}).status_code == 200
    alices = rule(alice, alice.category("Rent")["id"], start_date="2030-03-01")
    bobs = rule(bob, bob.category("Rent")["id"], start_date="2030-03-01")
    # 20:00 UTC on February 28th is already 09:00 on March 1st in Auckland.
    assert run_at(api, utc(2030, 2, 28, 20)) == RunReport(rules=1, transactions=1)
    assert dates(alice, alices["id"]) == ["2030-03-01"]
    assert dates(bob, bobs["id"]) == []
    assert run_at(api, utc(2030, 3, 1, 0, 5)) == RunReport(rules=1, transactions=1)
    assert dates(bob, bobs["id"]) == ["2030-03-01"]


def test_creating_uses_the_users_today(alice: SignedInUser) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today is often UTC's tomorrow
    assert alice.patch("/api/users/me", json={"timezone": zone}).status_code == 200
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    created = rule(alice, alice.category("Rent")["id"], frequency="weekly",
                   start_date=today.isoformat())  # fmt: skip
    assert dates(alice, created["id"]) == [today.isoformat()]
    assert created["next_date"] == (today + timedelta(weeks=1)).isoformat()


def test_the_cli_command_runs_the_job(api: Flask, alice: SignedInUser) -> None:
    in_three_days = datetime.now(UTC).date() + timedelta(days=3)
    created = rule(alice, alice.category("Rent")["id"], frequency="weekly",
                   start_date=in_three_days.isoformat())  # fmt: skip
    # As if the rule had started four days ago and the job had not run since.
    with api.app_context():
        db.session.execute(
            update(RecurringTransaction)
            .where(RecurringTransaction.id == uuid.UUID(created["id"]))
            .values(start_date=in_three_days - timedelta(weeks=1),
                    next_date=in_three_days - timedelta(weeks=1))
        )  # fmt: skip
        db.session.commit()
    runner = api.test_cli_runner()
    result = runner.invoke(args=["recurring", "run"])
    assert result.exit_code == 0, result.output
    assert result.output == "recorded 1 transactions of 1 recurring rules\n"
    assert dates(alice, created["id"]) == [(in_three_days - timedelta(weeks=1)).isoformat()]
    again = runner.invoke(args=["recurring", "run"])
    assert again.output == "recorded 0 transactions of 0 recurring rules\n"


def test_recorded_expenses_alert_like_any_expense_once_per_category_month(
    api: Flask, alice: SignedInUser
) -> None:
    food = alice.category("Food")
    alice.budget(2024, 3, limits={food["id"]: "100"})
    alice.budget(2024, 4, limits={food["id"]: "100"})
    # Four or five Mondays of 30.00 each month: over the limit of 100.00 in both months.
    rule(alice, food["id"], amount="30", frequency="weekly", start_date="2024-03-04",
         end_date="2024-04-29")  # fmt: skip
    alerts = outbox_payloads(api, alice.id, BUDGET_LIMIT_EXCEEDED)
    # Recorded in one transaction: the outbox's order between them is not theirs.
    assert sorted((a["year"], a["month"], a["spent"]) for a in alerts) == [
        (2024, 3, "120.00"), (2024, 4, "150.00"),
    ]  # fmt: skip


def test_the_transactions_stay_when_the_rule_is_deleted(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2024-01-15", end_date="2024-03-15")
    [first, *_] = recorded(alice, created["id"])
    assert alice.delete(f"/api/recurring/{created['id']}").status_code == 204
    assert alice.get(f"/api/recurring/{created['id']}").status_code == 404
    remaining = alice.get("/api/transactions").json
    assert sorted(item["date"] for item in remaining) == ["2024-01-15", "2024-02-15", "2024-03-15"]
    assert {item["recurring_id"] for item in remaining} == {None}
    assert alice.get(f"/api/transactions/{first['id']}").json["amount"] == "10.00"


def test_changing_a_rule_records_what_is_missing_and_never_twice(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2024-03-10", end_date="2024-05-10")
    assert dates(alice, created["id"]) == ["2024-03-10", "2024-04-10", "2024-05-10"]
    # A recorded transaction the user deleted does not come back with the next change.
    april = recorded(alice, created["id"])[1]
    assert alice.delete(f"/api/transactions/{april['id']}").status_code == 204

    response = alice.patch(
        f"/api/recurring/{created['id']}", json={"start_date": "2024-01-10", "amount": "12"}
    )
    assert response.status_code == 200, response.json
    assert response.json["amount"] == "12.00"
    items = recorded(alice, created["id"])
    assert [(i["date"], i["amount"]) for i in items] == [
        ("2024-01-10", "12.00"), ("2024-02-10", "12.00"),  # newly due: the new amount
        ("2024-03-10", "10.00"), ("2024-05-10", "10.00"),  # recorded before: as they were
    ]  # fmt: skip


def test_ending_a_rule_stops_it(api: Flask, alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2030-01-31")
    changed = alice.patch(f"/api/recurring/{created['id']}", json={"end_date": "2030-03-30"})
    assert changed.json["next_date"] == "2030-01-31"
    assert run_at(api, utc(2030, 6, 1)).transactions == 2
    assert dates(alice, created["id"]) == ["2030-01-31", "2030-02-28"]
    assert alice.get(f"/api/recurring/{created['id']}").json["next_date"] is None


def test_list_shows_the_newest_first_page_by_page(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    made = [rule(alice, rent["id"], start_date=f"2031-0{n}-01") for n in range(1, 4)]
    first = alice.get("/api/recurring?page_size=2")
    assert first.status_code == 200
    assert [item["id"] for item in first.json] == [made[2]["id"], made[1]["id"]]
    cursor = json.loads(first.headers["X-Pagination"])["next_cursor"]
    second = alice.get(f"/api/recurring?page_size=2&cursor={cursor}")
    assert [item["id"] for item in second.json] == [made[0]["id"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency", "daily"), ("frequency", "MONTHLY"), ("frequency", None),
        ("type", "TRANSFER"), ("amount", "0"), ("amount", "-5"), ("amount", "1.234"),
        ("start_date", "2024-02-30"), ("start_date", None), ("end_date", "2024-01-01"),
        ("description", "x" * 501), ("category_id", "nope"), ("next_date", "2030-01-01"),
        ("user_id", CLIENT_CHOSEN_ID),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused_and_record_nothing(
    alice: SignedInUser, field: str, value: Any
) -> None:
    rent = alice.category("Rent")
    body = {"category_id": rent["id"], "type": "EXPENSE", "amount": "1", "frequency": "monthly",
            "start_date": "2024-03-01", field: value}  # fmt: skip
    response = alice.post("/api/recurring", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert alice.get("/api/recurring").json == []
    assert alice.get("/api/transactions").json == []


def test_a_start_too_far_back_is_refused(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    body = {"category_id": rent["id"], "type": "EXPENSE", "amount": "1", "frequency": "weekly",
            "start_date": "1990-01-01"}  # fmt: skip
    response = alice.post("/api/recurring", json=body)
    assert response.status_code == 422
    assert "start_date" in response.json["errors"]["json"]
    assert alice.get("/api/recurring").json == []
    assert alice.get("/api/transactions").json == []


def test_an_end_before_the_changed_start_is_refused(alice: SignedInUser) -> None:
    created = rule(alice, alice.category("Rent")["id"], end_date="2030-12-31")
    response = alice.patch(f"/api/recurring/{created['id']}", json={"start_date": "2031-01-31"})
    assert response.status_code == 422
    assert "end_date" in response.json["errors"]["json"]
    assert alice.get(f"/api/recurring/{created['id']}").json == created


def test_another_users_rule_is_not_found(alice: SignedInUser, bob: SignedInUser) -> None:
    alices = rule(alice, alice.category("Rent")["id"])
    path = f"/api/recurring/{alices['id']}"
    assert bob.get(path).status_code == 404
    assert bob.patch(path, json={"amount": "1"}).status_code == 404
    assert bob.delete(path).status_code == 404
    assert bob.get("/api/recurring").json == []
    assert alice.get(path).json == alices
    # Nor can a rule use another user's category.
    bobs_category = bob.category("Rent")
    response = alice.post("/api/recurring", json={
        "category_id": bobs_category["id"], "type": "EXPENSE", "amount": "1",
        "frequency": "monthly", "start_date": "2024-01-01",
    })  # fmt: skip
    assert response.status_code == 404
    assert alice.patch(path, json={"category_id": bobs_category["id"]}).status_code == 404


def test_a_category_with_rules_is_deleted_only_by_moving_them(alice: SignedInUser) -> None:
    rent, housing = alice.category("Rent"), alice.category("Housing")
    created = rule(alice, rent["id"])
    assert alice.delete(f"/api/categories/{rent['id']}").status_code == 409
    response = alice.delete(f"/api/categories/{rent['id']}?reassign_to={housing['id']}")
    assert response.status_code == 204
    assert alice.get(f"/api/recurring/{created['id']}").json["category_id"] == housing["id"]


def test_the_recurring_filter_of_transactions(alice: SignedInUser) -> None:
    rent = alice.category("Rent")
    created = rule(alice, rent["id"], start_date="2024-01-01", end_date="2024-02-01")
    alice.transaction(rent["id"], "5.00", "2024-01-02")
    everything = alice.get("/api/transactions").json
    assert len(everything) == 3
    assert sum(item["recurring_id"] == created["id"] for item in everything) == 2
    assert len(recorded(alice, created["id"])) == 2
    assert alice.get(f"/api/transactions?recurring_id={uuid.uuid4()}").json == []
    assert alice.get("/api/transactions?recurring_id=nope").status_code == 422


def test_rules_need_a_token(alice: SignedInUser) -> None:
    assert alice.client.get("/api/recurring").status_code == 401


def test_the_job_leaves_a_rule_that_is_not_due(api: Flask, alice: SignedInUser) -> None:
    created = rule(alice, alice.category("Rent")["id"], start_date="2030-01-31")
    assert run_at(api, utc(2030, 1, 30)) == RunReport(rules=0, transactions=0)
    assert dates(alice, created["id"]) == []
    assert date.fromisoformat(alice.get(f"/api/recurring/{created['id']}").json["next_date"]) == (
        date(2030, 1, 31)
    )
