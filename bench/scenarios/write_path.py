"""Write path: POST /api/transactions against a bare Flask + psycopg2 insert of the same row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final

from bench import dataset
from bench.loadgen import LoadResult
from bench.results import Better, Comparison, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError, json_request
from bench.stack import GATEWAY_PROCESS

NAME: Final = "write_path"
TITLE: Final = "Write path"
BASELINE_NAME: Final = "bare Flask + psycopg2"
THROUGHPUT_GOAL: Final = Goal(ratio_at_least=0.6)
TRANSACTION_DATE: Final = date(2024, 5, 15)
UNREACHABLE_LIMIT: Final = Decimal("9999999999.00")


def run(context: BenchContext) -> ScenarioReport:
    system = context.system
    with dataset.transaction(system.api_database_url) as cursor:
        user_id = dataset.ensure_user(cursor, dataset.bench_email("bench-writer"))
        category_id = dataset.ensure_category(cursor, user_id, "bench writes")
        # Like most of a user's expenses: in a budgeted category, far from its limit.
        month = TRANSACTION_DATE.replace(day=1)
        dataset.ensure_budget_limit(cursor, user_id, month, category_id, UNREACHABLE_LIMIT)
        dataset.delete_transactions(cursor, user_id)
    [token] = context.access_tokens([user_id]).values()

    row = {
        "category_id": str(category_id),
        "type": "EXPENSE",
        "amount": "12.50",
        "date": TRANSACTION_DATE.isoformat(),
        "description": "bench write",
    }
    ours = json_request("POST", "/api/transactions", row, token=token, expected_status=201)
    baseline = json_request(
        "POST", "/transactions", {**row, "user_id": str(user_id)}, expected_status=201
    )
    context.require(system.gateway, ours)
    context.require(system.bare_app, baseline)

    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        ours_result, baseline_result = context.load_in_turns(
            lambda warmup, measured: context.plan(
                system.gateway, [ours], warmup_seconds=warmup, duration_seconds=measured
            ),
            lambda warmup, measured: context.plan(
                system.bare_app, [baseline], warmup_seconds=warmup, duration_seconds=measured
            ),
            "write path",
            BASELINE_NAME,
        )

    with dataset.transaction(system.api_database_url) as cursor:
        rows = dataset.count_transactions(cursor, user_id)
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
