"""Signed task messages: a Celery application signs every task message it makes, and a worker
acts only on a message its task's own signer signed. Which signer signs which task, and how, is
the contract's business (event_contract.TASK_SIGNATURES, handed in as `signatures`); this module
is the Celery side of it.

A process holds the keys of what it may send and of what it consumes, each given as a setting the
signatures name (BROKER_SIGNING_KEY_<SIGNER>) or its _FILE. Sending a task without its signer's key
fails (the outbox keeps the event); a worker started without the key of a task it consumes
refuses to start; a message whose signature is missing or wrong is logged and dropped before
anything of it runs: not acted on, not retried.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final, Protocol

from celery import Celery, Task
from celery.app.amqp import AMQP
from celery.worker.strategy import default as default_strategy

logger = logging.getLogger(__name__)

# For Celery(amqp=..., task_cls=...): the message factory that signs, the task that verifies.
SIGNING_AMQP: Final = "service_kit.message_signing:SigningAMQP"
VERIFIED_TASK: Final = "service_kit.message_signing:VerifiedTask"
# Where an app keeps its signatures (app.conf).
SIGNATURES_SETTING: Final = "task_signatures"


class Signatures(Protocol):
    """Who signs each task and how (event_contract.TaskSignatures)."""

    @property
    def header(self) -> str:
        """The task message header that carries the signature."""

    @property
    def signers(self) -> frozenset[str]: ...

    def signer_of(self, task: str) -> str | None: ...

    def key_setting(self, signer: str) -> str: ...

    def sign(
        self, key: bytes, task: str, task_id: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def verify(
        self,
        keys: Mapping[str, bytes],
        task: str,
        task_id: object,
        args: object,
        kwargs: object,
        signature: object,
    ) -> None:
        """Raise ValueError unless `signature` is the task's own signer's over this message."""


class MessageSigningError(RuntimeError):
    """This process holds no key to sign the task it tried to send, or to check what it
    consumes."""


@cache
def _file_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def signing_keys(
    signatures: Signatures, environ: Mapping[str, str] = os.environ
) -> dict[str, bytes]:
    """The keys this process holds, by signer."""
    keys = {}
    for signer in signatures.signers:
        setting = signatures.key_setting(signer)
        inline = environ.get(setting)
        path = environ.get(f"{setting}_FILE")
        value = inline or (_file_text(path) if path else "")
        if value.strip():
            keys[signer] = value.strip().encode("utf-8")
    return keys


def with_signatures(app: Celery, signatures: Signatures) -> Celery:
    app.conf[SIGNATURES_SETTING] = signatures
    return app


def signing_celery(name: str, signatures: Signatures, **options: Any) -> Celery:
    """A Celery application whose task messages are signed (a sender: beat, a client)."""
    return with_signatures(Celery(name, amqp=SIGNING_AMQP, **options), signatures)


class SigningAMQP(AMQP):  # type: ignore[misc]  # Celery is untyped
    """Celery's message factory, signing every task message of the contract as it is made: a
    send, a retry, a countdown, beat's schedule alike."""

    def as_task_v2(self, task_id: str, name: str, *args: Any, **options: Any) -> Any:
        message = super().as_task_v2(task_id, name, *args, **options)
        signatures: Signatures = self.app.conf[SIGNATURES_SETTING]
        signer = signatures.signer_of(name)
        if signer is None:
            return message  # not ours: unsigned, so no worker of ours acts on it
        key = signing_keys(signatures).get(signer)
        if key is None:
            raise MessageSigningError(
                f"cannot send {name}: this process holds no {signatures.key_setting(signer)}"
            )
        task_args, task_kwargs, _embed = message.body
        message.headers[signatures.header] = signatures.sign(
            key, name, task_id, task_args, task_kwargs
        )
        return message


def verified_strategy(task: Task, app: Celery, consumer: Any, **options: Any) -> Callable[..., Any]:
    """Celery's default strategy behind a check of the signature: a message that fails it is
    rejected (dropped, Redis has no dead letters) and logged, before a request exists."""
    handle = default_strategy(task, app, consumer, **options)
    signatures: Signatures = app.conf[SIGNATURES_SETTING]
    keys = signing_keys(signatures)
    signer = signatures.signer_of(task.name)
    if signer is not None and signer not in keys:
        # Every message of the task would be dropped: the worker stops instead, naming the key.
        raise MessageSigningError(
            f"a worker of {task.name} needs {signatures.key_setting(signer)} (or _FILE)"
        )

    def verify_then_handle(message: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        headers = message.headers or {}
        try:
            if body is not None:  # protocol 1: its headers are in the body, never ours
                raise ValueError(f"{task.name}: not a message of protocol 2")
            task_args, task_kwargs, _embed = message.decode()
            signatures.verify(
                keys,
                str(headers.get("task")),
                headers.get("id"),
                task_args,
                task_kwargs,
                headers.get(signatures.header),
            )
        except (ValueError, TypeError) as error:
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
