"""PATCH /api/users/me {timezone}: each user's IANA time zone, UTC until they choose one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.users import SignedInUser

ERROR_KEYS = {"code", "status", "message", "errors"}


def test_a_new_account_is_in_utc(
    api_client: FlaskClient, make_user: Callable[[], SignedInUser]
) -> None:
    user = make_user()
    assert api_client.get("/api/users/me", headers=user.headers).json["timezone"] == "UTC"


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_the_chosen_zone_is_kept_and_shown(
    api_client: FlaskClient, make_user: Callable[[], SignedInUser], zone: str
) -> None:
    user = make_user()
    response = api_client.patch("/api/users/me", json={"timezone": zone}, headers=user.headers)
    assert response.status_code == 200, response.json
    assert response.json["timezone"] == zone
    assert api_client.get("/api/users/me", headers=user.headers).json["timezone"] == zone


def test_one_users_zone_is_not_anothers(
    api_client: FlaskClient, make_user: Callable[[], SignedInUser]
) -> None:
    alice, bob = make_user(), make_user()
    api_client.patch("/api/users/me", json={"timezone": "Asia/Tokyo"}, headers=alice.headers)
    assert api_client.get("/api/users/me", headers=bob.headers).json["timezone"] == "UTC"


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "europe/berlin"},
        {"timezone": "localtime"},
        {"timezone": "../../etc/passwd"},
        {"timezone": ""},
        {"timezone": "x" * 200},
        {"timezone": None},
        {"timezone": 1},
        {},
        {"timezone": "UTC", "email": "other@example.com"},
    ],
)
def test_an_unknown_zone_is_refused_and_nothing_changes(
    api_client: FlaskClient, make_user: Callable[[], SignedInUser], body: dict[str, Any]
) -> None:
    user = make_user()
    response = api_client.patch("/api/users/me", json=body, headers=user.headers)
    assert response.status_code == 422
    assert set(response.json) == ERROR_KEYS
    assert api_client.get("/api/users/me", headers=user.headers).json["timezone"] == "UTC"


def test_changing_the_zone_needs_a_token(api_client: FlaskClient) -> None:
    response = api_client.patch("/api/users/me", json={"timezone": "Europe/Berlin"})
    assert response.status_code == 401
