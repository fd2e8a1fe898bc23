"""Hands a delivery to the notifications worker (event_contract.DeliveryDue)."""

from __future__ import annotations

import uuid

from event_contract import SEND_DELIVERY_TASK, DeliveryDue
from notify_app.broker import QueueUnavailableError, task_sender

__all__ = ["QueueUnavailableError", "send_delivery"]


def send_delivery(
    delivery_id: uuid.UUID, *, countdown: float | None = None, again: bool = False
) -> None:
    """Have a worker send the delivery, `countdown` seconds from now if given.

    `again`: a later hand-over (a wait, the sweep) rather than the first one.
    """
    task_sender().send(
        SEND_DELIVERY_TASK,
        DeliveryDue(delivery_id).to_args(),
        # The first hand-over carries the delivery's id; later ones (waits, the sweep) get ids
        # of their own, so each shows up in the worker's log.
        task_id=None if again else str(delivery_id),
        countdown=countdown,
    )
