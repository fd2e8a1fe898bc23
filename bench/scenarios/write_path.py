"""Write path: POST /api/transactions against a bare Flask + psycopg2 insert of the same row.

Both sides send the same requests (the bare app also gets the Authorization header, and ignores
it) in turns over WRITERS users, and both insert into the same table of the same database.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from bench import dataset
from bench.loadgen import HttpRequest, LoadResult
from bench.results import Better, Comparison, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError, json_request
from bench.stack import GATEWAY_PROCESS

NAME: Final = "write_path"
TITLE: Final = "Write path"
BASELINE_NAME: Final = "bare Flask + psycopg2"
THROUGHPUT_GOAL: Final = Goal(ratio_at_least=0.6)
TRANSACTION_DATE: Final = date(2024, 5, 15)
UNREACHABLE_LIMIT: Final = Decimal("9999999999.00")
# Requests take turns over this many users, as many users' requests would: no single
# category-month collects the whole run's rows, and row locks rarely meet.
WRITERS: Final = 100


@dataclass(frozen=True)
class Writer:
    user_id: uuid.UUID
    category_id: uuid.UUID


def prepare_writers(api_database_url: str) -> list[Writer]:
    """WRITERS users, each with one budgeted category and no transactions yet."""
    month = TRANSACTION_DATE.replace(day=1)
    writers = []
    with dataset.transaction(api_database_url) as cursor:
        for number in range(WRITERS):
            user_id = dataset.ensure_user(cursor, dataset.bench_email(f"bench-writer-{number}"))
            category_id = dataset.ensure_category(cursor, user_id, "bench writes")
            # Like most expenses: in a budgeted category, far from its limit, so the
            # limit check does all its work and emits nothing.
            dataset.ensure_budget_limit(cursor, user_id, month, category_id, UNREACHABLE_LIMIT)
            dataset.delete_transactions(cursor, user_id)
            writers.append(Writer(user_id, category_id))
    return writers


def transaction_row(writer: Writer) -> dict[str, str]:
    return {
        "category_id": str(writer.category_id),
        "type": "EXPENSE",
        "amount": "12.50",
        "date": TRANSACTION_DATE.isoformat(),
        "description": "bench write",
    }


def write_requests(writers: list[Writer], tokens: Mapping[uuid.UUID, str]) -> list[HttpRequest]:
    """Each writer's POST /api/transactions, with its token."""
    return [
        json_request(
            "POST", "/api/transactions", transaction_row(writer),
            token=tokens[writer.user_id], expected_status=201,
        )
        for writer in writers
    ]  # fmt: skip


def count_written(context: BenchContext, writers: list[Writer]) -> int:
    with dataset.transaction(context.system.api_database_url) as cursor:
        return sum(dataset.count_transactions(cursor, writer.user_id) for writer in writers)


def run(context: BenchContext) -> ScenarioReport:
    system = context.system
    writers = prepare_writers(system.api_database_url)
    tokens = context.access_tokens(writer.user_id for writer in writers)
    ours = write_requests(writers, tokens)
    baseline: list[HttpRequest] = []
    for writer in writers:
        row = transaction_row(writer)
        token = tokens[writer.user_id]
        baseline.append(
            json_request(
                "POST", "/transactions", {**row, "user_id": str(writer.user_id)},
                token=token, expected_status=201,
            )
        )  # fmt: skip
    context.require(system.gateway, ours[0])
    context.require(system.bare_app, baseline[0])

    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        ours_result, baseline_result = context.load_in_turns(
            lambda warmup, measured: context.plan(
                system.gateway, ours, warmup_seconds=warmup, duration_seconds=measured
            ),
            lambda warmup, measured: context.plan(
                system.bare_app, baseline, warmup_seconds=warmup, duration_seconds=measured
            ),
            "write path",
            BASELINE_NAME,
        )

    rows = count_written(context, writers)
    # Every 201 must be a row: the two probes and each successful request of both runs.
    answered = 2 + sum(record.ok for record in (*ours_result.records, *baseline_result.records))
    if rows < answered:
        raise ScenarioFailedError(f"{answered} inserts answered 201 but {rows} rows exist")

    return ScenarioReport(
        name=NAME,
        title=TITLE,
        comparisons=write_comparisons(ours_result, baseline_result),
        details={
            "workers": context.settings.workers,
            "connections": context.settings.connections,
            "rounds": context.settings.rounds,
            "writers": WRITERS,
            "ours": ours_result.as_json(),
            "baseline": baseline_result.as_json(),
            "profiles": profiles,
        },
    )


def write_comparisons(ours: LoadResult, baseline: LoadResult) -> dict[str, Comparison]:
    ours_latency, baseline_latency = ours.latency_summary(), baseline.latency_summary()
    return {
        "throughput": Comparison(
            "POST /api/transactions, requests/s",
            "req/s",
            ours.requests_per_second,
            baseline.requests_per_second,
            Better.HIGHER,
            BASELINE_NAME,
            THROUGHPUT_GOAL,
        ),
        "latency_p50": Comparison(
            "p50 latency", "ms", ours_latency.p50_ms, baseline_latency.p50_ms, Better.LOWER,
            BASELINE_NAME,
        ),
        "latency_p99": Comparison(
            "p99 latency", "ms", ours_latency.p99_ms, baseline_latency.p99_ms, Better.LOWER,
            BASELINE_NAME,
        ),
    }  # fmt: skip
