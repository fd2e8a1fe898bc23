"""Auth: POST /api/auth/login requests per second, next to what argon2id alone allows.

A login verifies an argon2id hash, which is meant to be slow, so logins per second are bounded by
the hash. The baseline is that bound, measured in the same run: the user's own stored hash
verified in a loop by as many threads as the gateway has workers (bench/hashing.py). The cost of
one verification, alone on a core, is reported next to it.
"""

from __future__ import annotations

import statistics
from typing import Any, Final

from argon2 import extract_parameters

from bench import dataset
from bench.child import run_in_child_process
from bench.hashing import HashingPlan, verification_seconds, verifications_per_second
from bench.loadgen import LoadResult
from bench.results import Better, Comparison, Figure, ScenarioReport
from bench.scenarios.context import (
    LOAD_GRACE_SECONDS,
    BenchContext,
    ScenarioFailedError,
    json_request,
)
from bench.stack import GATEWAY_PROCESS

NAME: Final = "auth"
TITLE: Final = "Auth"
EMAIL: Final = dataset.bench_email("bench-login")
PASSWORD: Final = "bench password, long enough for any policy 0123456789"  # noqa: S105
BASELINE_NAME: Final = "bare argon2id verify loop"


def run(context: BenchContext) -> ScenarioReport:
    system, settings = context.system, context.settings
    credentials = {"email": EMAIL, "password": PASSWORD}
    register = context.send(system.gateway, json_request("POST", "/api/auth/register", credentials))
    # 201 made the user now, 409 (or 400/422 for "taken") means an earlier run did.
    context.say(f"auth: register answered {register.status}")
    login = json_request("POST", "/api/auth/login", credentials, expected_status=200)
    context.require(system.gateway, login)

    with dataset.transaction(system.api_database_url) as cursor:
        cursor.execute("SELECT password_hash FROM users WHERE email = %s", (EMAIL,))
        row = cursor.fetchone()
    if row is None:
        raise ScenarioFailedError(f"login succeeded but no user {EMAIL} exists")
    password_hash = str(row[0])
    hash_seconds = verification_seconds(password_hash, PASSWORD)
    parameters = extract_parameters(password_hash)

    profiles: dict[str, Any] = {}
    rounds, per_round = settings.rounds, settings.duration_seconds / settings.rounds
    logins: list[LoadResult] = []
    hash_rates: list[float] = []
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        # Logins and the bare hash loop in turns, so both see the same neighbours.
        for number in range(rounds):
            warmup = settings.warmup_seconds if number == 0 else 0.0
            suffix = f" (round {number + 1} of {rounds})"
            plan = context.plan(
                system.gateway, [login], warmup_seconds=warmup, duration_seconds=per_round
            )
            logins.append(context.load(plan, f"auth, login{suffix}"))
            context.say(f"auth, {BASELINE_NAME}: {settings.workers} threads{suffix}")
            hash_rates.append(
                run_in_child_process(
                    verifications_per_second,
                    HashingPlan(password_hash, PASSWORD, settings.workers, per_round),
                    timeout_seconds=per_round + LOAD_GRACE_SECONDS,
                    sampler=context.sampler,
                    process_type="argon2id baseline",
                )
            )
    result = LoadResult.combined(logins)
    latency = result.latency_summary()
    bound = statistics.fmean(hash_rates)
    return ScenarioReport(
        name=NAME,
        title=TITLE,
        comparisons={
            "login_throughput": Comparison(
                "logins/s",
                "req/s",
                result.requests_per_second,
                bound,
                Better.HIGHER,
                BASELINE_NAME,
            )
        },
        figures=[
            Figure("argon2id verification, one login", hash_seconds * 1000, "ms"),
            Figure("login p50 latency", latency.p50_ms, "ms"),
            Figure("login p99 latency", latency.p99_ms, "ms"),
        ],
        details={
            "argon2id": {
                "memory_kib": parameters.memory_cost,
                "iterations": parameters.time_cost,
                "parallelism": parameters.parallelism,
                "verification_ms": round(hash_seconds * 1000, 3),
            },
            "connections": settings.connections,
            "rounds": rounds,
            "login": result.as_json(),
            "bare_verifications_per_second": [round(rate, 2) for rate in hash_rates],
            "profiles": profiles,
        },
    )
