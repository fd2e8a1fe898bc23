"""Prometheus metrics: request count and latency by route and status."""

from __future__ import annotations

import os

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

# Under the service prefix, so the gateway routes scrapes here rather than to the api.
METRICS_PATH = "/api/notifications/metrics"


def init_metrics(app: Flask) -> PrometheusMetrics:
    options = {
        "path": METRICS_PATH,
        "defaults_prefix": "notify",
        # By route template, not raw path: /api/goals/<id> is one series, not one per goal.
        "group_by": "url_rule",
        "excluded_paths": [f"^{METRICS_PATH}$"],
    }
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under gunicorn each worker is a process; a scrape must add up all of them.
        return GunicornInternalPrometheusMetrics(app, **options)
    # A registry per app, so several apps in one process (the tests, the gateway) never clash.
    return PrometheusMetrics(app, registry=CollectorRegistry(), **options)
