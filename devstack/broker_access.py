"""`make run`'s broker access, as compose's: a Redis user per process (deploy/redis/users.acl)
and the signing keys of what each process sends and consumes (event_contract.TASK_SIGNERS).

On the embedded Redis every user of the ACL file is created with a password derived from a
secret made for the run, and the default user is switched off; the supervisor keeps the `admin`
user. Each process gets its own user's password and nothing else. The signing keys are made once
under the data directory's keys/ (development keys, like the JWT pair), so that messages queued by
one run are still trusted by the next.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import redis

from event_contract import (
    API_JOBS_SIGNER,
    BOT_COMMANDS_SIGNER,
    DELIVERIES_SIGNER,
    EVENTS_SIGNER,
    NOTIFY_JOBS_SIGNER,
    signing_key_setting,
)

ACL_TEMPLATE: Final = Path(__file__).resolve().parent.parent / "deploy" / "redis" / "users.acl"
# Kept by the supervisor, never handed to a process: each one's password derives from it.
BROKER_SECRET_VARIABLE: Final = "DEVSTACK_BROKER_SECRET"  # noqa: S105 - a variable name
ADMIN_USER: Final = "admin"
# What no user is: a process that needs no broker (the migrations) cannot use it.
NO_USER: Final = "nobody"

# Process name (devstack.run) -> its Redis user and the signers whose keys it holds. Under
# `make run` the gateway serves both web apps, and the api worker runs the relay and beat too.
PROCESS_ACCESS: Final[Mapping[str, tuple[str, frozenset[str]]]] = {
    "gateway": ("gateway", frozenset({EVENTS_SIGNER, BOT_COMMANDS_SIGNER, DELIVERIES_SIGNER})),
    "worker": ("worker", frozenset({EVENTS_SIGNER, DELIVERIES_SIGNER, NOTIFY_JOBS_SIGNER})),
    "api-worker": (
        "api-worker",
        frozenset({EVENTS_SIGNER, BOT_COMMANDS_SIGNER, API_JOBS_SIGNER, NOTIFY_JOBS_SIGNER}),
    ),
    "relay": ("relay", frozenset({EVENTS_SIGNER})),
    "beat": ("beat", frozenset({API_JOBS_SIGNER, NOTIFY_JOBS_SIGNER})),
}


def acl_users(template: Path = ACL_TEMPLATE) -> dict[str, list[str]]:
    """User -> its ACL rules, from the file compose's Redis reads too."""
    users = {}
    for line in template.read_text(encoding="utf-8").splitlines():
        if line.startswith("user "):
            _, name, *rules = line.split()
            users[name] = rules
    return users


def user_password(secret: str, user: str) -> str:
    return hmac.new(secret.encode(), user.encode(), hashlib.sha256).hexdigest()


def user_url(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}@{parts.hostname}{port}"))


def create_users(url: str) -> str:
    """Create every user of the ACL file on the Redis at `url` (its default user, open), then
    switch the default user off. Returns the run's secret (BROKER_SECRET_VARIABLE)."""
    secret = secrets.token_hex(32)
    client = redis.Redis.from_url(url)
    try:
        users = acl_users()
        for name, rules in users.items():
            if name == "default":
                continue
            if "on" in rules and "nopass" not in rules:
                at = rules.index("on") + 1
                rules = [*rules[:at], f">{user_password(secret, name)}", *rules[at:]]
            client.execute_command("ACL", "SETUSER", name, "reset", *rules)  # type: ignore[no-untyped-call]
        client.execute_command("ACL", "SETUSER", "default", *users["default"])  # type: ignore[no-untyped-call]
    finally:
        client.close()
    return secret


def admin_url(url: str, secret: str) -> str:
    return user_url(url, ADMIN_USER, user_password(secret, ADMIN_USER))


def development_signing_keys(key_dir: Path) -> dict[str, Path]:
    """Signer -> its key file, made once under `key_dir`."""
    key_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for signer in {s for _, signers in PROCESS_ACCESS.values() for s in signers}:
        path = key_dir / f"broker_signing_key_{signer}"
        if not path.exists():
            path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
            path.chmod(0o600)
        files[signer] = path
    return files


def process_environment(
    name: str, environment: Mapping[str, str], key_files: Mapping[str, Path]
) -> dict[str, str]:
    """The environment of process `name`: its own broker user (on the embedded Redis) and the
    signing keys of its signers, unless the environment names them already."""
    child = dict(environment)
    secret = child.pop(BROKER_SECRET_VARIABLE, None)
    user, signers = PROCESS_ACCESS.get(name, (NO_USER, frozenset()))
    if secret is not None:
        if user == NO_USER:
            child["BROKER_URL"] = user_url(child["BROKER_URL"], NO_USER)
        else:
            child["BROKER_URL"] = user_url(child["BROKER_URL"], user)
            child["BROKER_PASSWORD"] = user_password(secret, user)
    for signer in signers:
        setting = signing_key_setting(signer)
        if not (child.get(setting) or child.get(f"{setting}_FILE")):
            child[f"{setting}_FILE"] = str(key_files[signer])
    return child
