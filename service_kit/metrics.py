"""Prometheus metrics of a service: request count and latency by route and status."""

from __future__ import annotations

import os
from collections.abc import Iterable

from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics


def init_metrics(
    app: Flask, *, path: str, prefix: str, collectors: Iterable[Collector] = ()
) -> PrometheusMetrics:
    """Serve the app's metrics at `path`, named `prefix`_..., with `collectors` read at scrape
    time."""
    options = {
        "path": path,
        "defaults_prefix": prefix,
        # By route template, not raw path: /api/goals/<id> is one series, not one per goal.
        "group_by": "url_rule",
        "excluded_paths": [f"^{path}$"],
    }
    metrics: PrometheusMetrics
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under gunicorn each worker is a process; a scrape must add up all of them.
        metrics = GunicornInternalPrometheusMetrics(app, **options)
    else:
        # A registry per app, so several apps in one process (the tests, the gateway) never clash.
        metrics = PrometheusMetrics(app, registry=CollectorRegistry(), **options)
    for collector in collectors:
        metrics.registry.register(collector)
    return metrics
