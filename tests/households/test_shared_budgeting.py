"""Everything budgeting in a shared ledger: who may read and write what, objects that stay in
their ledger, who recorded what, and the round trips of the write path."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

from tests.households.conftest import Household, Sql
from tests.test_round_trips import EXPECTED, measured
from tests.users import PASSWORD, SignedInUser


def expense(category_id: str, amount: str, ledger_id: str | None, **extra: Any) -> dict[str, Any]:
    body = {"category_id": category_id, "type": "EXPENSE", "amount": amount, "date": "2026-11-10"}
    if ledger_id is not None:
        body["ledger_id"] = ledger_id
    return {**body, **extra}


def shared_category(person: SignedInUser, ledger_id: str, name: str = "Food") -> str:
    listed = person.expect(200, "GET", f"/api/categories?ledger_id={ledger_id}&page_size=100")
    return str(next(category["id"] for category in listed if category["name"] == name))


def test_a_shared_ledger_has_the_default_categories_and_lists_stay_per_ledger(
    household: Household,
) -> None:
    owner, member = household.owner, household.member
    shared = member.expect(
        200, "GET", f"/api/categories?ledger_id={household.ledger_id}&page_size=100"
    )
    assert len(shared) == 9
    member.created("/api/categories", {"name": "Cat food", "ledger_id": household.ledger_id})
    assert len(owner.expect(200, "GET", f"/api/categories?ledger_id={household.ledger_id}")) == 10
    # Without ledger_id: the caller's personal ledger, as before households.
    personal = owner.expect(200, "GET", "/api/categories?page_size=100")
    assert len(personal) == 9
    assert not {category["id"] for category in personal} & {category["id"] for category in shared}


def test_a_viewer_reads_and_may_not_write(household: Household) -> None:
    ledger, member, viewer = household.ledger_id, household.member, household.viewer
    food = shared_category(member, ledger)
    recorded = member.created("/api/transactions", expense(food, "12.00", ledger))
    budget = member.created(
        "/api/budgets",
        {"year": 2026, "month": 11, "ledger_id": ledger, "limits": [
            {"category_id": food, "limit_amount": "100"}
        ]},
    )  # fmt: skip
    goal = member.created(
        "/api/goals", {"name": "Sofa", "target_amount": "500", "ledger_id": ledger}
    )
    rule = member.created(
        "/api/recurring",
        {
            "category_id": food,
            "type": "EXPENSE",
            "amount": "9.00",
            "frequency": "monthly",
            "start_date": "2026-11-01",
            "ledger_id": ledger,
        },
    )

    assert viewer.expect(200, "GET", f"/api/transactions/{recorded['id']}") == recorded
    listed = viewer.expect(200, "GET", f"/api/transactions?ledger_id={ledger}")
    assert recorded in listed
    summary = viewer.expect(
        200, "GET", f"/api/budgets/summary?year=2026&month=11&ledger_id={ledger}"
    )
    assert summary["expense"] == "21.00"
    assert viewer.expect(200, "GET", f"/api/goals/{goal['id']}")["name"] == "Sofa"
    assert viewer.expect(200, "GET", f"/api/budgets?ledger_id={ledger}")[0]["id"] == budget["id"]

    writes = [
        ("POST", "/api/categories", {"name": "Mine", "ledger_id": ledger}),
        ("PATCH", f"/api/categories/{food}", {"name": "Groceries"}),
        ("DELETE", f"/api/categories/{food}", None),
        ("POST", "/api/transactions", expense(food, "1.00", ledger)),
        ("PATCH", f"/api/transactions/{recorded['id']}", {"amount": "2.00"}),
        ("DELETE", f"/api/transactions/{recorded['id']}", None),
        ("POST", "/api/budgets", {"year": 2026, "month": 12, "ledger_id": ledger}),
        ("PUT", f"/api/budgets/{budget['id']}/limits/{food}", {"limit_amount": "5"}),
        ("DELETE", f"/api/budgets/{budget['id']}/limits/{food}", None),
        ("DELETE", f"/api/budgets/{budget['id']}", None),
        ("POST", "/api/goals", {"name": "x", "target_amount": "5", "ledger_id": ledger}),
        ("PATCH", f"/api/goals/{goal['id']}", {"name": "Bed"}),
        ("POST", f"/api/goals/{goal['id']}/contributions", {"amount": "5"}),
        ("DELETE", f"/api/goals/{goal['id']}", None),
        ("PATCH", f"/api/recurring/{rule['id']}", {"amount": "1.00"}),
        ("DELETE", f"/api/recurring/{rule['id']}", None),
    ]
    for method, path, body in writes:
        answer = viewer.request(method, path, json=body)
        assert answer.status_code == 403, (method, path, answer.get_json())
        assert answer.get_json()["message"] == "a viewer of this ledger may only read it"
    imported = viewer.post(
        "/api/transactions/import",
        data={"file": (io.BytesIO(b"date,amount,description\n2026-11-02,-3.00,x\n"), "s.csv"),
              "default_category_id": food, "ledger_id": ledger},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert imported.status_code == 403
    # Nothing a viewer tried changed anything.
    assert member.expect(200, "GET", f"/api/transactions/{recorded['id']}") == recorded


def test_a_non_member_gets_404_for_the_ledger_and_everything_in_it(
    household: Household, outsider: SignedInUser
) -> None:
    ledger, member = household.ledger_id, household.member
    food = shared_category(member, ledger)
    recorded = member.created("/api/transactions", expense(food, "12.00", ledger))
    for path in (
        f"/api/categories?ledger_id={ledger}",
        f"/api/transactions?ledger_id={ledger}",
        f"/api/transactions/export.csv?ledger_id={ledger}",
        f"/api/budgets?ledger_id={ledger}",
        f"/api/budgets/summary?year=2026&month=11&ledger_id={ledger}",
        f"/api/goals?ledger_id={ledger}",
        f"/api/recurring?ledger_id={ledger}",
        f"/api/reports/monthly?ledger_id={ledger}",
        f"/api/transactions/{recorded['id']}",
        f"/api/categories/{food}",
    ):
        assert outsider.get(path).status_code == 404, path
    for method, path, body in (
        ("POST", "/api/transactions", expense(food, "1.00", ledger)),
        ("POST", "/api/categories", {"name": "x", "ledger_id": ledger}),
        ("PATCH", f"/api/transactions/{recorded['id']}", {"amount": "2.00"}),
        ("DELETE", f"/api/transactions/{recorded['id']}", None),
    ):
        assert outsider.request(method, path, json=body).status_code == 404, (method, path)


def test_objects_of_one_ledger_cannot_be_mixed_with_another_s(household: Household) -> None:
    ledger, owner = household.ledger_id, household.owner
    shared_food = shared_category(owner, ledger)
    personal_food = owner.category_id("Food")
    for body in (
        expense(personal_food, "1.00", ledger),  # a personal category in the shared ledger
        expense(shared_food, "1.00", None),  # no ledger_id: the personal ledger
    ):
        answer = owner.post("/api/transactions", json=body)
        assert answer.status_code == 404, body
        assert answer.get_json()["errors"] == {"json": {"category_id": ["No such category."]}}
    recorded = owner.created("/api/transactions", expense(shared_food, "3.00", ledger))
    moved = owner.patch(f"/api/transactions/{recorded['id']}", json={"category_id": personal_food})
    assert moved.status_code == 404
    budget = owner.post(
        "/api/budgets",
        json={"year": 2026, "month": 11, "ledger_id": ledger,
              "limits": [{"category_id": personal_food, "limit_amount": "5"}]},
    )  # fmt: skip
    assert budget.status_code == 404
    shared_budget = owner.created("/api/budgets", {"year": 2026, "month": 11, "ledger_id": ledger})
    limit = owner.put(
        f"/api/budgets/{shared_budget['id']}/limits/{personal_food}", json={"limit_amount": "5"}
    )
    assert limit.status_code == 404
    rule = owner.post(
        "/api/recurring",
        json={"category_id": personal_food, "type": "EXPENSE", "amount": "1.00",
              "frequency": "weekly", "start_date": "2026-11-01", "ledger_id": ledger},
    )  # fmt: skip
    assert rule.status_code == 404
    deleted = owner.delete(f"/api/categories/{shared_food}?reassign_to={personal_food}")
    assert deleted.status_code == 404
    # One month budget per ledger: the personal ledger's November is still free.
    owner.created("/api/budgets", {"year": 2026, "month": 11})


def test_who_recorded_what_and_the_report_by_member(household: Household, api_sql: Sql) -> None:
    ledger, owner, member = household.ledger_id, household.owner, household.member
    owner.expect(200, "PATCH", "/api/users/me", json={"display_name": "Anna"})
    food = shared_category(member, ledger)
    mine = owner.created("/api/transactions", expense(food, "30.00", ledger))
    theirs = member.created("/api/transactions", expense(food, "12.50", ledger))
    member.created("/api/transactions", expense(food, "7.50", ledger, date="2026-10-05"))
    assert (mine["created_by"], theirs["created_by"]) == (str(owner.id), str(member.id))
    by_boris = owner.expect(
        200, "GET", f"/api/transactions?ledger_id={ledger}&created_by={member.id}"
    )
    assert {t["amount"] for t in by_boris} == {"12.50", "7.50"}

    months = household.viewer.expect(
        200, "GET", f"/api/reports/monthly?ledger_id={ledger}&from=2026-10&to=2026-11&by=member"
    )
    member_name = member.email.split("@")[0]
    viewer_name = household.viewer.email.split("@")[0]
    assert [month["members"] for month in months] == [
        [
            {"user_id": str(owner.id), "name": "Anna", "spent": "0.00"},
            {"user_id": str(member.id), "name": member_name, "spent": "7.50"},
            {"user_id": str(household.viewer.id), "name": viewer_name, "spent": "0.00"},
        ],
        [
            {"user_id": str(owner.id), "name": "Anna", "spent": "30.00"},
            {"user_id": str(member.id), "name": member_name, "spent": "12.50"},
            {"user_id": str(household.viewer.id), "name": viewer_name, "spent": "0.00"},
        ],
    ]
    without = owner.expect(
        200, "GET", f"/api/reports/monthly?ledger_id={ledger}&from=2026-11&to=2026-11"
    )
    assert "members" not in without[0]
    assert owner.get("/api/reports/monthly?by=category").status_code == 422

    # Boris deletes his account: the household keeps his expenses, recorded by nobody now.
    member.expect(204, "DELETE", "/api/users/me", json={"password": PASSWORD})
    kept = owner.expect(200, "GET", f"/api/transactions/{theirs['id']}")
    assert (kept["amount"], kept["created_by"]) == ("12.50", None)
    months = owner.expect(
        200, "GET", f"/api/reports/monthly?ledger_id={ledger}&from=2026-11&to=2026-11&by=member"
    )
    assert months[0]["members"][-1] == {"user_id": None, "name": None, "spent": "12.50"}


def test_display_names_show_in_the_members_list(household: Household) -> None:
    household.member.expect(200, "PATCH", "/api/users/me", json={"display_name": "Boris"})
    members = household.owner.expect(200, "GET", f"/api/ledgers/{household.ledger_id}/members")
    assert [member["display_name"] for member in members] == [None, "Boris", None]
    household.member.expect(200, "PATCH", "/api/users/me", json={"display_name": None})
    for body in ({"display_name": ""}, {"display_name": "x" * 65}):
        assert household.member.patch("/api/users/me", json=body).status_code == 422


def test_export_and_import_work_on_the_named_ledger(household: Household) -> None:
    ledger, member = household.ledger_id, household.member
    food = shared_category(member, ledger)
    member.created("/api/transactions", expense(food, "4.00", ledger, description="bread"))
    exported = member.get(f"/api/transactions/export.csv?ledger_id={ledger}")
    assert exported.status_code == 200
    assert "bread" in exported.get_data(as_text=True)
    assert "bread" not in member.get("/api/transactions/export.csv").get_data(as_text=True)
    statement = b"date,amount,description,category\n2026-11-03,-5.00,milk,Food\n"
    imported = household.owner.post(
        "/api/transactions/import",
        data={"file": (io.BytesIO(statement), "s.csv"), "ledger_id": ledger},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["created"] == 1
    listed = member.expect(200, "GET", f"/api/transactions?ledger_id={ledger}")
    assert {t["description"] for t in listed} == {"bread", "milk"}


def test_writing_into_a_shared_ledger_costs_the_round_trips_of_a_personal_one(
    api: Flask, household: Household
) -> None:
    ledger, member = household.ledger_id, household.member
    food = shared_category(member, ledger)
    member.created(
        "/api/budgets",
        {"year": 2026, "month": 11, "ledger_id": ledger,
         "limits": [{"category_id": food, "limit_amount": "100000"}]},
    )  # fmt: skip
    created = measured(
        api, lambda: member.created("/api/transactions", expense(food, "3.00", ledger))
    )
    assert created.total == EXPECTED["POST /api/transactions"], created.describe()
