"""Every account endpoint is in the OpenAPI documents with its error responses."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

API_OPERATIONS = {
    ("/api/auth/register", "post"): {"201", "409", "422", "429"},
    ("/api/auth/login", "post"): {"200", "401", "422", "429"},
    ("/api/auth/refresh", "post"): {"200", "401", "422"},
    ("/api/auth/logout", "post"): {"204", "422"},
    ("/api/auth/logout-all", "post"): {"204", "401"},
    ("/api/users/me", "get"): {"200", "401"},
    ("/api/users/me", "delete"): {"204", "401", "403", "422", "429"},
    ("/api/users/me/password", "post"): {"204", "401", "403", "422", "429"},
}
NOTIFY_OPERATIONS = {
    ("/api/notifications/settings", "get"): {"200", "401"},
    ("/api/notifications/settings", "patch"): {"200", "401", "422"},
}
AUTHENTICATED = {
    ("/api/auth/logout-all", "post"),
    ("/api/users/me", "get"),
    ("/api/users/me", "delete"),
    ("/api/users/me/password", "post"),
    *NOTIFY_OPERATIONS,
}


@pytest.mark.parametrize(
    ("client_fixture", "spec_path", "operations"),
    [
        ("api_client", "/api/openapi.json", API_OPERATIONS),
        ("notify_client", "/api/notifications/openapi.json", NOTIFY_OPERATIONS),
    ],
)
def test_operations_document_their_errors_and_bearer_security(
    request: pytest.FixtureRequest,
    api: Flask,
    notify: Flask,
    client_fixture: str,
    spec_path: str,
    operations: dict[tuple[str, str], set[str]],
) -> None:
    client: FlaskClient = request.getfixturevalue(client_fixture)
    spec = client.get(spec_path).json
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for (path, method), statuses in operations.items():
        operation = spec["paths"][path][method]
        assert statuses <= set(operation["responses"]), (path, method)
        for status in statuses - {"200", "201", "204"}:
            assert "application/json" in operation["responses"][status]["content"], (path, status)
        if (path, method) in AUTHENTICATED:
            assert operation["security"] == [{"bearerAuth": []}]
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        else:
            assert "security" not in operation
    for (path, method), statuses in operations.items():
        if "429" in statuses:
            assert "Retry-After" in spec["paths"][path][method]["responses"]["429"]["headers"]
