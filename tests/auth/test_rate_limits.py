"""Sign-up and sign-in are rate limited per client address and per account, counted in Redis."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

import api_app
from devstack.servers import free_port
from tests.conftest import CHEAP_PASSWORD_HASHING, REPO_ROOT
from tests.users import PASSWORD, register_through, unique_email

ERROR_KEYS = {"code", "status", "message", "errors"}
LIMIT = 3


def limited_app(**config: Any) -> Flask:
    return api_app.create_app(
        {
            "TESTING": True,
            **CHEAP_PASSWORD_HASHING,
            "AUTH_RATE_LIMIT_PER_ADDRESS": f"{LIMIT} per minute",
            "AUTH_RATE_LIMIT_PER_EMAIL": f"{LIMIT} per minute",
            **config,
        }
    )


def client_at(app: Flask, address: str | None = None) -> FlaskClient:
    """A client with an address of its own, so no other test's attempts count against it."""
    client = app.test_client()
    octets = (str(secrets.randbelow(250)) for _ in range(3))
    client.environ_base["REMOTE_ADDR"] = address or f"10.{'.'.join(octets)}"
    return client


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs)


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_the_attempt_after_the_limit_from_one_address_answers_429(
    api: Flask, redis_url: str
) -> None:
    client = client_at(limited_app())
    for _ in range(LIMIT):
        assert login(client, unique_email()).status_code == 401
    assert_too_many(login(client, unique_email()))
    # Registration draws on the same budget per address.
    too_many_signups = client.post(
        "/api/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert_too_many(too_many_signups)
    # Another address is not affected.
    assert login(client_at(limited_app()), unique_email()).status_code == 401
    # The counters live in Redis, under the api's own prefix, without email addresses.
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*budget-api*")]
    assert keys
    assert not any("@" in key for key in keys)


def test_guessing_an_accounts_password_from_one_address_does_not_lock_its_owner_out(
    api: Flask,
) -> None:
    app = limited_app(AUTH_RATE_LIMIT_PER_ADDRESS="100 per minute")
    email = unique_email()
    owner = client_at(app)
    assert (
        owner.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code
        == 201
    )
    attacker = client_at(app)
    for _ in range(LIMIT):
        assert login(attacker, email, password="guess").status_code == 401
    # The attacker's address is stopped for this account, whatever the email's spelling...
    assert_too_many(login(attacker, f"  {email.upper()} ", password="guess"))
    # ...while the owner, from their own address, signs in as usual.
    assert login(owner, email).status_code == 200
    assert login(attacker, unique_email()).status_code == 401


def test_the_owner_signs_in_after_1000_failures_from_other_addresses(api: Flask) -> None:
    """Issue 22 item 5, with the production limits: 200 addresses guessing 5 times each (all
    that AUTH_RATE_LIMIT_PER_EMAIL lets one address try in a minute) spend the account's 1000
    failures an hour; its owner, from an address that has not failed, still signs in."""
    app = limited_app(
        AUTH_RATE_LIMIT_PER_ADDRESS="30 per minute",
        AUTH_RATE_LIMIT_PER_EMAIL="5 per minute",
        AUTH_RATE_LIMIT_PER_ACCOUNT="1000 per hour",
        AUTH_RATE_LIMIT_SLOWED="3 per hour",
    )
    email = unique_email()
    register_through(client_at(app), email)
    network = f"100.{64 + secrets.randbelow(64)}"
    for n in range(200):
        attacker = client_at(app, f"{network}.{n}.{secrets.randbelow(250)}")
        for _ in range(5):
            assert login(attacker, email, password="guess").status_code == 401
        assert_too_many(login(attacker, email, password="guess"))
    assert login(client_at(app), email).status_code == 200


def test_past_the_failures_cap_an_account_is_slowed_per_address_never_locked(
    api: Flask,
) -> None:
    app = limited_app(
        AUTH_RATE_LIMIT_PER_ADDRESS="100 per minute",
        AUTH_RATE_LIMIT_PER_EMAIL="100 per minute",
        AUTH_RATE_LIMIT_PER_ACCOUNT="4 per minute",
        AUTH_RATE_LIMIT_SLOWED="2 per minute",
    )
    email = unique_email()
    owner = client_at(app)
    register_through(owner, email)
    # The owner's successful sign-ins do not count towards the cap...
    for _ in range(LIMIT - 1):
        assert login(owner, email).status_code == 200
    # ...failures do, from whichever address.
    first = client_at(app)
    assert login(first, email, password="guess").status_code == 401
    for _ in range(3):
        assert login(client_at(app), email, password="guess").status_code == 401
    # Past the cap every address that fails has AUTH_RATE_LIMIT_SLOWED failures left...
    for attacker in (first, client_at(app)):
        for _ in range(2):
            assert login(attacker, email, password="guess").status_code == 401
        assert_too_many(login(attacker, email, password="guess"))
        assert_too_many(login(attacker, email))
    # ...while an address that has not failed signs in, and other accounts are not slowed.
    assert login(client_at(app), email).status_code == 200
    assert login(owner, email).status_code == 200
    assert login(first, unique_email()).status_code == 401


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
def test_refresh_and_logout_are_limited_per_address(api: Flask, path: str) -> None:
    app = limited_app(SESSION_RATE_LIMIT_PER_ADDRESS=f"{LIMIT} per minute")
    client = client_at(app)
    for _ in range(LIMIT):
        assert client.post(path, json={"refresh_token": "A" * 43}).status_code in (204, 401)
    assert_too_many(client.post(path, json={"refresh_token": "A" * 43}))
    # Refreshing and signing out share the budget; another address has its own.
    other = "/api/auth/logout" if path == "/api/auth/refresh" else "/api/auth/refresh"
    assert_too_many(client.post(other, json={"refresh_token": "A" * 43}))
    assert client_at(app).post(path, json={"refresh_token": "A" * 43}).status_code in (204, 401)


def test_password_checks_of_a_signed_in_user_share_a_limit_that_locks_only_them(
    api: Flask,
) -> None:
    app = limited_app(AUTH_RATE_LIMIT_PER_ADDRESS="100 per minute")
    client = client_at(app)
    email = unique_email()
    headers = register_through(client, email).headers
    wrong = {"current_password": "guess", "new_password": "whatever123"}
    assert client.post("/api/users/me/password", json=wrong, headers=headers).status_code == 403
    assert (
        client.delete("/api/users/me", json={"password": "guess"}, headers=headers).status_code
        == 403
    )
    for _ in range(LIMIT - 2):
        client.post("/api/users/me/password", json=wrong, headers=headers)
    assert_too_many(client.post("/api/users/me/password", json=wrong, headers=headers))
    # Whoever holds the token spent that budget; signing in is another one.
    assert login(client_at(app), email).status_code == 200


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(api: Flask) -> None:
    client = client_at(limited_app())
    for attempt in range(LIMIT):
        spoofed = {"X-Forwarded-For": f"192.0.2.{attempt}"}
        assert login(client, unique_email(), headers=spoofed).status_code == 401
    assert_too_many(login(client, unique_email(), headers={"X-Forwarded-For": "192.0.2.99"}))


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(api: Flask) -> None:
    proxy = client_at(limited_app(TRUSTED_PROXY_COUNT=1))
    first, second = (f"198.51.100.{secrets.randbelow(250)}" for _ in range(2))
    for _ in range(LIMIT):
        assert login(proxy, unique_email(), headers={"X-Forwarded-For": first}).status_code == 401
    assert_too_many(login(proxy, unique_email(), headers={"X-Forwarded-For": first}))
    # A client cannot pick its address: the proxy appends the real one, which is what counts.
    spoofing = {"X-Forwarded-For": f"{second}, {first}"}
    assert_too_many(login(proxy, unique_email(), headers=spoofing))
    assert (
        login(proxy, unique_email(), headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    )


@pytest.mark.parametrize(
    "setting",
    [
        "AUTH_RATE_LIMIT_PER_ADDRESS",
        "AUTH_RATE_LIMIT_PER_EMAIL",
        "AUTH_RATE_LIMIT_PER_ACCOUNT",
        "AUTH_RATE_LIMIT_SLOWED",
        "SESSION_RATE_LIMIT_PER_ADDRESS",
        "WRITE_RATE_LIMIT_PER_USER",
    ],
)
def test_a_malformed_limit_stops_start_up_with_a_clear_message(
    service_environment: dict[str, str], setting: str
) -> None:
    with pytest.raises(ValueError, match=setting):
        api_app.create_app({setting: "lots"})


LOGIN_WITHOUT_REDIS = """
import json, sys
import api_app
app = api_app.create_app({
    "TESTING": True,
    "RATELIMIT_STORAGE_URI": sys.argv[1],
    "AUTH_RATE_LIMIT_PER_ADDRESS": "2 per minute",
})
client = app.test_client()
statuses = [
    client.post("/api/auth/login", json={"email": f"nobody{n}@example.com", "password": "x"})
    for n in range(3)
]
print(json.dumps([[r.status_code, r.headers.get("Retry-After")] for r in statuses]))
"""


def test_without_redis_sign_in_works_and_is_limited_in_memory(
    api: Flask, service_environment: dict[str, str]
) -> None:
    """Run in a process of its own: the limiter's fallback state is per process."""
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    completed = subprocess.run(
        [sys.executable, "-c", LOGIN_WITHOUT_REDIS, unreachable],
        cwd=REPO_ROOT,
        env=service_environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    statuses = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [status for status, _ in statuses] == [401, 401, 429]
    assert int(statuses[2][1]) >= 1
