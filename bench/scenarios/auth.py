"""Auth: POST /api/auth/login requests per second, next to what argon2id allows.

A login verifies an argon2id hash, which is meant to be slow, so logins per second are bounded by
the hash: the baseline is that bound, the gunicorn workers' share of the cores divided by the
cost of one verification with the parameters stored in the user's own hash, measured here.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Final

from argon2 import PasswordHasher, extract_parameters

from bench import dataset
from bench.results import Better, Comparison, Figure, ScenarioReport
from bench.scenarios.context import BenchContext, ScenarioFailedError, json_request
from bench.stack import GATEWAY_PROCESS

NAME: Final = "auth"
TITLE: Final = "Auth"
EMAIL: Final = dataset.bench_email("bench-login")
PASSWORD: Final = "bench password, long enough for any policy 0123456789"  # noqa: S105
HASH_TIMING_ROUNDS: Final = 10


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
    hash_seconds = verification_seconds(password_hash)
    parameters = extract_parameters(password_hash)

    profiles: dict[str, Any] = {}
    with context.profiling([GATEWAY_PROCESS], NAME, profiles):
        result = context.load(context.plan(system.gateway, [login]), "auth, login")
    latency = result.latency_summary()
    cores = min(settings.workers, os.cpu_count() or 1)
    bound = cores / hash_seconds
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
                f"argon2id bound, {cores} cores / hash cost",
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
            "login": result.as_json(),
            "profiles": profiles,
        },
    )


def verification_seconds(password_hash: str) -> float:
    """Median time of verifying PASSWORD against `password_hash`, in this process, one core."""
    hasher = PasswordHasher()
    timings = []
    for _ in range(HASH_TIMING_ROUNDS):
        started = time.perf_counter()
        hasher.verify(password_hash, PASSWORD)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
