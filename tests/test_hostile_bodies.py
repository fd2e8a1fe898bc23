"""Issue 22 item 2: whatever body a client sends, no route of either service answers 5xx.

Every route and method of both apps gets each hostile body below, as a signed-in user (a fresh
one per route, since some routes sign out). A body that is not a JSON document we accept (too
deep, numbers too long to convert, invalid UTF-8, a key given twice) is a 400 on every route
that reads a JSON body; every other body is at most a 4xx there too, in the one error shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import TELEGRAM_WEBHOOK_SECRET
from tests.users import SignedInUser

ERROR_KEYS = {"code", "status", "message", "errors"}
NESTING = 5000

# Bodies no JSON reader of ours may accept: each answers 400 where a JSON body is read.
UNREADABLE_BODIES: dict[str, bytes] = {
    "unterminated deep nesting": b"[" * NESTING,
    "deep nesting": b"[" * NESTING + b"]" * NESTING,
    "deeply nested objects": b'{"a":' * NESTING + b"1" + b"}" * NESTING,
    "deep nesting in a field": (
        b'{"email": "a@example.com", "password": "password123", "name": '
        + b"[" * NESTING
        + b"]" * NESTING
        + b"}"
    ),
    "an integer too long to convert": b'{"year": 1' + b"0" * 5000 + b', "amount": 1}',
    "invalid UTF-8": b'{"email": "\xff\xfe@example.com", "password": "\xc3\x28abcdefgh"}',
    "duplicate keys": (
        b'{"email": "a@example.com", "email": "b@example.com", "password": "password123",'
        b' "password": "password456", "name": "x", "name": "y"}'
    ),
}
# Bodies that are JSON but hostile in their values: refused or accepted, never a 5xx.
ODD_BODIES: dict[str, bytes] = {
    "huge numbers": (
        b'{"amount": 1e999999, "year": 99999999999999999999, "month": -1e308,'
        b' "target_amount": 1e-999999, "warn_at_percent": 1e400}'
    ),
    "long strings": (
        b'{"email": "'
        + b"a" * 200_000
        + b'@example.com", "name": "'
        + b"n" * 200_000
        + b'", "description": "'
        + b"d" * 200_000
        + b'"}'
    ),
    "lone surrogates": (
        b'{"email": "\\ud800@example.com", "name": "\\udfff", "description": "\\ud800"}'
    ),
    "a bare string": b'"' + b"s" * 100_000 + b'"',
    "null": b"null",
}
METHODS = ("POST", "PUT", "PATCH", "DELETE", "GET")


def example_path(rule: str) -> str:
    # Any id will do: the body is read before the resource is looked up, or it is not read.
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda match: _example_value(match.group(1)), rule)


def _example_value(converter: str | None) -> str:
    return "7" if converter == "int" else str(uuid.uuid4())


def spec_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def reads_json(spec: dict[str, Any], rule: str, method: str) -> bool:
    operation = spec["paths"].get(spec_path(rule), {}).get(method.lower(), {})
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def routes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in METHODS
        if method in (rule.methods or set()) and rule.endpoint != "static"
    )


@pytest.mark.parametrize("service", ["api", "notify"])
def test_no_body_whatsoever_answers_5xx_on_any_route(
    request: pytest.FixtureRequest,
    make_user: Callable[[], SignedInUser],
    service: str,
) -> None:
    app: Flask = request.getfixturevalue(service)
    client = app.test_client()
    spec_url = "/api/openapi.json" if service == "api" else "/api/notifications/openapi.json"
    spec = client.get(spec_url).get_json()
    checked = set()
    for rule, method in routes(app):
        user = make_user()
        headers = {
            **user.headers,
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_WEBHOOK_SECRET,
        }
        path = example_path(rule)
        for name, body in {**UNREADABLE_BODIES, **ODD_BODIES}.items():
            response = client.open(path, method=method, data=body, headers=headers)
            where = f"{method} {rule} with {name}"
            assert response.status_code < 500, f"{where}: {response.get_data()[:500]!r}"
            if response.status_code >= 400 and response.mimetype == "application/json":
                assert set(response.get_json()) == ERROR_KEYS, where
            if name in UNREADABLE_BODIES and reads_json(spec, rule, method):
                assert response.status_code == 400, f"{where}: {response.get_json()}"
                checked.add((rule, method))
    # The routes that read JSON bodies were found, not skipped by mistake.
    expected = (
        {("/api/auth/login", "POST"), ("/api/auth/register", "POST"), ("/api/categories", "POST")}
        if service == "api"
        else {("/api/notifications/settings", "PATCH")}
    )
    assert expected <= checked
