"""Thin Celery tasks: each takes ids or small payloads and calls into notify_app."""

from __future__ import annotations

from worker.app import celery_app


@celery_app.task(name="notifications.ping", ignore_result=False)
def ping(token: str) -> str:
    """A no-op round trip: proves a worker is consuming the notifications queue."""
    return token
