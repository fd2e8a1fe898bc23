"""Balances: GET /api/ledgers/{id}/balances of a shared ledger as its own history grows.

One shared ledger of three people per size (the smallest and the largest of BENCH_SIZES, made
once with SQL and kept), with `size` split expenses paid by each in turn and shared equally. The
nets are kept per member by triggers, so the longest history's balances cost what the shortest's
do: its p50 is set next to the shortest's, which is the baseline.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

from bench import dataset
from bench.loadgen import HttpRequest, LoadResult
from bench.results import Better, Comparison, Figure, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, json_request
from bench.stack import GATEWAY_PROCESS

NAME: Final = "balances"
TITLE: Final = "Balances"
PEOPLE: Final = 3
GROWTH_GOAL: Final = Goal(ratio_at_least=0.67)


def prepare_ledger(context: BenchContext, size: int) -> tuple[str, uuid.UUID, bool]:
    """The owner's access token and the ledger with `size` split expenses; whether rows were
    made now."""
    with dataset.transaction(context.system.api_database_url) as cursor:
        people = [
            dataset.ensure_user(cursor, dataset.bench_email(f"bench-balances-{size}-{number}"))
            for number in range(PEOPLE)
        ]
        ledger_id = dataset.ensure_shared_ledger(
            cursor, people[0], people[1:], f"Balances of {size}"
        )
        made = dataset.ensure_split_history(cursor, ledger_id, people, size)
    [token] = context.access_tokens([people[0]]).values()
    return token, ledger_id, made


def balances_request(token: str, ledger_id: uuid.UUID) -> HttpRequest:
    return json_request("GET", f"/api/ledgers/{ledger_id}/balances", token=token)


def run(context: BenchContext) -> ScenarioReport:
    system, settings = context.system, context.settings
    sizes = sorted({settings.history_sizes[0], settings.history_sizes[-1]})
    started = time.monotonic()
    requests: dict[int, HttpRequest] = {}
    made_any = False
    for size in sizes:
        context.say(f"balances: preparing a shared ledger with {size:,} split expenses")
        token, ledger_id, made = prepare_ledger(context, size)
        made_any = made_any or made
        requests[size] = balances_request(token, ledger_id)
        context.require(system.gateway, requests[size])
    if made_any:
        for table in ("transactions", "transaction_shares", "ledger_balances"):
            dataset.analyze(system.api_database_url, table)
    setup_seconds = time.monotonic() - started

    rounds = settings.rounds
    per_round = context.size_round_seconds()
    results: dict[int, list[LoadResult]] = {size: [] for size in sizes}
    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        for number in range(rounds):
            for size in sizes:
                label = f"balances, {size:,} split expenses"
                results[size].append(context.load_round(requests[size], number, per_round, label))
    combined = {size: LoadResult.combined(results[size]) for size in sizes}
    p50_ms = {size: combined[size].latency_summary().p50_ms for size in sizes}
    report = ScenarioReport(
        name=NAME,
        title=TITLE,
        figures=[
            Figure(
                f"GET /api/ledgers/{{id}}/balances p50, {size:,} split expenses", p50_ms[size], "ms"
            )
            for size in sizes
        ],
        details={
            "setup_seconds": round(setup_seconds, 1),
            "people": PEOPLE,
            "connections": settings.workers,
            "rounds": rounds,
            "sizes": {str(size): combined[size].as_json() for size in sizes},
            "profiles": profiles,
        },
    )
    smallest, largest = sizes[0], sizes[-1]
    if largest != smallest:
        report.comparisons["growth"] = Comparison(
            f"p50 at {largest:,} vs {smallest:,} split expenses",
            "ms",
            p50_ms[largest],
            p50_ms[smallest],
            Better.LOWER,
            f"same request, {smallest:,} split expenses",
            GROWTH_GOAL,
        )
    return report
