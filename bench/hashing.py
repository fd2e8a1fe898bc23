"""The bare baseline of the auth scenario: argon2id verifications, nothing else.

The same stored hash and password a login verifies, checked in a loop by as many threads as the
gateway has workers (argon2-cffi releases the interpreter lock while it hashes, so threads run in
parallel), for a fixed time: how many logins per second the hash alone allows on this machine
right now, with whatever else the run has on its cores.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher

SINGLE_TIMING_ROUNDS: Final = 10


@dataclass(frozen=True)
class HashingPlan:
    password_hash: str
    password: str
    threads: int
    duration_seconds: float


def verification_seconds(password_hash: str, password: str) -> float:
    """Median time of one verification, alone, on one core."""
    hasher = PasswordHasher()
    timings = []
    for _ in range(SINGLE_TIMING_ROUNDS):
        started = time.perf_counter()
        hasher.verify(password_hash, password)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def verifications_per_second(plan: HashingPlan) -> float:
    """Entry point in the load-generator process: `plan.threads` verifying side by side."""
    hasher = PasswordHasher()
    counts = [0] * plan.threads
    started = time.perf_counter()
    deadline = started + plan.duration_seconds

    def verify_until_deadline(slot: int) -> None:
        while time.perf_counter() < deadline:
            hasher.verify(plan.password_hash, plan.password)
            counts[slot] += 1

    threads = [
        threading.Thread(target=verify_until_deadline, args=(slot,)) for slot in range(plan.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)
