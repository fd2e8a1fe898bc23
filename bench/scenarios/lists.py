"""Lists and export: the transaction list's first page, its 50th page by cursor, and the CSV export,
for a short and a long history.

The users are the read path's (the smallest and the largest of BENCH_SIZES, made once with SQL
and kept). A page is measured like the read path's summary: p50 of a closed loop, the long
history next to the short one, which is the baseline. The export is fetched whole, as a client
downloads it, and its rows per second are set next to PostgreSQL's own `COPY (SELECT ...) TO
STDOUT WITH CSV` of the same rows in the same order, read by psycopg2 into /dev/null: the
database's speed, with nothing of ours in between.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any, Final

import psycopg2  # type: ignore[import-untyped, unused-ignore]

from bench import dataset
from bench.loadgen import HttpRequest, LoadResult
from bench.results import Better, Comparison, Figure, Goal, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError, json_request
from bench.scenarios.read_path import prepare_user
from bench.stack import GATEWAY_PROCESS

NAME: Final = "lists"
TITLE: Final = "Lists and export"
PAGE_SIZE: Final = 10
CURSOR_PAGE: Final = 50
PAGE_GOAL: Final = Goal(ratio_at_least=0.67)
EXPORT_GOAL: Final = Goal(ratio_at_least=0.5)
# A short export is repeated until this long has passed in a round, so it is timed at all.
MIN_EXPORT_SECONDS: Final = 1.0
READ_BYTES: Final = 1 << 20
EXPORT_TIMEOUT_SECONDS: Final = 600
BASELINE_COPY: Final = """
COPY (
    SELECT t.date, t.type, t.amount, t.category_id, c.name, t.description, t.id, t.created_at
    FROM transactions t JOIN categories c ON c.id = t.category_id
    WHERE t.user_id = %s
    ORDER BY t.date DESC, t.created_at DESC, t.id DESC
) TO STDOUT WITH CSV
"""


def list_path(cursor: str | None = None) -> str:
    path = f"/api/transactions?page_size={PAGE_SIZE}"
    return path if cursor is None else f"{path}&cursor={urllib.parse.quote(cursor)}"


def cursor_of_page(context: BenchContext, token: str, page: int) -> str:
    """The cursor that reads page `page`, found by walking there as a client would."""
    cursor: str | None = None
    for number in range(1, page):
        answer = context.require(
            context.system.gateway, json_request("GET", list_path(cursor), token=token)
        )
        cursor = json.loads(answer.headers["X-Pagination"])["next_cursor"]
        if cursor is None:
            raise ScenarioFailedError(f"the list ends at page {number}, before page {page}")
    assert cursor is not None
    return cursor


def user_id_of(context: BenchContext, size: int) -> uuid.UUID:
    with dataset.transaction(context.system.api_database_url) as cursor:
        return dataset.ensure_user(cursor, dataset.bench_email(f"bench-history-{size}"))


def export_once(context: BenchContext, token: str) -> tuple[int, float]:
    """GET the whole export: (rows, seconds from the request to its last byte)."""
    gateway = context.system.gateway
    connection = http.client.HTTPConnection(
        gateway.host, gateway.port, timeout=EXPORT_TIMEOUT_SECONDS
    )
    started = time.perf_counter()
    try:
        connection.request(
            "GET", "/api/transactions/export.csv", headers={"Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        if response.status != 200:
            raise ScenarioFailedError(f"the export answered {response.status}")
        lines, last_byte = 0, b""
        while block := response.read(READ_BYTES):
            # A row's CRLF may be cut between two blocks.
            lines += block.count(b"\r\n") + (last_byte == b"\r" and block[:1] == b"\n")
            last_byte = block[-1:]
    finally:
        connection.close()
    return lines - 1, time.perf_counter() - started  # the header is no row


def copy_once(context: BenchContext, user_id: uuid.UUID) -> tuple[int, float]:
    """PostgreSQL's COPY of the same rows, read by psycopg2: (rows, seconds)."""
    connection = psycopg2.connect(context.system.api_database_url)
    try:
        with connection.cursor() as cursor, open(os.devnull, "wb") as sink:
            started = time.perf_counter()
            cursor.copy_expert(cursor.mogrify(BASELINE_COPY, (str(user_id),)), sink)
            elapsed = time.perf_counter() - started
            return cursor.rowcount, elapsed
    finally:
        connection.close()


