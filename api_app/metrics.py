"""Prometheus metrics at GET /metrics: requests by route and status, and the outbox backlog."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api_app.events.outbox import outbox_status
from api_app.extensions import db
from service_kit import metrics

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"


class OutboxBacklogCollector(Collector):
    """Read at scrape time from budget_api: how many events wait for the broker, since when.

    A growing backlog means the broker or the relay is down; nothing is lost meanwhile.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.app.app_context(), Session(db.engine) as session:
                status = outbox_status(session)
        except SQLAlchemyError as error:
            logger.warning("outbox backlog not measured: %s", error)
            return
        yield GaugeMetricFamily(
            "api_outbox_unpublished_events",
            "Committed events the broker has not accepted yet",
            value=status.unpublished,
        )
        oldest = status.oldest_unpublished_at
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "api_outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished event (0 when there is none)",
            value=age,
        )


def init_metrics(app: Flask) -> PrometheusMetrics:
    return metrics.init_metrics(
        app, path=METRICS_PATH, prefix="api", collectors=[OutboxBacklogCollector(app)]
    )
