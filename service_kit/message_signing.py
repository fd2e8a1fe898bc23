"""Signed task messages: every Celery application of the system signs what it sends and its
workers act only on what the task's own signer signed (event_contract: TASK_SIGNERS,
sign_task, verify_task).

A process holds the keys of what it may send and of what it consumes, each given as
BROKER_SIGNING_KEY_<SIGNER> or, from a secret file, BROKER_SIGNING_KEY_<SIGNER>_FILE. Sending a
task without its signer's key fails (the outbox keeps the event); a worker started without the
key of a task it consumes refuses to start; a message whose signature is missing or wrong is
logged and dropped before anything of it runs: not acted on, not retried.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Final

from celery import Celery, Task
from celery.app.amqp import AMQP
from celery.worker.strategy import default as default_strategy

from event_contract import (
    SIGNATURE_HEADER,
    SIGNERS,
    TASK_SIGNERS,
    UntrustedMessageError,
    sign_task,
    signing_key_setting,
    verify_task,
)

logger = logging.getLogger(__name__)

# For Celery(amqp=..., task_cls=...): the message factory that signs, the task that verifies.
SIGNING_AMQP: Final = "service_kit.message_signing:SigningAMQP"
VERIFIED_TASK: Final = "service_kit.message_signing:VerifiedTask"


class MessageSigningError(RuntimeError):
    """This process holds no key to sign the task it tried to send."""


@cache
def _file_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def signing_keys(environ: Mapping[str, str] = os.environ) -> dict[str, bytes]:
    """The keys this process holds, by signer."""
    keys = {}
    for signer in SIGNERS:
        setting = signing_key_setting(signer)
        inline = environ.get(setting)
        path = environ.get(f"{setting}_FILE")
        value = inline or (_file_text(path) if path else "")
        if value.strip():
            keys[signer] = value.strip().encode("utf-8")
    return keys


class SigningAMQP(AMQP):  # type: ignore[misc]  # Celery is untyped
    """Celery's message factory, signing every task message of the contract as it is made: a
    send, a retry, a countdown, beat's schedule alike."""

    def as_task_v2(self, task_id: str, name: str, *args: Any, **options: Any) -> Any:
        message = super().as_task_v2(task_id, name, *args, **options)
        signer = TASK_SIGNERS.get(name)
        if signer is None:
            return message  # not ours: unsigned, so no worker of ours acts on it
        key = signing_keys().get(signer)
        if key is None:
            raise MessageSigningError(
                f"cannot send {name}: this process holds no {signing_key_setting(signer)}"
            )
        task_args, task_kwargs, _embed = message.body
        message.headers[SIGNATURE_HEADER] = sign_task(key, name, task_id, task_args, task_kwargs)
        return message


def signing_celery(name: str, **options: Any) -> Celery:
    """A Celery application whose task messages are signed (a sender: beat, a client)."""
    return Celery(name, amqp=SIGNING_AMQP, **options)


def verified_strategy(task: Task, app: Celery, consumer: Any, **options: Any) -> Callable[..., Any]:
    """Celery's default strategy behind a check of the signature: a message that fails it is
    rejected (dropped, Redis has no dead letters) and logged, before a request exists."""
    handle = default_strategy(task, app, consumer, **options)
    keys = signing_keys()
    signer = TASK_SIGNERS.get(task.name)
    if signer is not None and signer not in keys:
        # Every message of the task would be dropped: the worker stops instead, naming the key.
        raise MessageSigningError(
            f"a worker of {task.name} needs {signing_key_setting(signer)} (or _FILE)"
        )

    def verify_then_handle(message: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        headers = message.headers or {}
        try:
            if body is not None:  # protocol 1: its headers are in the body, never ours
                raise UntrustedMessageError(f"{task.name}: not a message of protocol 2")
            task_args, task_kwargs, _embed = message.decode()
            verify_task(
                keys,
                str(headers.get("task")),
                headers.get("id"),
                task_args,
                task_kwargs,
                headers.get(SIGNATURE_HEADER),
            )
        except (UntrustedMessageError, ValueError, TypeError) as error:
            logger.error(
                "rejected task message %s[%s], not acted on: %s",
                headers.get("task"),
                headers.get("id"),
                error,
            )
            message.reject_log_error(logger, consumer.connection_errors)
            return None
        return handle(message, body, *args, **kwargs)

    return verify_then_handle


class VerifiedTask(Task):  # type: ignore[misc]  # Celery is untyped
    """A task that runs only from a message signed by its signer (verified_strategy)."""

    Strategy = "service_kit.message_signing:verified_strategy"
