"""Issue 14, the edges of both services: a body size limit answered in the JSON error shape,
nosniff on every response, no-store on token responses, Swagger UI from the service itself at a
pinned version, and 401 messages in our own words."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

import api_app
from service_kit.edges import body_limit
from tests.users import SignedInUser
from wsgi import Gateway

ERROR_KEYS = {"code", "status", "message", "errors"}
MIB = 1024 * 1024


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    return Client(Gateway(api, notify))


def big_json(size: int) -> bytes:
    return json.dumps({"name": "x" * size}).encode()


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/categories"), ("PATCH", "/api/notifications/settings")],
)
def test_a_body_over_one_mebibyte_answers_413_in_the_error_shape(
    gateway: Client, make_user: Callable[[], SignedInUser], method: str, path: str
) -> None:
    user = make_user()
    response = gateway.open(
        path,
        method=method,
        data=big_json(MIB),
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.content_type == "application/json"
    assert set(response.get_json()) == ERROR_KEYS


def test_a_body_over_the_limit_answers_413_under_gunicorn_too(gunicorn_gateway: str) -> None:
    """Without nginx in front (make run, a bare gunicorn) the services still refuse it."""
    request = urllib.request.Request(  # noqa: S310 - the local gunicorn
        f"{gunicorn_gateway}/api/auth/register",
        data=big_json(2 * MIB),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310
    assert refused.value.code == 413
    assert set(json.load(refused.value)) == ERROR_KEYS


def test_a_route_may_allow_a_larger_body(api: Flask) -> None:
    app = api_app.create_app({"TESTING": True, "MAX_REQUEST_BODY_BYTES": 1000})

    @app.post("/upload-for-test")
    @body_limit(5000)
    def upload() -> dict[str, int]:
        from flask import request

        return {"bytes": len(request.get_data())}

    client = app.test_client()
    try:
        assert client.post("/upload-for-test", data=b"x" * 4000).json == {"bytes": 4000}
        assert client.post("/upload-for-test", data=b"x" * 6000).status_code == 413
        too_big = client.post("/api/auth/login", data=b"x" * 2000, content_type="application/json")
        assert too_big.status_code == 413
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/api/categories",
        "/no-such-page",
        "/api/openapi.json",
        "/api/docs",
        "/metrics",
        "/api/notifications/health",
        "/api/notifications/settings",
        "/api/notifications/nothing-here",
        "/api/notifications/docs",
    ],
)
def test_every_response_says_nosniff(gateway: Client, path: str) -> None:
    assert gateway.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_token_responses_are_never_cached(
    gateway: Client, make_user: Callable[[], SignedInUser]
) -> None:
    body = {"email": "no-store@example.com", "password": "long enough secret"}
    registered = gateway.post("/api/auth/register", json=body)
    signed_in = gateway.post("/api/auth/login", json=body)
    refreshed = gateway.post(
        "/api/auth/refresh", json={"refresh_token": signed_in.get_json()["refresh_token"]}
    )
    link = gateway.post("/api/notifications/telegram/link", headers=make_user().headers)
    for response in (registered, signed_in, refreshed, link):
        assert response.status_code in (200, 201)
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("prefix", ["/api", "/api/notifications"])
def test_swagger_ui_is_served_by_the_service_itself(gateway: Client, prefix: str) -> None:
    page = gateway.get(f"{prefix}/docs").get_data(as_text=True)
    assert "cdn." not in page
    assert f'src="{prefix}/docs/assets/swagger-ui-bundle.js"' in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        response = gateway.get(f"{prefix}/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.get_data()) > 10_000
    assert gateway.get(f"{prefix}/docs/assets/../../etc/passwd").status_code == 404


def forged_tokens(user: SignedInUser) -> dict[str, str]:
    header, payload, signature = user.access_token.split(".")
    return {
        "garbage": "not-a-jwt",
        "bad signature": f"{header}.{payload}.{signature[::-1]}",
        "no signature": f"{header}.{payload}.",
    }


@pytest.mark.parametrize("path", ["/api/categories", "/api/notifications/settings"])
def test_401_messages_are_our_own_words(
    gateway: Client, make_user: Callable[[], SignedInUser], path: str
) -> None:
    user = make_user()
    for name, token in forged_tokens(user).items():
        response = gateway.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        body: dict[str, Any] = response.get_json()
        assert set(body) == ERROR_KEYS
        assert body["message"] == "invalid access token", (name, body)
    missing = gateway.get(path)
    assert missing.get_json()["message"] == "missing access token"


def test_both_services_document_their_401s_alike(gateway: Client) -> None:
    """notify_app speaks like api_app: every operation that needs a token says so, and documents
    the same 401 (our error shape, the challenge header)."""
    documented: dict[str, set[str]] = {}
    for spec_path in ("/api/openapi.json", "/api/notifications/openapi.json"):
        spec = gateway.get(spec_path).get_json()
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if method == "parameters" or not operation.get("security"):
                    continue
                unauthorized = operation["responses"]["401"]
                assert "WWW-Authenticate" in unauthorized["headers"], (path, method)
                schema = unauthorized["content"]["application/json"]["schema"]["$ref"]
                documented.setdefault(spec_path, set()).add(
                    f"{unauthorized['description']} -> {schema.rsplit('/', 1)[-1]}"
                )
    assert documented["/api/openapi.json"] == documented["/api/notifications/openapi.json"]
    assert len(documented["/api/openapi.json"]) == 1


def test_the_statement_import_allows_more_than_the_default_body_limit(
    gateway: Client, make_user: Callable[[], SignedInUser]
) -> None:
    """Over 1 MiB and within the import's own 5 MiB: taken (as a dry run here)."""
    import io

    user = make_user()
    category = gateway.post("/api/categories", json={"name": "Coffee"}, headers=user.headers)
    row = "2024-03-16,-1.00," + "x" * 200 + "\n"
    content = ("date,amount,description\n" + row * 7000).encode()
    assert MIB < len(content) < 5 * MIB
    response = gateway.post(
        "/api/transactions/import",
        data={
            "file": (io.BytesIO(content), "statement.csv"),
            "default_category_id": category.get_json()["id"],
            "dry_run": "true",
        },
        headers=user.headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 7000
