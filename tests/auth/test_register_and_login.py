"""POST /api/auth/register and /login: tokens, validation, one answer for bad credentials."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

import api_app
from tests.auth.conftest import login
from tests.users import PASSWORD, SignedInUser, register_through, unique_email

ERROR_KEYS = {"code", "status", "message", "errors"}
OWASP_ARGON2 = "$argon2id$v=19$m=19456,t=2,p=1$"
Sql = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def owasp_client(api: Flask) -> FlaskClient:
    """The api with the password hashing production has (the suite's apps hash cheaply), over
    the same emptied database as `api`."""
    return api_app.create_app({"TESTING": True}).test_client()


def test_the_specifications_register_call_answers_tokens(
    api_client: FlaskClient, signing_key_files: tuple[Path, Path], api_sql: Sql
) -> None:
    response = api_client.post(
        "/api/auth/register", json={"email": "test@example.com", "password": "password123"}
    )
    assert response.status_code == 201
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert set(body["user"]) == {"id", "email", "timezone", "language", "currency", "created_at"}
    assert body["user"]["email"] == "test@example.com"
    assert response.headers["Cache-Control"] == "no-store"

    claims = jwt.decode(
        body["access_token"],
        signing_key_files[1].read_text(),
        algorithms=["EdDSA"],
        audience="budget-services",
        issuer="budget-api",
    )
    assert claims["sub"] == body["user"]["id"]
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]

    # At least 256 random bits, stored only as their SHA-256 digest, expiring in 30 days.
    refresh_token = body["refresh_token"]
    assert len(refresh_token) >= 43
    rows = api_sql(
        "SELECT token, expires_at - created_at FROM refresh_tokens WHERE user_id = %s",
        (body["user"]["id"],),
    )
    assert len(rows) == 1
    assert rows[0][0] == hashlib.sha256(refresh_token.encode()).hexdigest()
    assert abs(rows[0][1].total_seconds() - 30 * 24 * 3600) < 60


def test_registration_stores_an_owasp_argon2id_hash_and_default_categories(
    owasp_client: FlaskClient, api_sql: Sql
) -> None:
    user = register_through(owasp_client)
    [(password_hash,)] = api_sql("SELECT password_hash FROM users WHERE id = %s", (user.id,))
    assert password_hash.startswith(OWASP_ARGON2)
    assert PasswordHasher().verify(password_hash, PASSWORD)

    categories = api_sql(
        "SELECT name, icon, is_default FROM categories WHERE user_id = %s", (user.id,)
    )
    names = {name.lower() for name, _, _ in categories}
    assert {"food", "transport", "housing", "utilities", "health", "salary", "other"} <= names
    assert all(icon and is_default for _, icon, is_default in categories)


def test_email_is_trimmed_and_lower_cased(api_client: FlaskClient, api_sql: Sql) -> None:
    response = api_client.post(
        "/api/auth/register", json={"email": "  Mixed.Case@Example.COM ", "password": PASSWORD}
    )
    assert response.status_code == 201
    assert response.json["user"]["email"] == "mixed.case@example.com"
    assert api_sql("SELECT email FROM users") == [("mixed.case@example.com",)]
    assert login(api_client, "MIXED.case@example.com ").status_code == 200


def test_a_taken_email_answers_409_in_any_case(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], api_sql: Sql
) -> None:
    user = sign_up()
    response = api_client.post(
        "/api/auth/register", json={"email": user.email.upper(), "password": "another password"}
    )
    assert response.status_code == 409
    assert set(response.json) == ERROR_KEYS
    assert api_sql("SELECT count(*) FROM users") == [(1,)]
    assert login(api_client, user.email).status_code == 200


@pytest.mark.parametrize(
    "password", ["12345678", "x" * 128, "pässwörd 🙂 with spaces", "\ud800 lone surrogate"]
)
def test_any_password_of_8_to_128_characters_is_accepted(
    api_client: FlaskClient, password: str
) -> None:
    email = unique_email()
    registered = api_client.post("/api/auth/register", json={"email": email, "password": password})
    assert registered.status_code == 201
    assert login(api_client, email, password).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "test@example.com", "password": "1234567"}, "password"),
        ({"email": "test@example.com", "password": "x" * 129}, "password"),
        ({"email": "test@example.com", "password": 12345678}, "password"),
        ({"email": "test@example.com"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "", "password": PASSWORD}, "email"),
        ({"email": "nul\u0000@example.com", "password": PASSWORD}, "email"),
        ({"email": "lone\ud800@example.com", "password": PASSWORD}, "email"),
        ({"email": "x" * 250 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": ["test@example.com"], "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": "test@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
    ],
)
def test_invalid_registrations_answer_422_and_create_nothing(
    api_client: FlaskClient, api_sql: Sql, body: dict[str, Any], field: str
) -> None:
    response = api_client.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert set(response.json) == ERROR_KEYS
    assert field in response.json["errors"]["json"]
    assert api_sql("SELECT count(*) FROM users") == [(0,)]


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"data": "email=test@example.com&password=password123"}, 422),
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"json": ["test@example.com", "password123"]}, 422),
        ({"json": None}, 422),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused(
    api_client: FlaskClient, path: str, request_kwargs: dict[str, Any], status: int
) -> None:
    response = api_client.post(path, **request_kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.json) == ERROR_KEYS


def test_login_answers_a_fresh_token_pair(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser]
) -> None:
    user = sign_up()
    response = login(api_client, user.email)
    assert response.status_code == 200
    body = response.json
    assert body["user"] == {
        "id": str(user.id),
        "email": user.email,
        "timezone": "UTC",
        "language": None,
        "currency": None,
        "created_at": body["user"]["created_at"],
    }
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"] != user.refresh_token
    assert response.headers["Cache-Control"] == "no-store"
    me = api_client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_401(
    api_client: FlaskClient, sign_up: Callable[..., SignedInUser], make_user: Callable[[], Any]
) -> None:
    user = sign_up()
    without_password: SignedInUser = make_user()  # a row whose hash can match nothing
    wrong_password = login(api_client, user.email, "wrong password")
    unknown_email = login(api_client, unique_email())
    unusable_hash = login(api_client, without_password.email, "unusable")
    for response in (wrong_password, unknown_email, unusable_hash):
        assert response.status_code == 401
        assert response.json == wrong_password.json
    assert wrong_password.json["message"] == "invalid email or password"


def argon2_verifications(client: FlaskClient, email: str, password: str) -> list[str]:
    """The hashes argon2 checked a password against while the API refused this login.

    Watched with a profile hook on the real library (the test client runs the request in this
    thread): what was computed, not how long it took, which a loaded machine decides.
    """
    verified: list[str] = []

    def watch(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code is PasswordHasher.verify.__code__:
            verified.append(str(frame.f_locals["hash"]))

    sys.setprofile(watch)
    try:
        response = login(client, email, password)
    finally:
        sys.setprofile(None)
    assert response.status_code == 401, response.json
    return verified


def test_unknown_email_spends_a_password_hash_like_a_wrong_password(
    owasp_client: FlaskClient,
) -> None:
    user = register_through(owasp_client)
    (users_hash,) = argon2_verifications(owasp_client, user.email, "wrong password")
    (stand_in,) = argon2_verifications(owasp_client, unique_email(), "wrong password")
    # The same algorithm at the same cost ($argon2id$v=19$m=...,t=...,p=...): an unknown email
    # costs what a wrong password costs, so the answer's timing tells them apart no more than
    # its body does.
    assert stand_in.split("$")[1:4] == users_hash.split("$")[1:4] == OWASP_ARGON2.split("$")[1:4]


def test_a_hash_with_older_parameters_is_rehashed_on_login(
    owasp_client: FlaskClient, api_sql: Sql
) -> None:
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    email = unique_email()
    api_sql(
        "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING id", (email, old_hash)
    )
    assert login(owasp_client, email, "wrong password").status_code == 401
    assert api_sql("SELECT password_hash FROM users") == [(old_hash,)]

    assert login(owasp_client, email).status_code == 200
    [(new_hash,)] = api_sql("SELECT password_hash FROM users")
    assert new_hash.startswith(OWASP_ARGON2)
    assert PasswordHasher().verify(new_hash, PASSWORD)
    assert login(owasp_client, email).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"email": "test@example.com"},
        {"email": "test@example.com", "password": ""},
        {"email": "test@example.com", "password": "x" * 129},
        {"email": "test@example.com", "password": PASSWORD, "remember": True},
    ],
)
def test_malformed_logins_answer_422(api_client: FlaskClient, body: dict[str, Any]) -> None:
    response = api_client.post("/api/auth/login", json=body)
    assert response.status_code == 422
    assert set(response.json) == ERROR_KEYS
