"""Read path: GET /api/budgets/summary for one month, and GET /api/reports/monthly for the twelve
months from it, as the user's history grows.

One user per history size, each with the same summary month (five categories with limits and ten
expenses each) and `size` transactions spread over the months before it. If the summary and the
report only read their months, the largest history costs what the smallest does.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any, Final

from bench import dataset
from bench.loadgen import HttpRequest, LoadResult
from bench.results import Better, Comparison, Figure, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, json_request
from bench.stack import GATEWAY_PROCESS

NAME: Final = "read_path"
TITLE: Final = "Read path"
SUMMARY_MONTH: Final = date(2024, 6, 1)
CATEGORIES: Final = 5
TRANSACTIONS_PER_CATEGORY_IN_MONTH: Final = 10
LIMIT: Final = Decimal("500.00")
# The largest history's p50 within 1.5 times the smallest's, as a ratio that is higher-is-better.
GROWTH_GOAL: Final = Goal(ratio_at_least=round(1 / 1.5, 3))


def summary_request(token: str) -> HttpRequest:
    path = f"/api/budgets/summary?year={SUMMARY_MONTH.year}&month={SUMMARY_MONTH.month}"
    return json_request("GET", path, token=token)


def report_request(token: str) -> HttpRequest:
    eleven_later = SUMMARY_MONTH.year * 12 + SUMMARY_MONTH.month - 1 + 11
    last = date(eleven_later // 12, eleven_later % 12 + 1, 1)
    path = f"/api/reports/monthly?from={SUMMARY_MONTH:%Y-%m}&to={last:%Y-%m}"
    return json_request("GET", path, token=token)


def prepare_user(context: BenchContext, size: int) -> tuple[str, bool]:
    """The access token of the user with a `size` history, and whether rows were made now."""
    database_url = context.system.api_database_url
    with dataset.transaction(database_url) as cursor:
        user_id = dataset.ensure_user(cursor, dataset.bench_email(f"bench-history-{size}"))
        category_ids = [
            dataset.ensure_category(cursor, user_id, f"history {number}")
            for number in range(CATEGORIES)
        ]
        for category_id in category_ids:
            dataset.ensure_budget_limit(cursor, user_id, SUMMARY_MONTH, category_id, LIMIT)
        made = dataset.ensure_history(cursor, user_id, category_ids, size, before=SUMMARY_MONTH)
        month_rows = dataset.count_transactions(cursor, user_id) - size
        if month_rows != CATEGORIES * TRANSACTIONS_PER_CATEGORY_IN_MONTH:
            cursor.execute(
                "DELETE FROM transactions WHERE user_id = %s AND date >= %s",
                (str(user_id), SUMMARY_MONTH),
            )
            dataset.insert_month_transactions(
                cursor, user_id, category_ids, SUMMARY_MONTH, TRANSACTIONS_PER_CATEGORY_IN_MONTH
            )
    [token] = context.access_tokens([user_id]).values()
    return token, made


def run(context: BenchContext) -> ScenarioReport:
    system, settings = context.system, context.settings
    sizes = settings.history_sizes
    started = time.monotonic()
    tokens: dict[int, str] = {}
    made_any = False
    for size in sizes:
        context.say(f"read path: preparing a user with {size:,} transactions")
        tokens[size], made = prepare_user(context, size)
        made_any = made_any or made
        if size == sizes[0]:
            # Before the long inserts: is there an endpoint to measure at all?
            context.require(system.gateway, summary_request(tokens[size]))
    if made_any:
        dataset.analyze(system.api_database_url, "transactions")
    setup_seconds = time.monotonic() - started

    requests = {size: summary_request(tokens[size]) for size in sizes}
    reports = {size: report_request(tokens[size]) for size in sizes}
    for request in (*requests.values(), *reports.values()):
        context.require(system.gateway, request)
    # Half the duration per size, in rounds that visit every size in turn; the report gets a
    # quarter of the summary's time on top.
    rounds = settings.rounds
    per_round = context.size_round_seconds()
    results: dict[int, list[LoadResult]] = {size: [] for size in sizes}
    report_results: dict[int, list[LoadResult]] = {size: [] for size in sizes}
    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        for number in range(rounds):
            for size in sizes:
                label = f"read path, {size:,} transactions"
                results[size].append(context.load_round(requests[size], number, per_round, label))
                report_results[size].append(
                    context.load_round(
                        reports[size],
                        number,
                        max(0.5, per_round / 4),
                        f"monthly report, {size:,} transactions",
                        warm_up=False,
                    )
                )
    combined = {size: LoadResult.combined(results[size]) for size in sizes}
    p50_ms = {size: combined[size].latency_summary().p50_ms for size in sizes}
    per_size = {str(size): combined[size].as_json() for size in sizes}
    report_combined = {size: LoadResult.combined(report_results[size]) for size in sizes}
    report_p50_ms = {size: report_combined[size].latency_summary().p50_ms for size in sizes}

    report = ScenarioReport(
        name=NAME,
        title=TITLE,
        figures=[
            *(
                Figure(f"GET /api/budgets/summary p50, {size:,} transactions", p50_ms[size], "ms")
                for size in sizes
            ),
            *(
                Figure(
                    f"GET /api/reports/monthly (12 months) p50, {size:,} transactions",
                    report_p50_ms[size],
                    "ms",
                )
                for size in sizes
            ),
        ],
        details={
            "setup_seconds": round(setup_seconds, 1),
            "connections": settings.workers,
            "rounds": rounds,
            "sizes": per_size,
            "report_sizes": {str(size): report_combined[size].as_json() for size in sizes},
            "profiles": profiles,
        },
    )
    smallest, largest = sizes[0], sizes[-1]
    if largest != smallest:
        report.comparisons["growth"] = Comparison(
            f"p50 at {largest:,} vs {smallest:,} transactions",
            "ms",
            p50_ms[largest],
            p50_ms[smallest],
            Better.LOWER,
            f"same request, {smallest:,} transactions",
            GROWTH_GOAL,
        )
        report.comparisons["report_growth"] = Comparison(
            f"monthly report p50 at {largest:,} vs {smallest:,} transactions",
            "ms",
            report_p50_ms[largest],
            report_p50_ms[smallest],
            Better.LOWER,
            f"same request, {smallest:,} transactions",
            GROWTH_GOAL,
        )
    return report
