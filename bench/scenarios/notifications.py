"""Notification pipeline: limit-crossing transactions until Telegram (the stand-in) has them.

Each event is one user's expense that takes a category over its monthly limit: commit, outbox,
broker, worker, delivery log, HTTP to the stand-in. Two measurements, each against the bare
Celery round trip (bench/celery_round_trips.py) through the same broker and worker process:

- throughput, as a drain: the worker is held off the queue while the N transactions are
  committed through the API (their events published to the broker as they commit), then let go;
  events per second from then until the last message, against no-op tasks drained the same way,
  in BENCH_ROUNDS alternating rounds.
  Holding the worker is what makes this the pipeline's pace and not the API's: a burst of POSTs
  commits events no faster than the write path allows, and the pipeline keeps up with that.
- latency, at a light steady rate: from each transaction's 201 (its commit came just before)
  until its message reached the stand-in, against the round trip of a no-op task at that rate.

Users are made fresh for every run, so no event is ever a duplicate of an earlier run's.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

import psycopg2  # type: ignore[import-untyped, unused-ignore]

from bench import dataset
from bench.celery_round_trips import (
    RoundTripPlan,
    RoundTrips,
    hold_consumers,
    release_consumers,
    run_round_trips,
)
from bench.celery_round_trips import client as celery_client
from bench.child import run_in_child_process
from bench.loadgen import HttpRequest, LoadResult
from bench.results import Better, Comparison, Goal, ScenarioReport
from bench.scenarios.context import (
    BenchContext,
    ScenarioFailedError,
    ScenarioUnavailableError,
    json_request,
)
from bench.stack import BARE_APP_PROCESS, GATEWAY_PROCESS, TELEGRAM_PROCESS
from bench.stats import summarize_latencies
from bench.telegram_calls import wait_for_messages

NAME: Final = "notifications"
TITLE: Final = "Notifications"
BASELINE_NAME: Final = "bare Celery no-op round trip"
USER_PREFIX: Final = "bench-notify-"
LIMIT: Final = Decimal("10.00")
CROSSING_AMOUNT: Final = "25.00"
THROUGHPUT_GOAL: Final = Goal(ratio_at_least=0.5)
LATENCY_GOAL: Final = Goal(ours_at_most=500.0)
PROBE_TIMEOUT_SECONDS: Final = 20.0
# Bounds of the waits for messages, on top of one second per this many events.
MESSAGE_WAIT_SECONDS: Final = 30.0
EVENTS_PER_WAIT_SECOND: Final = 5
STEADY_CONNECTIONS: Final = 2
NOT_PIPELINE: Final = frozenset({GATEWAY_PROCESS, BARE_APP_PROCESS, TELEGRAM_PROCESS})
MIN_STEADY_EVENTS: Final = 10
ROUND_TRIP_TIMEOUT_SECONDS: Final = 120.0


@dataclass(frozen=True)
class CrossingEvent:
    chat_id: str
    request: HttpRequest


def prepare_events(context: BenchContext, count: int, tag: str) -> list[CrossingEvent]:
    """`count` users, each one expense away from crossing a category's limit this month."""
    system = context.system
    month = date.today().replace(day=1)
    users: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    with dataset.transaction(system.api_database_url) as cursor:
        for number in range(count):
            email = dataset.bench_email(f"{USER_PREFIX}{tag}-{number}")
            user_id = dataset.ensure_user(cursor, email)
            category_id = dataset.ensure_category(cursor, user_id, "bench limit")
            dataset.ensure_budget_limit(cursor, user_id, month, category_id, LIMIT)
            users.append((user_id, category_id, f"{tag}-{number}"))
    with dataset.transaction(system.notify_database_url) as cursor:
        for user_id, _, chat_id in users:
            dataset.upsert_notification_settings(cursor, user_id, chat_id)
    tokens = context.access_tokens(user_id for user_id, _, _ in users)
    body_base = {"type": "EXPENSE", "amount": CROSSING_AMOUNT, "date": date.today().isoformat()}
    return [
        CrossingEvent(
            chat_id,
            json_request(
                "POST",
                "/api/transactions",
                {**body_base, "category_id": str(category_id), "description": "over the limit"},
                token=tokens[user_id],
                expected_status=201,
            ),
        )
        for user_id, category_id, chat_id in users
    ]


def forget_earlier_runs(context: BenchContext) -> None:
    with dataset.transaction(context.system.api_database_url) as cursor:
        user_ids = dataset.delete_bench_users(cursor, USER_PREFIX)
    try:
        with dataset.transaction(context.system.notify_database_url) as cursor:
            dataset.delete_notification_settings(cursor, user_ids)
    except psycopg2.IntegrityError as error:
        # Whatever refers to them (a delivery log) keeps them; they harm nothing.
        context.say(f"notifications: kept earlier runs' settings ({error.pgerror})")


def message_wait_seconds(count: int) -> float:
    return MESSAGE_WAIT_SECONDS + count / EVENTS_PER_WAIT_SECOND


def send_transactions(
    context: BenchContext, events: Sequence[CrossingEvent], label: str, rate: float | None
) -> LoadResult:
    duration = len(events) / rate + 5 if rate is not None else ROUND_TRIP_TIMEOUT_SECONDS
    plan = context.plan(
        context.system.gateway,
        [event.request for event in events],
        connections=STEADY_CONNECTIONS if rate is not None else None,
        duration_seconds=duration,
        warmup_seconds=0,
        max_requests=len(events),
        rate_per_second=rate,
    )
    return context.load(plan, label)


