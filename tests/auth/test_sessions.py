"""Refresh-token rotation and reuse detection, expiry, logout, logout-all and the purge command."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

import api_app
from tests.auth.conftest import login, refresh
from tests.conftest import REPO_ROOT
from tests.users import PASSWORD, SignedInUser, unique_email

ERROR_KEYS = {"code", "status", "message", "errors"}
Sql = Callable[..., list[tuple[Any, ...]]]


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def test_refresh_rotates_the_pair_and_consumes_the_presented_token(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    response = refresh(api_client, user.refresh_token)
    assert response.status_code == 200
    body = response.json
    assert body["refresh_token"] != user.refresh_token
    assert body["user"]["id"] == str(user.id)
    assert response.headers["Cache-Control"] == "no-store"
    assert api_client.get("/api/users/me", headers=bearer(body["access_token"])).status_code == 200
    # The new token works once more; the chain can go on.
    assert refresh(api_client, body["refresh_token"]).status_code == 200


def test_reusing_a_consumed_token_revokes_every_token_of_its_user(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    victim = sign_up()
    other_device = login(api_client, victim.email).json["refresh_token"]
    bystander = sign_up()
    rotated = refresh(api_client, victim.refresh_token).json["refresh_token"]
    # Past the grace period that lets two tabs refresh at once.
    api_sql(
        "UPDATE refresh_tokens SET consumed_at = now() - interval '1 minute' "
        "WHERE user_id = %s AND consumed_at IS NOT NULL RETURNING id",
        (victim.id,),
    )

    reuse = refresh(api_client, victim.refresh_token)
    assert reuse.status_code == 401
    assert set(reuse.json) == ERROR_KEYS
    assert reuse.json["message"] == "invalid refresh token"
    # Access tokens go too: whoever holds the copy may hold one of those as well.
    assert api_client.get("/api/users/me", headers=victim.headers).status_code == 401

    assert refresh(api_client, rotated).status_code == 401
    assert refresh(api_client, other_device).status_code == 401
    assert api_sql("SELECT count(*) FROM refresh_tokens WHERE user_id = %s", (victim.id,)) == [(0,)]
    # Other users keep their sessions, and the victim can sign in again.
    assert refresh(api_client, bystander.refresh_token).status_code == 200
    assert login(api_client, victim.email).status_code == 200


def past_the_grace_period(api_sql: Sql, user_id: Any) -> None:
    api_sql(
        "UPDATE refresh_tokens SET consumed_at = now() - interval '1 minute' "
        "WHERE user_id = %s AND consumed_at IS NOT NULL RETURNING id",
        (user_id,),
    )


def test_a_replay_within_the_grace_period_answers_the_same_successor(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    """Issue 22 item 8: two tabs racing get one session, not two independent ones."""
    user = sign_up()
    first = refresh(api_client, user.refresh_token)
    second = refresh(api_client, user.refresh_token)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json["refresh_token"] == first.json["refresh_token"]
    assert (
        api_client.get("/api/users/me", headers=bearer(second.json["access_token"])).status_code
        == 200
    )


def test_reuse_detection_covers_a_replay_within_the_grace_period(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    """A thief who replays a stolen token right after its owner used it holds the owner's own
    successor: whoever of the two uses it second is caught, and both are signed out."""
    owner = sign_up()
    successor = refresh(api_client, owner.refresh_token).json["refresh_token"]
    stolen = refresh(api_client, owner.refresh_token).json
    assert stolen["refresh_token"] == successor
    thiefs_next = refresh(api_client, stolen["refresh_token"]).json["refresh_token"]
    past_the_grace_period(api_sql, owner.id)

    assert refresh(api_client, successor).status_code == 401  # the owner's turn: reuse
    assert refresh(api_client, thiefs_next).status_code == 401
    assert (
        api_client.get("/api/users/me", headers=bearer(stolen["access_token"])).status_code == 401
    )
    assert api_sql("SELECT count(*) FROM refresh_tokens WHERE user_id = %s", (owner.id,)) == [(0,)]


def test_a_replay_within_the_grace_period_is_refused_once_the_successor_is_revoked(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    successor = refresh(api_client, user.refresh_token).json["refresh_token"]
    assert api_client.post("/api/auth/logout", json={"refresh_token": successor}).status_code == 204
    replay = refresh(api_client, user.refresh_token)
    assert replay.status_code == 401
    assert replay.json["message"] == "invalid refresh token"


def test_unknown_and_malformed_refresh_tokens(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    for token in ("not-a-token", "A" * 43, user.access_token[:256], "\ud800"):
        response = refresh(api_client, token)
        assert response.status_code == 401
        assert set(response.json) == ERROR_KEYS
    for body in ({}, {"refresh_token": ""}, {"refresh_token": "A" * 257}, {"refresh_token": 7}):
        assert api_client.post("/api/auth/refresh", json=body).status_code == 422
    # None of that touched the real session.
    assert refresh(api_client, user.refresh_token).status_code == 200


@pytest.fixture
def short_lived_api(api: Flask) -> Flask:
    return api_app.create_app(
        {
            "TESTING": True,
            "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=3),
            "REFRESH_TOKEN_TTL": timedelta(seconds=3),
        }
    )


def test_access_and_refresh_tokens_expire(short_lived_api: Flask, api_sql: Sql) -> None:
    client = short_lived_api.test_client()
    registered = client.post(
        "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}
    ).json
    assert registered["expires_in"] == 3
    assert (
        client.get("/api/users/me", headers=bearer(registered["access_token"])).status_code == 200
    )
    second = refresh(client, registered["refresh_token"]).json

    claims = jwt.decode(second["access_token"], options={"verify_signature": False})
    [(refresh_expiry,)] = api_sql(
        "SELECT extract(epoch FROM expires_at) FROM refresh_tokens WHERE token = %s",
        (hashlib.sha256(second["refresh_token"].encode()).hexdigest(),),
    )
    time.sleep(max(claims["exp"], float(refresh_expiry)) - time.time() + 0.2)

    expired_access = client.get("/api/users/me", headers=bearer(second["access_token"]))
    assert expired_access.status_code == 401
    assert expired_access.json["message"] == "access token expired"
    assert expired_access.headers["WWW-Authenticate"].startswith("Bearer")
    expired_refresh = refresh(client, second["refresh_token"])
    assert expired_refresh.status_code == 401
    assert set(expired_refresh.json) == ERROR_KEYS


def test_logout_revokes_that_token_only(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    other_session = login(api_client, user.email).json["refresh_token"]
    response = api_client.post("/api/auth/logout", json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert response.data == b""
    assert refresh(api_client, user.refresh_token).status_code == 401
    assert refresh(api_client, other_session).status_code == 200
    # Idempotent, and it tells nothing about tokens it does not know.
    again = api_client.post("/api/auth/logout", json={"refresh_token": user.refresh_token})
    assert again.status_code == 204
    unknown = api_client.post("/api/auth/logout", json={"refresh_token": "never-issued"})
    assert unknown.status_code == 204
    assert api_client.post("/api/auth/logout", json={}).status_code == 422


def test_logout_all_revokes_every_session_of_the_user(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    sessions = [user.refresh_token] + [
        login(api_client, user.email).json["refresh_token"] for _ in range(2)
    ]
    bystander = sign_up()
    assert api_client.post("/api/auth/logout-all").status_code == 401
    response = api_client.post("/api/auth/logout-all", headers=user.headers)
    assert response.status_code == 204
    for token in sessions:
        assert refresh(api_client, token).status_code == 401
    assert refresh(api_client, bystander.refresh_token).status_code == 200


def _insert_token(api_sql: Sql, user_id: Any, token: str, expires_in: str) -> None:
    api_sql(
        "INSERT INTO refresh_tokens (token, user_id, expires_at) "
        "VALUES (%s, %s, now() + %s::interval) RETURNING id",
        (token, user_id, expires_in),
    )


def test_purge_tokens_deletes_expired_rows_only(
    api: Flask, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    user = sign_up()
    _insert_token(api_sql, user.id, "expired-live", "-1 hour")
    _insert_token(api_sql, user.id, "consumed:expired", "-1 second")
    _insert_token(api_sql, user.id, "consumed:still-detecting-reuse", "1 day")

    result = api.test_cli_runner().invoke(args=["auth", "purge-tokens"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "purged 2 expired refresh tokens"
    remaining = {row[0] for row in api_sql("SELECT token FROM refresh_tokens")}
    assert remaining == {
        hashlib.sha256(user.refresh_token.encode()).hexdigest(),
        "consumed:still-detecting-reuse",
    }


def test_purge_tokens_runs_as_compose_calls_it(
    api: Flask,
    service_environment: dict[str, str],
    sign_up: Callable[..., SignedInUser],
    api_sql: Sql,
) -> None:
    user = sign_up()
    _insert_token(api_sql, user.id, "expired", "-1 minute")
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "api_app", "auth", "purge-tokens"],
        cwd=REPO_ROOT,
        env=service_environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "purged 1 expired refresh tokens" in completed.stdout
    assert api_sql("SELECT count(*) FROM refresh_tokens") == [(1,)]
