"""Issue 22 item 4: quotas, not only rates. Rows written per account and UTC day (transactions
a request creates: plain, imported, a recurring rule's catch-up, and the rule itself) and the
expensive reads (months of reports, CSV exports) per account; 429 with Retry-After past them,
and a refused write changes nothing."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import api_app
from tests.users import SignedInUser

ERROR_KEYS = {"code", "status", "message", "errors"}


@pytest.fixture
def quota_api(api: Flask) -> Iterator[Callable[..., FlaskClient]]:
    apps: list[Flask] = []

    def make(**config: Any) -> FlaskClient:
        app = api_app.create_app({"TESTING": True, **config})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


def seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return (midnight - now).total_seconds()


def assert_refused_until_tomorrow(response: Any) -> None:
    assert response.status_code == 429, response.json
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == 429
    retry_after = int(response.headers["Retry-After"])
    assert abs(retry_after - seconds_to_utc_midnight()) <= 5


def assert_too_many(response: Any, window_seconds: int) -> None:
    assert response.status_code == 429, response.json
    assert set(response.json) == ERROR_KEYS
    assert 1 <= int(response.headers["Retry-After"]) <= window_seconds


def statement(rows: int, first_day: int = 1) -> dict[str, Any]:
    lines = "".join(
        f"2024-03-{day:02d},-1.00,row {day},Food\n" for day in range(first_day, first_day + rows)
    )
    content = ("date,amount,description,category\n" + lines).encode()
    return {"file": (io.BytesIO(content), "statement.csv")}


def transactions(client: FlaskClient, user: SignedInUser) -> list[Any]:
    listed = client.get("/api/transactions?page_size=100", headers=user.headers)
    assert listed.status_code == 200
    rows: list[Any] = listed.json
    return rows


def test_rows_written_per_day_are_counted_and_refused_past_the_quota(
    make_user: Callable[[], SignedInUser], quota_api: Callable[..., FlaskClient]
) -> None:
    client = quota_api(DAILY_ROW_QUOTA_PER_USER=6)
    ann, bob = make_user(), make_user()
    food = client.post("/api/categories", json={"name": "Food"}, headers=ann.headers).json["id"]

    def upload(rows: int, first_day: int = 1) -> Any:
        return client.post(
            "/api/transactions/import",
            data=statement(rows, first_day),
            content_type="multipart/form-data",
            headers=ann.headers,
        )

    def spend(user: SignedInUser, category: str) -> Any:
        body = {"category_id": category, "type": "EXPENSE", "amount": "1.00", "date": "2024-04-01"}
        return client.post("/api/transactions", json=body, headers=user.headers)

    # An import of N rows counts N: 4 of 6.
    assert upload(4).status_code == 200
    # One that would pass the quota is refused whole.
    assert_refused_until_tomorrow(upload(3, first_day=10))
    assert len(transactions(client, ann)) == 4
    # A recurring rule counts itself and its catch-up (here 2 occurrences): refused whole.
    rule = {
        "category_id": food,
        "type": "EXPENSE",
        "amount": "5.00",
        "frequency": "weekly",
        "start_date": (datetime.now(UTC).date() - timedelta(days=8)).isoformat(),
    }
    assert_refused_until_tomorrow(client.post("/api/recurring", json=rule, headers=ann.headers))
    assert client.get("/api/recurring", headers=ann.headers).json == []
    assert len(transactions(client, ann)) == 4
    # Plain writes count one each: 5, 6, then refused.
    assert spend(ann, food).status_code == 201
    assert spend(ann, food).status_code == 201
    assert_refused_until_tomorrow(spend(ann, food))
    assert len(transactions(client, ann)) == 6
    # Edits and reads write no rows; another account has its own quota.
    assert client.get("/api/categories", headers=ann.headers).status_code == 200
    bobs = client.post("/api/categories", json={"name": "Food"}, headers=bob.headers).json["id"]
    assert spend(bob, bobs).status_code == 201


def test_reports_are_limited_by_the_months_they_cover(
    make_user: Callable[[], SignedInUser], quota_api: Callable[..., FlaskClient]
) -> None:
    client = quota_api(REPORT_MONTHS_RATE_LIMIT_PER_USER="40 per hour")
    ann, bob = make_user(), make_user()

    def report(user: SignedInUser, first: str, last: str) -> Any:
        return client.get(f"/api/reports/monthly?from={first}&to={last}", headers=user.headers)

    assert report(ann, "2022-01", "2024-12").status_code == 200  # 36 months
    assert report(ann, "2024-01", "2024-03").status_code == 200  # 39
    assert_too_many(report(ann, "2024-01", "2024-02"), 3600)  # 41 would be past 40
    assert report(ann, "2024-01", "2024-01").status_code == 200  # 40
    assert report(bob, "2022-01", "2024-12").status_code == 200


def test_csv_exports_are_limited_per_account(
    make_user: Callable[[], SignedInUser], quota_api: Callable[..., FlaskClient]
) -> None:
    client = quota_api(EXPORT_RATE_LIMIT_PER_USER="2 per hour")
    ann, bob = make_user(), make_user()
    export = "/api/transactions/export.csv"
    assert [client.get(export, headers=ann.headers).status_code for _ in range(2)] == [200, 200]
    assert_too_many(client.get(export, headers=ann.headers), 3600)
    assert client.get(export, headers=bob.headers).status_code == 200


def test_the_quotas_are_documented_as_429(api: Flask) -> None:
    spec = api.test_client().get("/api/openapi.json").json
    for path, method in (
        ("/api/transactions", "post"),
        ("/api/transactions/import", "post"),
        ("/api/recurring", "post"),
        ("/api/reports/monthly", "get"),
        ("/api/transactions/export.csv", "get"),
    ):
        assert "429" in spec["paths"][path][method]["responses"], (path, method)
