"""One JSON object per log line (or plain text for humans), with the request id and user id.

The request id comes from X-Request-ID or is generated per request (see request_ids.py); it is
also carried inside every event, so the worker's log line for a delivery names the same id.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import current_app, has_app_context

from service_kit.request_ids import current_request_id, current_user_id

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(service)s [%(request_id)s] %(name)s: %(message)s"


class ContextFilter(logging.Filter):
    """Stamps each record with the service name and the current request and user ids.

    The service is the app handling the record (the gateway process serves two), else the
    process's own name (worker, relay).
    """

    def __init__(self, process_service: str) -> None:
        super().__init__()
        self.process_service = process_service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = (
            current_app.config.get("SERVICE_NAME", self.process_service)
            if has_app_context()
            else self.process_service
        )
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        if not getattr(record, "user_id", None):
            record.user_id = current_user_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ServiceLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler this module installs on the root logger (found again by its class)."""


def configure_logging(service: str, log_format: str, level: str = "INFO") -> None:
    """Route every logger through one handler on stderr; calling it again replaces it."""
    handler = ServiceLogHandler(sys.stderr)
    handler.addFilter(ContextFilter(service))
    handler.setFormatter(
        logging.Formatter(TEXT_FORMAT) if log_format == "text" else JsonFormatter()
    )
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, ServiceLogHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
