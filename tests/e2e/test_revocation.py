"""Issue 14: logout-all, a password change, a detected theft and account deletion refuse every
access token issued before, on both services, within seconds; refresh races are not theft."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest
from werkzeug.test import Client

from tests.e2e.conftest import SETTINGS, Rows
from tests.eventually import eventually
from tests.parallel import in_parallel
from tests.processes import LaunchedProcess
from tests.users import PASSWORD

ME = "/api/users/me"
REFRESH = "/api/auth/refresh"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_up(gateway: Client) -> dict[str, Any]:
    email = f"revoke-{secrets.token_hex(6)}@example.com"
    response = gateway.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json(silent=True)
    body: dict[str, Any] = response.get_json()
    return {**body, "email": email}


def refused_everywhere(gateway: Client, token: str) -> None:
    """api_app refuses at once; notify_app once the worker has handled the event."""
    on_api = gateway.get(ME, headers=bearer(token))
    assert on_api.status_code == 401
    assert on_api.get_json()["message"] == "access token no longer valid: sign in again"
    assert on_api.headers["WWW-Authenticate"].startswith("Bearer")

    def notify_refuses() -> bool:
        return gateway.get(SETTINGS, headers=bearer(token)).status_code == 401

    eventually(notify_refuses, "notify_app to refuse the revoked access token")
    refused = gateway.get(SETTINGS, headers=bearer(token))
    assert set(refused.get_json()) == {"code", "status", "message", "errors"}
    assert refused.get_json()["message"] == "access token no longer valid: sign in again"


@pytest.mark.parametrize("revocation", ["logout-all", "password change"])
def test_revocation_refuses_earlier_access_tokens_on_both_services(
    gateway: Client, celery_worker: LaunchedProcess, revocation: str
) -> None:
    ann = sign_up(gateway)
    old = ann["access_token"]
    assert gateway.get(SETTINGS, headers=bearer(old)).status_code == 200
    bystander = sign_up(gateway)

    if revocation == "logout-all":
        response = gateway.post("/api/auth/logout-all", headers=bearer(old))
        password = PASSWORD
    else:
        password = "a brand new secret"
        response = gateway.post(
            "/api/users/me/password",
            json={"current_password": PASSWORD, "new_password": password},
            headers=bearer(old),
        )
    assert response.status_code == 204

    refused_everywhere(gateway, old)
    # Signing in again gives a token both services take; other users are untouched.
    fresh = gateway.post("/api/auth/login", json={"email": ann["email"], "password": password})
    assert fresh.status_code == 200
    new = fresh.get_json()["access_token"]
    assert gateway.get(ME, headers=bearer(new)).status_code == 200
    assert gateway.get(SETTINGS, headers=bearer(new)).status_code == 200
    assert gateway.get(SETTINGS, headers=bearer(bystander["access_token"])).status_code == 200


def test_a_deleted_account_is_refused_by_notify_which_writes_nothing_for_it(
    gateway: Client, celery_worker: LaunchedProcess, rows: Rows
) -> None:
    ann = sign_up(gateway)
    token = ann["access_token"]
    user_id = ann["user"]["id"]
    assert gateway.patch(SETTINGS, json={"notify_goal_reached": False}, headers=bearer(token))

    deleted = gateway.delete(ME, json={"password": PASSWORD}, headers=bearer(token))
    assert deleted.status_code == 204

    def forgotten() -> bool:
        return bool(rows.notify("SELECT 1 FROM deleted_users WHERE user_id = %s", user_id))

    eventually(forgotten, "notify_app to handle user.deleted")
    for method, path in (
        ("PATCH", SETTINGS),
        ("POST", "/api/notifications/telegram/link"),
        ("POST", "/api/notifications/test"),
        ("GET", "/api/notifications/history"),
    ):
        kwargs: dict[str, Any] = (
            {"json": {"notify_limit_exceeded": False}} if method == "PATCH" else {}
        )
        response = gateway.open(path, method=method, headers=bearer(token), **kwargs)
        assert response.status_code == 401, (method, path, response.get_json(silent=True))
    for table in ("notification_settings", "telegram_link_codes", "deliveries"):
        assert rows.notify(f"SELECT 1 FROM {table} WHERE user_id = %s", user_id) == []  # noqa: S608


def test_two_refreshes_of_one_token_within_the_grace_period_keep_the_user_signed_in(
    gateway: Client,
) -> None:
    ann = sign_up(gateway)
    first = gateway.post(REFRESH, json={"refresh_token": ann["refresh_token"]})
    second = gateway.post(REFRESH, json={"refresh_token": ann["refresh_token"]})
    assert (first.status_code, second.status_code) == (200, 200)
    for pair in (first.get_json(), second.get_json()):
        assert gateway.get(ME, headers=bearer(pair["access_token"])).status_code == 200
        assert (
            gateway.post(REFRESH, json={"refresh_token": pair["refresh_token"]}).status_code == 200
        )


def test_reuse_after_the_grace_period_signs_out_everywhere(
    gateway: Client, celery_worker: LaunchedProcess, rows: Rows
) -> None:
    ann = sign_up(gateway)
    rotated = gateway.post(REFRESH, json={"refresh_token": ann["refresh_token"]}).get_json()
    rows.api(
        "UPDATE refresh_tokens SET consumed_at = now() - interval '1 minute' "
        "WHERE user_id = %s AND consumed_at IS NOT NULL",
        ann["user"]["id"],
    )
    reuse = gateway.post(REFRESH, json={"refresh_token": ann["refresh_token"]})
    assert reuse.status_code == 401
    assert (
        gateway.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}).status_code == 401
    )
    refused_everywhere(gateway, rotated["access_token"])


def test_tabs_refreshing_at_the_same_moment_both_stay_signed_in(gunicorn_gateway: str) -> None:
    """Real concurrency: separate gunicorn workers take the same token at once."""

    def post(path: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - the local gunicorn
            gunicorn_gateway + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    email = f"tabs-{secrets.token_hex(6)}@example.com"
    status, registered = post("/api/auth/register", {"email": email, "password": PASSWORD})
    assert status == 201
    for _ in range(3):
        token = registered["refresh_token"]
        results = in_parallel(*[lambda token=token: post(REFRESH, {"refresh_token": token})] * 4)
        assert [status for status, _ in results] == [200] * 4, results
        # One session for the four (issue 22 item 8): the same successor, not four siblings.
        assert len({body["refresh_token"] for _, body in results}) == 1, results
        registered = results[0][1]
    # Every tab's new pair still works.
    assert post(REFRESH, {"refresh_token": registered["refresh_token"]})[0] == 200
