"""Recovery: from a worker's SIGKILL, in the middle of a send, to the delivery of that message.

Each trial holds the system's worker off the queue, starts a second worker, and commits one
limit-crossing expense whose Telegram call the stand-in holds (the first message to a `held-`
chat is answered only after minutes). Once the call is in flight the second worker is SIGKILLed,
process group and all, like a lost container, and the system's worker takes the queue again:
the time until the message reaches the stand-in again is the recovery time (the delivery's lease
running out, then the sweep). Next to it, in the same run: the commit-to-message latency with no
crash, one event at a time.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

from bench.celery_round_trips import client as celery_client
from bench.celery_round_trips import hold_consumers, release_consumers
from bench.results import Better, Comparison, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError
from bench.scenarios.notifications import (
    CrossingEvent,
    await_messages,
    forget_earlier_runs,
    prepare_events,
)
from bench.settings import REPO_ROOT
from bench.stack import HELD_CHAT_PREFIX

NAME: Final = "recovery"
TITLE: Final = "Recovery after a worker's SIGKILL"
BASELINE_NAME: Final = "commit to message without a crash"
TRIALS: Final = 3
CALM_EVENTS: Final = 5
# The promise: delivered within a minute of a worker running again.
RECOVERY_GOAL: Final = Goal(ours_at_most=60.0)
WAIT_SECONDS: Final = 120.0
POLL_SECONDS: Final = 0.05


def calls_to(record_path: Path, chat_id: str) -> list[float]:
    """When each sendMessage to `chat_id` arrived at the stand-in (wall clock)."""
    arrivals = []
    for line in record_path.read_text(encoding="utf-8").splitlines():
        try:
            call = json.loads(line)
        except json.JSONDecodeError:
            continue
        if call.get("method") == "sendMessage" and str(call["payload"].get("chat_id")) == chat_id:
            arrivals.append(float(call["received_at"]))
    return arrivals


def wait_for_calls(record_path: Path, chat_id: str, count: int) -> list[float]:
    deadline = time.monotonic() + WAIT_SECONDS
    while len(arrivals := calls_to(record_path, chat_id)) < count:
        if time.monotonic() >= deadline:
            raise ScenarioFailedError(
                f"recovery: {len(arrivals)} of {count} calls to chat {chat_id} within"
                f" {WAIT_SECONDS:.0f}s"
            )
        time.sleep(POLL_SECONDS)
    return arrivals


def start_victim(context: BenchContext, tag: str) -> subprocess.Popen[bytes]:
    log_path = context.system.log_path.parent / f"recovery-worker-{tag}.log"
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q", "notifications",
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--hostname", f"recovery-{tag}@%h"],
            cwd=REPO_ROOT, env={**context.system.environment, "WORKER_METRICS_PORT": "0"},
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def trial(context: BenchContext, event: CrossingEvent, tag: str) -> float:
    """Seconds from the SIGKILL to the held message's delivery by the other worker."""
    controller = celery_client(context.system.broker_url)
    try:
        workers = hold_consumers(controller)
        victim = start_victim(context, tag)
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while len(controller.control.ping(timeout=1.0)) <= workers:
                if time.monotonic() >= deadline or victim.poll() is not None:
                    raise ScenarioFailedError("recovery: the second worker never answered")
            context.require(context.system.gateway, event.request)
            wait_for_calls(context.system.telegram_record_path, event.chat_id, 1)
            os.killpg(victim.pid, signal.SIGKILL)
            killed_at = time.time()
        finally:
            if victim.poll() is None:
                os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            release_consumers(controller, workers)
    finally:
        controller.close()
    arrivals = wait_for_calls(context.system.telegram_record_path, event.chat_id, 2)
    return arrivals[1] - killed_at


def run(context: BenchContext) -> ScenarioReport:
    forget_earlier_runs(context)
    tag = secrets.token_hex(3)

    calm = []
    for event in prepare_events(context, CALM_EVENTS, f"calm-{tag}"):
        committed_at = time.time()
        context.require(context.system.gateway, event.request)
        calm.append(
            await_messages(context, [event], "recovery, no crash")[event.chat_id] - committed_at
        )

    recoveries = []
    for number, event in enumerate(prepare_events(context, TRIALS, f"{HELD_CHAT_PREFIX}{tag}")):
        seconds = trial(context, event, f"{tag}-{number}")
        context.say(f"recovery, trial {number + 1}: delivered {seconds:.1f}s after the SIGKILL")
        recoveries.append(seconds)

    return ScenarioReport(
        name=NAME,
        title=TITLE,
        comparisons={
            "recovery": Comparison(
                f"SIGKILL mid-send to delivery, median of {TRIALS}",
                "s",
                statistics.median(recoveries),
                statistics.median(calm),
                Better.LOWER,
                BASELINE_NAME,
                RECOVERY_GOAL,
            ),
        },
        details={
            "recovery_seconds": [round(seconds, 2) for seconds in recoveries],
            "no_crash_commit_to_message_seconds": [round(seconds, 3) for seconds in calm],
            "delivery_lease_seconds": float(
                context.system.environment.get("DELIVERY_LEASE_SECONDS", "30")
            ),
        },
    )