def await_messages(
    context: BenchContext, events: Sequence[CrossingEvent], label: str
) -> dict[str, float]:
    """chat_id -> arrival of every event's message; fail if any is missing after the wait."""
    wait_seconds = message_wait_seconds(len(events))
    arrived = wait_for_messages(
        context.system.telegram_record_path, [event.chat_id for event in events], wait_seconds
    )
    if len(arrived) < len(events):
        raise ScenarioFailedError(
            f"{label}: {len(arrived)} of {len(events)} messages reached the Telegram stand-in"
            f" within {wait_seconds:.0f}s"
        )
    return arrived


def drain(
    context: BenchContext, events: Sequence[CrossingEvent], profiles: dict[str, Any] | None
) -> float:
    """Seconds through the pipeline, from the worker's release to the last message.

    With `profiles`, the pipeline's processes are profiled meanwhile (BENCH_PROFILE)."""
    controller = celery_client(context.system.broker_url)
    try:
        workers = hold_consumers(controller)
        try:
            send_transactions(context, events, "notifications, drain: transactions", rate=None)
        except BaseException:
            release_consumers(controller, workers)
            raise
        # Every process of `make run` but the gateway: the relay, if there is one, and the worker.
        pipeline = [name for name in context.system.processes if name not in NOT_PIPELINE]
        profiling = (
            context.profiling(pipeline, NAME, profiles)
            if profiles is not None
            else contextlib.nullcontext()
        )
        with profiling:
            context.say(f"notifications, drain: worker released with {len(events)} events queued")
            released_at = time.time()
            release_consumers(controller, workers)
            arrived = await_messages(context, events, "notifications, drain")
    finally:
        controller.close()
    return max(arrived.values()) - released_at


def round_trips(context: BenchContext, count: int, rate: float | None) -> RoundTrips:
    label = "at a steady rate" if rate is not None else "drained"
    context.say(f"notifications, {BASELINE_NAME}: {count} {label}")
    plan = RoundTripPlan(context.system.broker_url, count, rate, ROUND_TRIP_TIMEOUT_SECONDS)
    return run_in_child_process(
        run_round_trips,
        plan,
        timeout_seconds=ROUND_TRIP_TIMEOUT_SECONDS + 30,
        sampler=context.sampler,
        process_type="Celery baseline client",
    )


def pipeline_latencies(
    events: Sequence[CrossingEvent], result: LoadResult, arrived: dict[str, float]
) -> list[float]:
    """Per event: its message's arrival minus the moment its transaction's 201 came back."""
    committed = {record.index: record.finished_at for record in result.records}
    return [arrived[event.chat_id] - committed[index] for index, event in enumerate(events)]


def run(context: BenchContext) -> ScenarioReport:
    settings = context.settings
    forget_earlier_runs(context)
    tag = secrets.token_hex(3)

    [probe] = prepare_events(context, 1, f"{tag}-probe")
    context.require(context.system.gateway, probe.request)
    if not wait_for_messages(
        context.system.telegram_record_path, [probe.chat_id], PROBE_TIMEOUT_SECONDS
    ):
        raise ScenarioUnavailableError(
            f"no Telegram message within {PROBE_TIMEOUT_SECONDS:.0f}s of a limit-crossing"
            " transaction (limit-crossing events not wired to delivery in this build)"
        )

    # Alternating rounds, as every comparison: a drain lasts seconds, and a noisy neighbour's
    # burst in one of them would otherwise decide the ratio. Each side: all its events over all
    # its seconds. Only the first round is profiled (py-spy's own load would tilt the rest).
    count = settings.notification_events
    profiles: dict[str, Any] = {}
    ours_seconds: list[float] = []
    baseline_seconds: list[float] = []
    for number in range(settings.rounds):
        events = prepare_events(context, count, f"{tag}-drain{number}")
        ours_seconds.append(drain(context, events, profiles if number == 0 else None))
        baseline = round_trips(context, count, rate=None)
        baseline_seconds.append(count / baseline.drain_per_second())
    ours_per_second = count * settings.rounds / sum(ours_seconds)
    baseline_per_second = count * settings.rounds / sum(baseline_seconds)

    rate = settings.notification_rate
    steady_count = max(MIN_STEADY_EVENTS, round(rate * settings.duration_seconds))
    steady = prepare_events(context, steady_count, f"{tag}-steady")
    steady_result = send_transactions(context, steady, "notifications, steady", rate=rate)
    steady_arrived = await_messages(context, steady, "notifications, steady")
    ours_latency = summarize_latencies(pipeline_latencies(steady, steady_result, steady_arrived))
    baseline_latency = summarize_latencies(round_trips(context, steady_count, rate).latencies())
    return ScenarioReport(
        name=NAME,
        title=TITLE,
        comparisons={
            "throughput": Comparison(
                f"{count} limit-crossing events drained, events/s",
                "events/s",
                ours_per_second,
                baseline_per_second,
                Better.HIGHER,
                BASELINE_NAME,
                THROUGHPUT_GOAL,
            ),
            "steady_latency_p95": Comparison(
                f"p95 commit to message at {rate:g} events/s",
                "ms",
                ours_latency.p95_ms,
                baseline_latency.p95_ms,
                Better.LOWER,
                BASELINE_NAME,
                LATENCY_GOAL,
            ),
        },
        details={
            "events": count,
            "drain_rounds": [
                {"ours_seconds": ours, "baseline_seconds": baseline}
                for ours, baseline in zip(ours_seconds, baseline_seconds, strict=True)
            ],
            "steady_events": steady_count,
            "steady_rate_per_second": rate,
            "steady": {
                "transactions": steady_result.as_json(),
                "commit_to_message_latency": ours_latency.as_json(),
                "baseline_round_trip_latency": baseline_latency.as_json(),
            },
            "profiles": profiles,
        },
    )
