"""Both services serve a valid OpenAPI document and Swagger UI through the gateway, and the
budgeting operations document what they answer."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate
from werkzeug.test import Client

from wsgi import Gateway

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
BUDGETING_PREFIXES = (
    "/api/categories",
    "/api/budgets",
    "/api/transactions",
    "/api/goals",
    "/api/reports",
    "/api/recurring",
)


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    return Client(Gateway(api, notify))


def document(gateway: Client, path: str) -> dict[str, Any]:
    response = gateway.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.json
    return body


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/notifications/openapi.json"])
def test_the_openapi_documents_are_valid(gateway: Client, path: str) -> None:
    validate(document(gateway, path))


@pytest.mark.parametrize(
    ("path", "spec_url"),
    [
        ("/api/docs", "/api/openapi.json"),
        ("/api/notifications/docs", "/api/notifications/openapi.json"),
    ],
)
def test_swagger_ui_answers_through_the_gateway(gateway: Client, path: str, spec_url: str) -> None:
    response = gateway.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "swagger-ui" in page
    assert spec_url in page


def budgeting_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith(BUDGETING_PREFIXES)
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_budgeting_operation_documents_its_errors(gateway: Client) -> None:
    spec = document(gateway, "/api/openapi.json")
    operations = budgeting_operations(spec)
    assert len(operations) == 31
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operation_ids = {operation["operationId"] for _, _, operation in operations}
    assert len(operation_ids) == len(operations)
    assert {
        "getCategories",
        "patchCategoryById",
        "getSummary",
        "postContributions",
    } <= operation_ids
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation["security"] == [{"bearerAuth": []}], where
        assert "401" in operation["responses"], where
        if "{" in path:
            assert "404" in operation["responses"], where
        if "requestBody" in operation or operation.get("parameters"):
            assert "422" in operation["responses"], where


def test_request_bodies_refuse_unknown_fields_and_responses_carry_money_as_text(
    gateway: Client,
) -> None:
    schemas = document(gateway, "/api/openapi.json")["components"]["schemas"]
    for name in [
        "CategoryCreate",
        "BudgetCreate",
        "TransactionCreate",
        "GoalCreate",
        "Contribution",
    ]:
        assert schemas[name]["additionalProperties"] is False, name
    amount = schemas["Transaction"]["properties"]["amount"]
    assert (amount["type"], amount["pattern"]) == ("string", r"^-?[0-9]+\.[0-9]{2}$")
    accepted = schemas["TransactionCreate"]["properties"]["amount"]["anyOf"]
    assert [form["type"] for form in accepted] == ["string", "number"]


@pytest.mark.parametrize(
    "path", ["/api/goals", "/api/budgets/summary", "/api/notifications/health"]
)
def test_a_wrong_method_answers_405_naming_the_allowed_ones(gateway: Client, path: str) -> None:
    response = gateway.open(path, method="TRACE")
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.json["code"] == 405
    assert "GET" in response.headers["Allow"]
