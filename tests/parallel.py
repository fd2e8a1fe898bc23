"""`in_parallel`: the one way a test runs things at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_parallel(*actions: Callable[[], T]) -> list[T]:
    """Run each action in a thread of its own, all released at once; their results in order.

    The threads wait at a barrier until every one of them is ready, so the actions truly
    overlap instead of running one after the other as threads start. An action's exception is
    raised here, in the test's thread, where it fails the test.
    """
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], T]) -> T:
        start.wait()
        return action()

    with ThreadPoolExecutor(len(actions)) as pool:
        futures = [pool.submit(run, action) for action in actions]
        return [future.result() for future in futures]
