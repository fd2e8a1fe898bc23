"""Celery as both services use it: a worker application per queue, configured the same way, and
a send-only client for web processes and the relay that must fail fast on a down broker.

Visibility timeout: Redis has no acknowledgements of its own, so a task taken by a worker that
then vanished (killed with its pool, machine gone) is handed out again once it has been
unacknowledged for BROKER_VISIBILITY_TIMEOUT_SECONDS. Every consumer of one queue shares its set
of unacknowledged tasks, and whichever scans it first hands back everything older than its own
timeout: every worker must use the same value, so it is read here, once. It can be
short because no task holds a message long; countdowns are capped at a third of it
(max_countdown_seconds), since a task held longer than the timeout would be handed out twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue  # type: ignore[attr-defined]

from service_kit import config
from service_kit.logs import configure_logging
from service_kit.message_signing import SIGNING_AMQP, VERIFIED_TASK, Signatures, with_signatures


class BrokerUnavailableError(Exception):
    """The broker did not take the task."""


def broker_url(environ: Mapping[str, str] = os.environ) -> str:
    """BROKER_URL with its user's password (BROKER_PASSWORD or _FILE) for a Celery app.

    The `celery` command reads BROKER_URL as its --broker option and puts it, without the
    password, into CELERY_BROKER_URL, which would win over the app's broker_url: forgotten
    here, so the app's URL, with its password, is the one used."""
    if os.environ.get("CELERY_BROKER_URL") == environ.get("BROKER_URL"):
        os.environ.pop("CELERY_BROKER_URL", None)
    return config.broker_url(environ)


def visibility_timeout_seconds(environ: Mapping[str, str] = os.environ) -> int:
    return int(environ.get("BROKER_VISIBILITY_TIMEOUT_SECONDS", "30"))


def max_countdown_seconds(environ: Mapping[str, str] = os.environ) -> int:
    """The longest countdown a task may wait unacknowledged: a third of the visibility timeout."""
    return max(1, visibility_timeout_seconds(environ) // 3)


def worker_app(
    name: str,
    *,
    queue: str,
    imports: Sequence[str],
    service: str,
    signatures: Signatures,
    keep_results: bool = False,
    control_exchange: str | None = None,
) -> Celery:
    """A worker's Celery application, consuming `queue`, logging as `service`.

    A task is acknowledged only after it ran, and a task whose worker died is redelivered:
    together with idempotent tasks, nothing is lost to a crash. `keep_results` keeps results in
    the broker's Redis for five minutes (for a ping round trip); `control_exchange` gives the
    worker remote control of its own, so a broadcast meant for another worker pool never makes
    this one take tasks it does not know.
    """
    url = broker_url()
    visibility_timeout = visibility_timeout_seconds()
    # It signs what it sends (retries, re-enqueued deliveries) and acts only on signed messages.
    app = with_signatures(Celery(name, amqp=SIGNING_AMQP, task_cls=VERIFIED_TASK), signatures)
    app.conf.update(
        broker_url=url,
        task_ignore_result=True,
        task_default_queue=queue,
        task_queues=[Queue(queue)],  # type: ignore[no-untyped-call]
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            # How often a worker looks for abandoned tasks: a fraction of the timeout, at most a
            # minute.
            "unacked_restore_interval": min(60, max(1, visibility_timeout // 4)),
            # Scan on every sweep (kombu's default only scans on every tenth).
            "unacked_restore_throttle": 1,
            # Each queue's taken tasks under keys of its own, so a worker restores only its
            # queue's, and only its Redis user may touch them (deploy/redis/users.acl).
            "unacked_key": f"unacked.{queue}",
            "unacked_index_key": f"unacked_index.{queue}",
            "unacked_mutex_key": f"unacked_mutex.{queue}",
        },
        worker_hijack_root_logger=False,
        imports=list(imports),
    )
    if keep_results:
        app.conf.update(result_backend=url, result_expires=300)
    if control_exchange is not None:
        app.conf.control_exchange = control_exchange
    _log_like_the_services(service)
    return app


def _log_like_the_services(service: str) -> None:
    def use_service_logging(**_: Any) -> None:
        """Celery's own logging setup is replaced by the services' one-line-per-record format."""
        configure_logging(
            service, os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO")
        )

    # A strong reference: the receiver lives as long as the process, not as this function.
    setup_logging.connect(use_service_logging, weak=False)


class BrokerClient:
    """A Celery *client*: it only sends tasks by name, with short timeouts and no retries.

    A request waiting on a send (an event just committed, a test message) must cost about
    `timeout_seconds` when Redis is down, not Celery's default minutes of reconnecting; retrying
    is the caller's business (the outbox relay, the delivery sweep).
    """

    def __init__(
        self, name: str, broker_url: str, *, timeout_seconds: float, signatures: Signatures
    ) -> None:
        # set_as_current=False: a client must never become the process's default Celery app
        # (in the worker's tests both live in one process).
        self._celery = with_signatures(
            Celery(name, broker=broker_url, set_as_current=False, amqp=SIGNING_AMQP), signatures
        )
        self._celery.conf.update(
            broker_connection_timeout=timeout_seconds,
            broker_connection_retry=False,
            broker_transport_options={
                "socket_connect_timeout": timeout_seconds,
                "socket_timeout": timeout_seconds,
                # kombu would otherwise reconnect with growing pauses before giving up.
                "max_retries": 0,
            },
            task_serializer="json",
            accept_content=["json"],
        )

    def send(
        self,
        task: str,
        args: Sequence[Any],
        *,
        queue: str,
        task_id: str | None = None,
        countdown: float | None = None,
    ) -> None:
        """Send one task message; raise BrokerUnavailableError if the broker did not take it."""
        try:
            self._celery.send_task(
                task,
                args=list(args),
                queue=queue,
                task_id=task_id,
                countdown=countdown,
                retry=False,
            )
        except Exception as error:
            # Whatever kombu, redis-py or the socket raised, the message did not get through.
            raise BrokerUnavailableError(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        self._celery.close()
