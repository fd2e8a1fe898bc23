"""Reading what the Telegram stand-in received, from the JSON lines it records as it goes."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from pathlib import Path
from typing import Final

POLL_SECONDS: Final = 0.05


def delivered_messages(record_path: Path) -> dict[str, float]:
    """chat_id -> when the first successfully answered sendMessage for it arrived (wall clock)."""
    received: dict[str, float] = {}
    try:
        lines = record_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return received
    for line in lines:
        try:
            call = json.loads(line)
        except json.JSONDecodeError:
            continue  # the stand-in is writing this line right now
        if call.get("method") != "sendMessage" or not 200 <= call.get("response_status", 0) < 300:
            continue
        chat_id = str(call.get("payload", {}).get("chat_id"))
        received.setdefault(chat_id, float(call["received_at"]))
    return received


def wait_for_messages(
    record_path: Path, chat_ids: Collection[str], timeout_seconds: float
) -> dict[str, float]:
    """Messages to `chat_ids`, waiting until all arrived or the timeout passed (never longer)."""
    wanted = set(chat_ids)
    deadline = time.monotonic() + timeout_seconds
    while True:
        arrived = {
            chat_id: at for chat_id, at in delivered_messages(record_path).items()
            if chat_id in wanted
        }  # fmt: skip
        if len(arrived) == len(wanted) or time.monotonic() >= deadline:
            return arrived
        time.sleep(POLL_SECONDS)
