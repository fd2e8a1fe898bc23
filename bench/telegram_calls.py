"""Reading what the Telegram stand-in received, from the JSON lines it records as it goes."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from pathlib import Path
from typing import Final

POLL_SECONDS: Final = 0.05


class MessageLog:
    """The stand-in's record file, read on from where the last look stopped.

    A waiter polls it many times a second while the system under test works on the same cores:
    reading the whole file again at every look would cost the harness more with every message
    (it once took a tenth of a core during a drain), and the baseline pays nothing like it.
    """

    def __init__(self, record_path: Path) -> None:
        self._record_path = record_path
        self._offset = 0
        # chat_id -> when the first successfully answered sendMessage for it arrived (wall clock).
        self.delivered: dict[str, float] = {}

    def read_new(self) -> dict[str, float]:
        """Take in the lines written since the last call; returns `delivered`."""
        try:
            with self._record_path.open("rb") as record:
                record.seek(self._offset)
                chunk = record.read()
        except FileNotFoundError:
            return self.delivered
        # Only whole lines: the stand-in may be writing the last one right now.
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            try:
                call = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (
                call.get("method") != "sendMessage"
                or not 200 <= call.get("response_status", 0) < 300
            ):
                continue
            chat_id = str(call.get("payload", {}).get("chat_id"))
            self.delivered.setdefault(chat_id, float(call["received_at"]))
        return self.delivered


def delivered_messages(record_path: Path) -> dict[str, float]:
    """chat_id -> when the first successfully answered sendMessage for it arrived (wall clock)."""
    return MessageLog(record_path).read_new()


def wait_for_messages(
    record_path: Path, chat_ids: Collection[str], timeout_seconds: float
) -> dict[str, float]:
    """Messages to `chat_ids`, waiting until all arrived or the timeout passed (never longer)."""
    wanted = set(chat_ids)
    log = MessageLog(record_path)
    deadline = time.monotonic() + timeout_seconds
    while True:
        delivered = log.read_new()
        arrived = {chat_id: at for chat_id, at in delivered.items() if chat_id in wanted}
        if len(arrived) == len(wanted) or time.monotonic() >= deadline:
            return arrived
        time.sleep(POLL_SECONDS)
