"""The benchmark harness's own arithmetic and formats, without servers (the benchmark itself runs
with `make bench`, never in `make test`): so the figures it prints cannot rot silently."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.loadgen import HttpRequest, LoadResult, RequestRecord, measured_window, read_response
from bench.memory import MemorySampler
from bench.profiler import summarize_profile
from bench.results import (
    Better,
    Comparison,
    Figure,
    Goal,
    ProcessMemory,
    ScenarioReport,
    Status,
    results_document,
    results_table,
    write_results,
)
from bench.runner import Scenario, run_scenario
from bench.scenarios import memory as memory_scenario
from bench.scenarios.context import BenchContext, ScenarioUnavailableError
from bench.settings import load_settings
from bench.stack import BenchSystem, Endpoint
from bench.stats import percentile, summarize_latencies
from bench.telegram_calls import MessageLog, delivered_messages
from tests.telegram_standin import RecordedCall

# --------------------------------------------------------------------------- percentiles


def test_percentiles_interpolate_between_closest_ranks_like_numpy() -> None:
    values = [float(value) for value in range(1, 101)]  # 1..100, shuffled below
    shuffled = values[50:] + values[:50]
    assert percentile(shuffled, 0.5) == pytest.approx(50.5)
    assert percentile(shuffled, 0.99) == pytest.approx(99.01)
    assert percentile(shuffled, 0.95) == pytest.approx(95.05)
    assert percentile(shuffled, 0.0) == 1.0
    assert percentile(shuffled, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0], 0.5) == pytest.approx(1.5)


def test_a_percentile_of_nothing_or_outside_0_to_1_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        percentile([1.0], 50)


def test_latency_summaries_are_in_milliseconds() -> None:
    summary = summarize_latencies([0.010, 0.020, 0.030, 0.040, 1.000])
    assert summary.count == 5
    assert summary.p50_ms == pytest.approx(30.0)
    assert summary.max_ms == pytest.approx(1000.0)
    assert summary.mean_ms == pytest.approx(220.0)


# --------------------------------------------------------------------------- ratios


def comparison(ours: float, baseline: float, better: Better, goal: Goal | None) -> Comparison:
    return Comparison("measure", "unit", ours, baseline, better, "bare", goal)


def test_throughput_ratio_is_ours_over_baseline() -> None:
    half_as_fast = comparison(500.0, 1000.0, Better.HIGHER, Goal(ratio_at_least=0.6))
    assert half_as_fast.ratio == pytest.approx(0.5)
    assert half_as_fast.goal_met is False
    assert comparison(700.0, 1000.0, Better.HIGHER, Goal(ratio_at_least=0.6)).goal_met is True


def test_latency_ratio_is_baseline_over_ours_so_higher_is_better_there_too() -> None:
    twice_as_slow = comparison(20.0, 10.0, Better.LOWER, None)
    assert twice_as_slow.ratio == pytest.approx(0.5)
    faster_than_baseline = comparison(5.0, 10.0, Better.LOWER, None)
    assert faster_than_baseline.ratio == pytest.approx(2.0)
    assert faster_than_baseline.goal_met is None


def test_an_absolute_goal_holds_our_figure_below_a_limit() -> None:
    goal = Goal(ours_at_most=500.0)
    assert comparison(499.0, 10.0, Better.LOWER, goal).goal_met is True
    assert comparison(501.0, 10.0, Better.LOWER, goal).goal_met is False


def test_a_zero_denominator_gives_no_ratio_and_misses_a_ratio_goal() -> None:
    nothing_measured = comparison(10.0, 0.0, Better.HIGHER, Goal(ratio_at_least=0.5))
    assert nothing_measured.ratio is None
    assert nothing_measured.goal_met is False
    assert nothing_measured.as_json()["ratio"] is None


# --------------------------------------------------------------------------- results.json


def sample_reports() -> list[ScenarioReport]:
    write = ScenarioReport(
        "write_path",
        "Write path",
        comparisons={
            "throughput": comparison(300.0, 400.0, Better.HIGHER, Goal(ratio_at_least=0.6)),
            "latency_p50": comparison(8.0, 6.0, Better.LOWER, None),
        },
        figures=[Figure("argon2id verification", 41.5, "ms")],
    )
    missing = ScenarioReport(
        "auth", "Auth", Status.NOT_AVAILABLE, "POST /api/auth/login answers 404"
    )
    return [write, missing]


def test_results_json_holds_each_comparison_with_both_measurements_and_its_ratio(
    tmp_path: Path,
) -> None:
    memory = [ProcessMemory("gateway", 80.25, 180.5, 3)]
    path = tmp_path / "results.json"
    write_results(path, results_document({"revision": "abc"}, sample_reports(), memory))

    document = json.loads(path.read_text())
    assert document["schema_version"] == 1
    assert document["run"] == {"revision": "abc"}
    write = document["scenarios"]["write_path"]
    assert write["status"] == "ok"
    assert write["comparisons"]["throughput"] == {
        "unit": "unit",
        "ours": 300.0,
        "baseline": 400.0,
        "baseline_is": "bare",
        "ratio": 0.75,
        "ratio_is": "ours / baseline",
        "goal": {"ratio_at_least": 0.6, "met": True},
    }
    assert write["comparisons"]["latency_p50"]["ratio"] == 0.75
    assert write["comparisons"]["latency_p50"]["ratio_is"] == "baseline / ours"
    assert write["figures"] == {"argon2id verification": {"value": 41.5, "unit": "ms"}}
    assert document["scenarios"]["auth"] == {
        "title": "Auth",
        "status": "not available",
        "reason": "POST /api/auth/login answers 404",
        "comparisons": {},
        "figures": {},
        "details": {},
    }
    assert document["memory"] == {
        "gateway": {"peak_process_rss_mib": 80.2, "peak_total_rss_mib": 180.5, "max_processes": 3}
    }
    assert not list(tmp_path.glob("*.partial"))


def test_the_table_shows_figures_ratios_goals_and_what_was_not_available() -> None:
    table = results_table(sample_reports()).splitlines()
    assert table[0] == "| Scenario | Measure | Ours | Baseline | Ratio | Goal |"
    assert table[2] == (
        "| Write path | measure | 300 unit | 400 unit (bare) | 0.75 | ratio ≥ 0.6: met |"
    )
    assert table[3].startswith("| Write path | measure | 8.00 unit | 6.00 unit (bare) | 0.75 |")
    assert table[4] == "| Write path | argon2id verification | 41.5 ms | | | |"
    assert table[5] == "| Auth | not available: POST /api/auth/login answers 404 | | | | |"


# --------------------------------------------------------------------------- scenarios


def unstarted_context(tmp_path: Path) -> tuple[BenchContext, list[str]]:
    said: list[str] = []
    endpoint = Endpoint("127.0.0.1", 9)
    system = BenchSystem(
        {}, "none", endpoint, endpoint, endpoint, tmp_path / "calls.jsonl", tmp_path / "log"
    )
    context = BenchContext(load_settings({}), system, MemorySampler(), said.append)
    return context, said


def test_a_scenario_whose_endpoints_are_missing_is_reported_not_raised(tmp_path: Path) -> None:
    def needs_missing_endpoint(_context: BenchContext) -> ScenarioReport:
        raise ScenarioUnavailableError("GET /api/budgets/summary answers 404")

    context, said = unstarted_context(tmp_path)
    report = run_scenario(Scenario("read_path", "Read path", needs_missing_endpoint), context)
    assert report.status is Status.NOT_AVAILABLE
    assert report.reason == "GET /api/budgets/summary answers 404"
    assert said[-1].startswith("Read path: not available: GET /api/budgets/summary answers 404")


def test_a_scenario_that_breaks_fails_alone_with_the_error(tmp_path: Path) -> None:
    def broken(_context: BenchContext) -> ScenarioReport:
        raise KeyError("category_id")

    context, _ = unstarted_context(tmp_path)
    report = run_scenario(Scenario("write_path", "Write path", broken), context)
    assert report.status is Status.FAILED
    assert report.reason == "KeyError: 'category_id'"


def test_settings_come_from_bench_variables() -> None:
    settings = load_settings(
        {"BENCH_SIZES": "1_000_000, 1000,100000", "BENCH_WORKERS": "3", "BENCH_SCENARIOS": "auth"}
    )
    assert settings.history_sizes == (1000, 100000, 1000000)
    assert settings.workers == 3
    assert settings.connections == 6
    assert settings.scenarios == ("auth",)
    for bad in ({"BENCH_SIZES": "1k"}, {"BENCH_DURATION_SECONDS": "0"}, {"BENCH_SCENARIOS": "x"}):
        with pytest.raises(SystemExit):
            load_settings(bad)


# --------------------------------------------------------------------------- load generator


def parse(raw: bytes) -> tuple[int, bool, bytes]:
    async def read() -> tuple[int, bool, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        response = await read_response(reader)
        return response.status, response.keep_alive, response.body

    return asyncio.run(read())


def test_responses_are_read_by_length_by_chunks_or_to_the_end() -> None:
    assert parse(b"HTTP/1.1 201 CREATED\r\nContent-Length: 2\r\n\r\n{}extra") == (201, True, b"{}")
    assert parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == (
        200,
        False,
        b"",
    )
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    assert parse(chunked) == (200, True, b"abcde")
    assert parse(b"HTTP/1.0 404 NOT FOUND\r\n\r\nmissing") == (404, False, b"missing")


def test_requests_are_encoded_with_host_and_length() -> None:
    request = HttpRequest("POST", "/api/x", b'{"a":1}', (("Authorization", "Bearer t"),), 201)
    assert request.encode("127.0.0.1", 8080) == (
        b"POST /api/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer t\r\n"
        b'Content-Length: 7\r\n\r\n{"a":1}'
    )


def record(index: int, started: float, seconds: float, *, ok: bool = True) -> RequestRecord:
    return RequestRecord(index, started, started + seconds, seconds, 200, ok, started >= 1.0)


def test_throughput_counts_successful_measured_requests_over_the_measured_window() -> None:
    # Warm-up until 1.0: the first request is made but not measured.
    records = [record(0, 0.5, 0.1), record(1, 1.0, 0.5), record(2, 1.5, 0.5)]
    records.append(record(3, 2.0, 1.0, ok=False))
    result = LoadResult(records, measured_window(records))
    assert result.measured_seconds == pytest.approx(2.0)
    assert result.requests_per_second == pytest.approx(1.0)
    assert len(result.errors) == 1
    assert result.latency_summary().p50_ms == pytest.approx(500.0)


def test_rounds_taken_in_turns_combine_into_one_result() -> None:
    first = LoadResult([record(1, 1.0, 0.5), record(2, 1.5, 0.5)], measured_seconds=1.0)
    second = LoadResult([record(3, 5.0, 0.25, ok=False), record(4, 5.0, 1.0)], 1.0)
    both = LoadResult.combined([first, second])
    assert [item.index for item in both.records] == [1, 2, 3, 4]
    assert both.measured_seconds == pytest.approx(2.0)
    assert both.requests_per_second == pytest.approx(1.5)
    assert len(both.errors) == 1


# --------------------------------------------------------------------------- other readers


def test_messages_are_read_from_the_telegram_stand_ins_record_file(tmp_path: Path) -> None:
    calls = [
        RecordedCall("t", "sendMessage", {"chat_id": "a", "text": "x"}, 10.0, 200),
        RecordedCall("t", "sendMessage", {"chat_id": "b", "text": "x"}, 11.0, 500),
        RecordedCall("t", "getMe", {}, 12.0, 200),
        RecordedCall("t", "sendMessage", {"chat_id": "a", "text": "again"}, 13.0, 200),
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(call.to_json_line() + "\n" for call in calls) + '{"half')
    assert delivered_messages(path) == {"a": 10.0}


def test_the_message_log_reads_on_from_where_it_stopped(tmp_path: Path) -> None:
    first = RecordedCall("t", "sendMessage", {"chat_id": "a", "text": "x"}, 10.0, 200)
    second = RecordedCall("t", "sendMessage", {"chat_id": "b", "text": "x"}, 11.0, 200)
    path = tmp_path / "calls.jsonl"
    log = MessageLog(path)
    assert log.read_new() == {}  # no file yet
    second_line = second.to_json_line()
    path.write_text(first.to_json_line() + "\n" + second_line[:7])
    assert log.read_new() == {"a": 10.0}
    with path.open("a") as record:
        record.write(second_line[7:] + "\n")
    assert log.read_new() == {"a": 10.0, "b": 11.0}
    assert log.read_new() == {"a": 10.0, "b": 11.0}


def test_profiles_are_summarized_by_function(tmp_path: Path) -> None:
    profile = tmp_path / "profile.txt"
    profile.write_text(
        "run (gunicorn/arbiter.py:1);post (api_app/views.py:10);hash (argon2/low_level.py:5) 3\n"
        "run (gunicorn/arbiter.py:1);post (api_app/views.py:12);get (wsgi.py:4) 1\n"
    )
    summary = summarize_profile(profile)
    assert summary["self"] == [["hash (argon2/low_level.py)", 0.75], ["get (wsgi.py)", 0.25]]
    assert summary["own_code"] == [["post (api_app/views.py)", 1.0], ["get (wsgi.py)", 0.25]]


# --------------------------------------------------------------------------- memory (PSS)


def test_pss_is_summed_per_process_type_from_the_supervisor_down() -> None:
    sleeper = ("-c", "import time; time.sleep(60)")
    child = subprocess.Popen([sys.executable, *sleeper])
    try:
        snapshot = memory_scenario.snapshot(os.getpid(), {sleeper: "sleeper"})
    finally:
        child.kill()
        child.wait()
    # The test process may have others (the suite's servers), labelled by their command lines.
    assert snapshot.processes["devstack"] == 1
    assert snapshot.processes["sleeper"] == 1
    # A bare interpreter holds a few MiB of its own; this one, with pytest, more.
    assert 1 < snapshot.pss_mib["sleeper"] < snapshot.pss_mib["devstack"]
    assert snapshot.total_mib == sum(snapshot.pss_mib.values())
    # What only the sleeper maps is part of what it holds: its share of the interpreter's pages.
    assert 0 < snapshot.private_mib["sleeper"] < snapshot.pss_mib["sleeper"]
    assert memory_scenario.pss_kib(child.pid) == 0  # gone: nothing, not an error


def test_the_memory_table_shows_each_type_the_totals_and_the_goals() -> None:
    idle = memory_scenario.Snapshot({"gateway": 100.0, "worker": 90.0}, {"gateway": 3, "worker": 3})
    loaded = memory_scenario.Snapshot(
        {"gateway": 120.0, "worker": 95.0}, {"gateway": 3, "worker": 3},
        {"gateway": 30.0, "worker": 25.0},
    )  # fmt: skip
    run = memory_scenario.ProfileRun("default", 4.2, idle, loaded, 100.0, fresh=False)
    table = memory_scenario.pss_table([run])
    assert "| default | gateway | 3 | 100 MiB | 120 MiB | 30 MiB |" in table
    assert "| default | **total** | 6 | 190 MiB | 215 MiB (goal ≤ 300: met) | 55 MiB |" in table
    assert "| default | 4.2 s (goal ≤ 5.5 s: met) |" in table
