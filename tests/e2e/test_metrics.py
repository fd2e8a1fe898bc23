"""Issue 7: /metrics of both services and of the worker count what a user just did."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from flask import Flask

from tests.e2e.conftest import SETTINGS, Rows, metric_samples, metric_value, settled_history
from tests.pipeline import wait_until_broker_idle
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(app: Flask, path: str) -> Samples:
    """From inside: the gateway, like nginx, serves no metrics."""
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return metric_samples(response.get_data(as_text=True))


def scrape_worker(worker: LaunchedProcess) -> Samples:
    url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        return metric_samples(response.read().decode())


def test_the_metrics_of_the_api_the_notifications_service_and_the_worker_add_up(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    celery_worker: LaunchedProcess,
    rows: Rows,
    telegram: TelegramStandIn,
    redis_url: str,
) -> None:
    # Tasks of earlier tests may still be running; they must not count as this test's.
    wait_until_broker_idle(redis_url)
    api_before = scrape(api, "/metrics")
    notify_before = scrape(notify, "/api/notifications/metrics")
    worker_before = scrape_worker(celery_worker)

    ann = register()  # user.registered
    ann.settings(telegram_chat_id="2024", warn_at_percent=None)  # the limit alert alone
    assert ann.expect(200, "GET", SETTINGS)["telegram_chat_id"] == "2024"
    food = ann.category_id("Food")
    ann.budget(2026, 11, {food: "50.00"})
    # The first crosses 50 % (budget.threshold_reached, skipped: warnings are off), the second the
    # limit (budget.limit_exceeded), the third stays over it.
    for amount in ("30.00", "30.00", "30.00"):
        ann.transaction(food, amount, "2026-11-15")
    assert [row["status"] for row in settled_history(ann, rows)] == ["sent"]
    assert len(telegram.messages) == 1
    wait_until_broker_idle(redis_url)

    api_after = scrape(api, "/metrics")
    notify_after = scrape(notify, "/api/notifications/metrics")
    worker_after = scrape_worker(celery_worker)

    def api_requests(samples: Samples, rule: str, method: str, status: str) -> float:
        return metric_value(
            samples, "api_http_request_duration_seconds_count",
            url_rule=rule, method=method, status=status,
        )  # fmt: skip

    def notify_requests(samples: Samples, rule: str, method: str, status: str) -> float:
        return metric_value(
            samples, "notify_http_request_duration_seconds_count",
            url_rule=rule, method=method, status=status,
        )  # fmt: skip

    for rule, method, status, count in [
        ("/api/auth/register", "POST", "201", 1),
        ("/api/budgets", "POST", "201", 1),
        ("/api/transactions", "POST", "201", 3),
    ]:
        grown = api_requests(api_after, rule, method, status)
        assert grown - api_requests(api_before, rule, method, status) == count, rule
    assert metric_value(api_after, "api_outbox_unpublished_events") == 0

    for rule, method, status, count in [
        ("/api/notifications/settings", "PATCH", "200", 1),
        ("/api/notifications/settings", "GET", "200", 1),
    ]:
        grown = notify_requests(notify_after, rule, method, status)
        assert grown - notify_requests(notify_before, rule, method, status) == count, rule

    handled = {"task": "notifications.handle_event", "outcome": "success"}
    assert (
        metric_value(worker_after, "worker_tasks_total", **handled)
        - metric_value(worker_before, "worker_tasks_total", **handled)
        == 3  # user.registered, budget.threshold_reached, budget.limit_exceeded
    )
    sent = {"event_type": "budget.limit_exceeded", "status": "sent"}
    assert (
        metric_value(worker_after, "notify_deliveries_total", **sent)
        - metric_value(worker_before, "notify_deliveries_total", **sent)
        == 1
    )
    latency = "notify_delivery_latency_seconds_count"
    assert metric_value(worker_after, latency) - metric_value(worker_before, latency) == 1
