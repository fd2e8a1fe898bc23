"""Delivery metrics, served by the worker (see worker/observability.py)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

deliveries_finished = Counter(
    "notify_deliveries_total", "Deliveries that reached a final status", ["event_type", "status"]
)
delivery_latency = Histogram(
    "notify_delivery_latency_seconds",
    "From the event's occurrence in the API to Telegram accepting its message",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
