"""Both services refuse every access token that is not exactly what api_app mints, with a JSON 401
and a Bearer challenge; and a user signed up through the gateway can use both."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.test import Client

from devstack.servers import free_port
from tests.users import SignedInUser
from wsgi import Gateway

ERROR_KEYS = {"code", "status", "message", "errors"}
# One protected route per service.
PROTECTED = {"api": "/api/users/me", "notify": "/api/notifications/settings"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(user_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "type": "access",
        "fresh": False,
        "iss": "budget-api",
        "aud": "budget-services",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


FORGED_CASES = [
    "missing",
    "expired",
    "forged with another key",
    "wrong audience",
    "wrong issuer",
    "alg none",
    "HS256 with the public key as secret",
    "refresh type",
    "no expiry",
    "no jti",
    "subject not a user id",
    "tampered payload",
    "not a JWT",
    "empty bearer",
    "basic scheme",
    "two tokens",
]


def forged_tokens(user_id: uuid.UUID, private_pem: str, public_pem: str) -> dict[str, str | None]:
    """name -> Authorization header value (None: no header)."""

    def signed(**overrides: Any) -> str:
        return jwt.encode(_claims(user_id, **overrides), private_pem, algorithm="EdDSA")

    alg_none = _unsigned({"alg": "none", "typ": "JWT"}, _claims(user_id)) + "."
    hs256_body = _unsigned({"alg": "HS256", "typ": "JWT"}, _claims(user_id))
    hs256_signature = hmac.new(public_pem.encode(), hs256_body.encode(), hashlib.sha256).digest()
    other_key = Ed25519PrivateKey.generate()
    genuine_header, _, genuine_signature = signed().split(".")
    other_user_claims = _b64(json.dumps(_claims(uuid.uuid4())).encode())
    tokens = {
        "missing": None,
        "expired": f"Bearer {signed(iat=int(time.time()) - 1000, exp=int(time.time()) - 10)}",
        "forged with another key": f"Bearer {jwt.encode(_claims(user_id), other_key, 'EdDSA')}",
        "wrong audience": f"Bearer {signed(aud='someone-else')}",
        "wrong issuer": f"Bearer {signed(iss='someone-else')}",
        "alg none": f"Bearer {alg_none}",
        "HS256 with the public key as secret": f"Bearer {hs256_body}.{_b64(hs256_signature)}",
        "refresh type": f"Bearer {signed(type='refresh')}",
        "no expiry": f"Bearer {signed(exp=None)}",
        "no jti": f"Bearer {signed(jti=None)}",
        "subject not a user id": f"Bearer {signed(sub='admin')}",
        "tampered payload": f"Bearer {genuine_header}.{other_user_claims}.{genuine_signature}",
        "not a JWT": "Bearer not-a-jwt",
        "empty bearer": "Bearer ",
        "basic scheme": "Basic dXNlcjpwYXNz",
        "two tokens": f"Bearer {signed()}, Bearer {signed()}",
    }
    assert list(tokens) == FORGED_CASES
    return tokens


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    return Client(Gateway(api, notify))


@pytest.fixture
def keys(signing_key_files: tuple[Path, Path]) -> tuple[str, str]:
    return signing_key_files[0].read_text(), signing_key_files[1].read_text()


def test_a_correctly_made_token_opens_both_services(
    gateway: Client, make_user: Callable[[], SignedInUser], keys: tuple[str, str]
) -> None:
    """The control for the matrix below: the same recipe, signed right, is accepted."""
    user = make_user()
    token = jwt.encode(_claims(user.id), keys[0], algorithm="EdDSA")
    for path in PROTECTED.values():
        assert gateway.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("service", sorted(PROTECTED))
@pytest.mark.parametrize("case", FORGED_CASES)
def test_forged_and_broken_tokens_answer_401_json_with_a_bearer_challenge(
    gateway: Client,
    make_user: Callable[[], SignedInUser],
    keys: tuple[str, str],
    service: str,
    case: str,
) -> None:
    user = make_user()
    authorization = forged_tokens(user.id, *keys)[case]
    headers = {} if authorization is None else {"Authorization": authorization}
    response = gateway.get(PROTECTED[service], headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == 401
    challenge = response.headers["WWW-Authenticate"]
    if case == "missing":
        assert challenge == "Bearer"
    else:
        assert challenge in {"Bearer", 'Bearer error="invalid_token"'}


def test_the_specifications_register_call_through_the_gateway_opens_both_services(
    gateway: Client,
) -> None:
    registered = gateway.post(
        "/api/auth/register", json={"email": "test@example.com", "password": "password123"}
    )
    assert registered.status_code == 201
    headers = {"Authorization": f"Bearer {registered.json['access_token']}"}
    me = gateway.get("/api/users/me", headers=headers)
    assert (me.status_code, me.json["email"]) == (200, "test@example.com")
    settings = gateway.get("/api/notifications/settings", headers=headers)
    assert settings.status_code == 200
    assert settings.json == {
        "telegram_chat_id": None,
        "notify_limit_exceeded": True,
        "notify_goal_reached": True,
        "warn_at_percent": 80,
        "notify_monthly_digest": False,
        "digest_balances": True,
    }


@pytest.fixture
def http_gateway(api: Flask, notify: Flask) -> Iterator[str]:
    """The gateway behind a real HTTP server on a free local port."""
    port = free_port()
    server = make_server("127.0.0.1", port, Gateway(api, notify), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join()


def test_register_over_real_http(http_gateway: str) -> None:
    registered = requests.post(
        f"{http_gateway}/api/auth/register",
        json={"email": "test@example.com", "password": "password123"},
        timeout=10,
    )
    assert registered.status_code == 201
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    settings = requests.get(
        f"{http_gateway}/api/notifications/settings", headers=headers, timeout=10
    )
    assert settings.status_code == 200
    missing = requests.get(f"{http_gateway}/api/notifications/settings", timeout=10)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
