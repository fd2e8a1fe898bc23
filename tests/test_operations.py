"""What an on-call engineer reads: request ids, JSON log lines, Prometheus metrics, readiness."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_jwt_extended import jwt_required
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

import api_app
import notify_app
from devstack.servers import free_port
from service_kit.logs import configure_logging
from tests.conftest import ServiceDatabases
from tests.users import SignedInUser
from wsgi import Gateway


@pytest.fixture
def gateway(api: Flask, notify: Flask) -> Client:
    return Client(Gateway(api, notify))


def samples(metrics_text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    ]


@pytest.mark.parametrize("path", ["/health", "/api/notifications/health"])
def test_a_sane_request_id_is_echoed_and_a_missing_one_generated(
    gateway: Client, path: str
) -> None:
    echoed = gateway.get(path, headers={"X-Request-ID": "req-42.abc"})
    assert echoed.headers["X-Request-ID"] == "req-42.abc"
    generated = gateway.get(path)
    assert len(generated.headers["X-Request-ID"]) == 32
    hostile = gateway.get(path, headers={"X-Request-ID": 'x" injected\\'})
    assert hostile.headers["X-Request-ID"] != 'x" injected\\'


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON handler the services install, capturing to a buffer for the test."""
    configure_logging("api", "json")
    handler = next(
        h for h in logging.getLogger().handlers if type(h).__name__ == "ServiceLogHandler"
    )
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


def test_log_lines_are_json_with_service_request_and_user_ids(
    service_environment: dict[str, str],
    make_user: Callable[[], SignedInUser],
    json_log: io.StringIO,
) -> None:
    user = make_user()
    app = api_app.create_app({"TESTING": True})

    @app.get("/log-something")
    @jwt_required()
    def log_something() -> dict[str, str]:
        logging.getLogger("api_app.test").warning("something worth a line")
        return {}

    app.test_client().get("/log-something", headers={**user.headers, "X-Request-ID": "trace-1"})
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    (entry,) = [line for line in lines if line["message"] == "something worth a line"]
    assert entry["level"] == "WARNING"
    assert entry["service"] == "api"
    assert entry["request_id"] == "trace-1"
    assert entry["user_id"] == str(user.id)
    assert entry["timestamp"].endswith("+00:00")


@pytest.mark.parametrize(
    ("factory", "metrics_path", "probe_path", "prefix"),
    [
        (api_app.create_app, "/metrics", "/health", "api"),
        (
            notify_app.create_app,
            "/api/notifications/metrics",
            "/api/notifications/health",
            "notify",
        ),
    ],
)
def test_metrics_count_requests_by_route_and_status(
    service_environment: dict[str, str],
    factory: Callable[..., Flask],
    metrics_path: str,
    probe_path: str,
    prefix: str,
) -> None:
    client = factory({"TESTING": True}).test_client()
    for _ in range(3):
        assert client.get(probe_path).status_code == 200
    assert client.get(probe_path + "/missing").status_code == 404
    response = client.get(metrics_path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # The latency histogram's count is the request count by route and status.
    counts = {
        (labels["url_rule"], labels["status"]): value
        for labels, value in samples(text, f"{prefix}_http_request_duration_seconds_count")
    }
    assert counts[(probe_path, "200")] == 3
    assert counts[("None", "404")] == 1


@pytest.mark.parametrize("path", ["/metrics", "/api/notifications/metrics", "/metrics/"])
def test_the_gateway_serves_no_metrics(gateway: Client, api: Flask, path: str) -> None:
    """The image's default command runs the gateway on a public port; Prometheus scrapes the
    services from inside (nginx answers 404 for these paths too)."""
    response = gateway.get(path)
    assert response.status_code == 404
    assert response.json == {"code": 404, "status": "Not Found", "message": "resource not found"}
    assert "http_request" not in response.get_data(as_text=True)
    assert api.test_client().get("/metrics").status_code == 200


def test_readiness_checks_the_broker_too(
    service_environment: dict[str, str], gateway: Client
) -> None:
    assert gateway.get("/ready").json == {"status": "ok"}
    assert gateway.get("/api/notifications/ready").json == {
        "status": "ok",
        "service": "notifications",
    }
    no_broker = f"redis://127.0.0.1:{free_port()}/0"
    for factory, path in (
        (api_app.create_app, "/ready"),
        (notify_app.create_app, "/api/notifications/ready"),
    ):
        client = factory({"TESTING": True, "BROKER_URL": no_broker}).test_client()
        response = client.get(path)
        assert response.status_code == 503
        assert response.json["message"] == "broker unavailable"
        # Liveness stays the specification's answer: the database alone decides it.
        assert client.get(path.replace("ready", "health")).status_code == 200


def test_api_metrics_report_the_outbox_backlog(
    api: Flask, test_databases: ServiceDatabases
) -> None:
    import psycopg2

    with psycopg2.connect(test_databases.api_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO outbox_events (id, type, payload, occurred_at, created_at) "
            "VALUES (gen_random_uuid(), 'user.deleted', '{}', now() - interval '90 seconds', "
            "now() - interval '90 seconds')"
        )
    connection.close()
    text = api.test_client().get("/metrics").get_data(as_text=True)
    assert samples(text, "api_outbox_unpublished_events") == [({}, 1.0)]
    ((_, age),) = samples(text, "api_outbox_oldest_unpublished_age_seconds")
    # The row waits since 90 s ago (no backlog would read 0); an hour bounds a wrong origin.
    assert 90 <= age < 3600