def timed_rounds(measure: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    """Repeat `measure()` for at least MIN_EXPORT_SECONDS: (rows, seconds) summed."""
    rows, seconds = 0, 0.0
    while seconds < MIN_EXPORT_SECONDS:
        more_rows, more_seconds = measure()
        rows, seconds = rows + more_rows, seconds + more_seconds
    return rows, seconds


def run(context: BenchContext) -> ScenarioReport:
    system, settings = context.system, context.settings
    sizes = sorted({settings.history_sizes[0], settings.history_sizes[-1]})
    started = time.monotonic()
    tokens: dict[int, str] = {}
    made_any = False
    for size in sizes:
        context.say(f"lists: preparing a user with {size:,} transactions")
        tokens[size], made = prepare_user(context, size)
        made_any = made_any or made
        if size == sizes[0]:
            context.require(system.gateway, json_request("GET", list_path(), token=tokens[size]))
            context.require(
                system.gateway,
                json_request(
                    "GET", "/api/transactions/export.csv?from=2999-01-01", token=tokens[size]
                ),
            )
    if made_any:
        dataset.analyze(system.api_database_url, "transactions")
    user_ids = {size: user_id_of(context, size) for size in sizes}
    pages: dict[str, dict[int, HttpRequest]] = {
        "first": {size: json_request("GET", list_path(), token=tokens[size]) for size in sizes},
        "cursor": {
            size: json_request(
                "GET",
                list_path(cursor_of_page(context, tokens[size], CURSOR_PAGE)),
                token=tokens[size],
            )
            for size in sizes
        },
    }
    setup_seconds = time.monotonic() - started

    rounds = settings.rounds
    per_round = context.size_round_seconds()
    results: dict[str, dict[int, list[LoadResult]]] = {
        kind: {size: [] for size in sizes} for kind in pages
    }
    exports: dict[str, dict[int, list[tuple[int, float]]]] = {
        side: {size: [] for size in sizes} for side in ("ours", "copy")
    }
    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        for number in range(rounds):
            suffix = f"(round {number + 1} of {rounds})"
            for kind, requests in pages.items():
                for size in sizes:
                    label = f"lists, {kind} page, {size:,} transactions"
                    results[kind][size].append(
                        context.load_round(requests[size], number, per_round, label)
                    )
            for size in sizes:
                context.say(f"lists, export of {size:,} transactions and its COPY {suffix}")
                ours = functools.partial(export_once, context, tokens[size])
                exports["ours"][size].append(timed_rounds(ours))
                copy = functools.partial(copy_once, context, user_ids[size])
                exports["copy"][size].append(timed_rounds(copy))
                system.check_running()

    p50_ms = {
        kind: {
            size: LoadResult.combined(results[kind][size]).latency_summary().p50_ms
            for size in sizes
        }
        for kind in pages
    }
    rows_per_second = {
        side: {
            size: sum(rows for rows, _ in exports[side][size])
            / sum(seconds for _, seconds in exports[side][size])
            for size in sizes
        }
        for side in exports
    }
    smallest, largest = sizes[0], sizes[-1]
    report = ScenarioReport(
        name=NAME,
        title=TITLE,
        figures=[
            Figure(
                f"GET /api/transactions {name} p50, {size:,} transactions", p50_ms[kind][size], "ms"
            )
            for kind, name in (("first", "page 1"), ("cursor", f"page {CURSOR_PAGE} by cursor"))
            for size in sizes
        ],
        details={
            "setup_seconds": round(setup_seconds, 1),
            "page_size": PAGE_SIZE,
            "connections": settings.workers,
            "rounds": rounds,
            "pages": {
                kind: {
                    str(size): LoadResult.combined(results[kind][size]).as_json() for size in sizes
                }
                for kind in pages
            },
            "exports": {
                side: {
                    str(size): [
                        {"rows": rows, "seconds": round(seconds, 3)}
                        for rows, seconds in exports[side][size]
                    ]
                    for size in sizes
                }
                for side in exports
            },
            "profiles": profiles,
        },
    )
    if largest != smallest:
        for kind, name in (("first", "page 1"), ("cursor", f"page {CURSOR_PAGE} by cursor")):
            report.comparisons[f"{kind}_page"] = Comparison(
                f"{name} p50 at {largest:,} vs {smallest:,} transactions",
                "ms",
                p50_ms[kind][largest],
                p50_ms[kind][smallest],
                Better.LOWER,
                f"same request, {smallest:,} transactions",
                PAGE_GOAL,
            )
    for size in sizes:
        report.comparisons[f"export_{size}"] = Comparison(
            f"export.csv of {size:,} transactions, rows/s",
            "rows/s",
            rows_per_second["ours"][size],
            rows_per_second["copy"][size],
            Better.HIGHER,
            "COPY ... TO STDOUT WITH CSV of the same rows",
            EXPORT_GOAL if size == largest else None,
        )
    return report
