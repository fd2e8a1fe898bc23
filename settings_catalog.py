"""Every setting of the system, declared once: name, who reads it, default, whether production
needs it, whether it is a secret, and what it means.

The README's configuration table is generated from here (`python -m settings_catalog`), compose
and `make run` are checked against it (tests/test_settings_catalog.py), and a service started
in production without a setting it requires refuses to start and names it (`require`).
Imports nothing of either service, so both may import it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

API: Final = "api"
# api_app's web process (gunicorn wsgi:api, the gateway): the one that signs tokens.
API_WEB: Final = "api web"
NOTIFY: Final = "notify"


@dataclass(frozen=True)
class Setting:
    # One variable, or several read together; `alternatives`: any one of them will do.
    names: tuple[str, ...]
    # Who reads it, as the table shows it.
    read_by: str
    default: str
    meaning: str
    # The services (API, NOTIFY) that refuse to start in production without it.
    required_by: frozenset[str] = frozenset()
    secret: bool = False
    alternatives: bool = False
    # Why `make run` (APP_ENV=development) may leave a required setting unset; None: it sets it.
    development_default: str | None = None

    @property
    def label(self) -> str:
        return (" / " if self.alternatives else ", ").join(f"`{name}`" for name in self.names)

    def given(self, environ: Mapping[str, str]) -> bool:
        present = [bool(environ.get(name)) for name in self.names]
        return any(present) if self.alternatives else all(present)


def _s(names: str, read_by: str, default: str, meaning: str, **facts: object) -> Setting:
    return Setting(tuple(names.split()), read_by, default, meaning, **facts)  # type: ignore[arg-type]


BOTH = frozenset({API, NOTIFY})

SETTINGS: Final[tuple[Setting, ...]] = (
    _s("API_DATABASE_URL", "api", "built from `DB_*` outside production",
       "PostgreSQL URL of `budget_api`", required_by=frozenset({API}), secret=True),
    _s("NOTIFY_DATABASE_URL", "notify, worker", "built from `DB_*` outside production",
       "PostgreSQL URL of `budget_notifications`", required_by=frozenset({NOTIFY}), secret=True),
    _s("PGPASSFILE", "api, notify, worker", "none", "libpq's password file: the database"
       " URLs then carry no password (compose: the service role's, from a secret file)"),
    _s("DB_HOST DB_PORT DB_USER DB_PASSWORD", "both", "`localhost`, `5432`, `budget`, `budget`",
       "used when a database URL is unset: `postgresql://DB_USER:DB_PASSWORD@DB_HOST:DB_PORT/"
       "budget_api` (resp. `budget_notifications`)", secret=True),
    _s("BROKER_URL", "all", "`redis://localhost:6379/0`", "Redis for the Celery broker",
       required_by=BOTH, secret=True),
    _s("BROKER_PASSWORD BROKER_PASSWORD_FILE", "all", "none", "the password of the user in"
       " `BROKER_URL` (`redis://USER@HOST:PORT/0`), kept out of the URL (compose: each process"
       " type's own Redis user, its password from a secret file)", secret=True,
       alternatives=True),
    _s("BROKER_SIGNING_KEY_EVENTS BROKER_SIGNING_KEY_EVENTS_FILE", "api, relay, api worker,"
       " worker", "none", "signs api_app's events; the notifications worker acts on no event"
       " without it (see [Security](#security))",
       secret=True, alternatives=True),
    _s("BROKER_SIGNING_KEY_BOT_COMMANDS BROKER_SIGNING_KEY_BOT_COMMANDS_FILE", "notify,"
       " api worker", "none", "signs notify_app's bot commands for the api worker", secret=True,
       alternatives=True),
    _s("BROKER_SIGNING_KEY_DELIVERIES BROKER_SIGNING_KEY_DELIVERIES_FILE", "notify, worker",
       "none", "signs notify_app's delivery tasks", secret=True, alternatives=True),
    _s("BROKER_SIGNING_KEY_NOTIFY_JOBS BROKER_SIGNING_KEY_NOTIFY_JOBS_FILE", "beat, worker",
       "none", "signs beat's jobs for the notifications worker (and the ping of tests and the"
       " bench)", secret=True, alternatives=True),
    _s("BROKER_SIGNING_KEY_API_JOBS BROKER_SIGNING_KEY_API_JOBS_FILE", "beat, api worker",
       "none", "signs beat's jobs for the api worker. Each key: `openssl rand -hex 32`, given"
       " only to its senders and the worker that consumes it; a worker without the key of a"
       " task it consumes refuses to start, a sender without it fails the send", secret=True,
       alternatives=True),
    _s("APP_ENV", "all", "`production`", "`development` generates a JWT key pair under"
       " `instance/keys`; `production` refuses to start without keys, or without any setting"
       " this table says production requires"),
    _s("JWT_PRIVATE_KEY JWT_PRIVATE_KEY_FILE", "api (its web process)", "none",
       "Ed25519 PEM private key that signs access tokens (and keys api_app's list cursors); only"
       " the web process needs it, the relay, the api worker and the migrations run without it",
       required_by=frozenset({API_WEB}),
       secret=True, alternatives=True,
       development_default="APP_ENV=development generates a pair under `instance/keys`"),
    _s("JWT_PUBLIC_KEY JWT_PUBLIC_KEY_FILE", "api, notify", "none",
       "its public half, which verifies them", required_by=BOTH, alternatives=True,
       development_default="APP_ENV=development generates a pair under `instance/keys`"),
    _s("NOTIFY_CURSOR_SECRET NOTIFY_CURSOR_SECRET_FILE", "notify, worker", "none",
       "notify_app's secret that keys the MAC of its list cursors (`openssl rand -hex 32`); api_app"
       " keys its cursors with its token signing key", required_by=frozenset({NOTIFY}),
       secret=True, alternatives=True,
       development_default="APP_ENV=development generates one under `instance/keys`"),
    _s("JWT_ISSUER JWT_AUDIENCE", "api, notify", "`budget-api`, `budget-services`",
       "`iss` and `aud` of access tokens"),
    _s("ACCESS_TOKEN_TTL_SECONDS", "api", "`900`", "access token lifetime"),
    _s("REFRESH_TOKEN_TTL_SECONDS", "api", "`2592000` (30 days)", "refresh token lifetime"),
    _s("REFRESH_REUSE_GRACE_SECONDS", "api", "`10`", "a used refresh token presented again this"
       " soon gets a new pair instead of signing the user out everywhere (see [Accounts and"
       " tokens](docs/architecture.md#accounts-and-tokens))"),
    _s("AUTH_RATE_LIMIT_PER_ADDRESS", "api", "`30 per minute`", "sign-up and sign-in attempts"
       " per client address ([flask-limiter notation](https://flask-limiter.readthedocs.io/en/"
       "stable/configuration.html#rate-limit-string-notation); join several with `;`)"),
    _s("AUTH_RATE_LIMIT_PER_EMAIL", "api", "`5 per minute`", "sign-up and sign-in attempts per"
       " account from one client address; also the password checks (password change, account"
       " deletion) per signed-in account"),
    _s("AUTH_RATE_LIMIT_PER_ACCOUNT", "api", "`1000 per hour`", "failed sign-ins per account"
       " from all addresses together, past which the account is slowed down, never locked (see"
       " [lockout resistance](docs/architecture.md#accounts-and-tokens))"),
    _s("AUTH_RATE_LIMIT_SLOWED", "api", "`3 per hour`", "while an account is slowed: failed"
       " sign-ins per account and client address; an address that has not failed on it (its"
       " owner's) is not slowed"),
    _s("SESSION_RATE_LIMIT_PER_ADDRESS", "api", "`60 per minute`", "`POST /api/auth/refresh` and"
       " `POST /api/auth/logout` together, per client address"),
    _s("WRITE_RATE_LIMIT_PER_USER", "api, notify", "`120 per minute`", "writes (POST, PUT,"
       " PATCH, DELETE) of one signed-in user, counted per service"),
    _s("DAILY_ROW_QUOTA_PER_USER", "api", "`20000`", "rows one user's requests may write per UTC"
       " day: transactions created (one, an import's rows, a recurring rule's catch-up) and"
       " recurring rules; past it 429 with `Retry-After` until midnight UTC, nothing written"),
    _s("REPORT_MONTHS_RATE_LIMIT_PER_USER", "api", "`720 per day`", "months of"
       " `GET /api/reports/monthly` per user (a 36-month report costs 36)"),
    _s("EXPORT_RATE_LIMIT_PER_USER", "api", "`30 per hour`",
       "`GET /api/transactions/export.csv` per user"),
    _s("INVITATION_LINK_URL", "api", "`/join` on the request's origin", "the page of your app"
       " that takes a ledger invitation's code and posts it to `POST /api/ledgers/join`; an"
       " invitation's `link` is it with `?code=<code>` (see [Households](#households))"),
    _s("TEST_MESSAGE_RATE_LIMIT", "notify", "`5 per hour`",
       "`POST /api/notifications/test` per user"),
    _s("TELEGRAM_LINK_RATE_LIMIT", "notify", "`10 per hour`",
       "`POST /api/notifications/telegram/link` per user"),
    _s("MAX_REQUEST_BODY_BYTES", "api, notify", "`1048576` (1 MiB)", "largest request body; 413"
       " beyond it (a route may allow more with `body_limit`; nginx allows each route the same)"),
    _s("TRUSTED_PROXY_COUNT", "api", "`0`", "reverse proxies in front of the api that append to"
       " `X-Forwarded-For` (compose: `1`, nginx); `0` uses the peer address"),
    _s("TELEGRAM_BOT_TOKEN", "notify, worker", "none", "bot token; in development, unset means"
       " deliveries are recorded as `skipped`", required_by=frozenset({NOTIFY}), secret=True,
       development_default="deliveries are recorded as `skipped`"),
    _s("TELEGRAM_API_URL", "notify, worker", "`https://api.telegram.org`",
       "Bot API base URL (tests point it at a local stand-in)"),
    _s("LOG_FORMAT", "all", "`json`",
       "`json`: one JSON object per line; `text` for humans (what `make run` uses)"),
    _s("LOG_LEVEL", "all", "`INFO`", "root log level"),
    _s("PROMETHEUS_MULTIPROC_DIR", "api, notify, worker", "none", "an empty directory per"
       " process group, so metrics add up across gunicorn workers and Celery children (`make"
       " run` and compose set it)"),
    _s("WORKER_METRICS_PORT WORKER_METRICS_ADDRESS", "worker", "`9540`, `127.0.0.1`",
       "where the worker serves `/metrics`; port `0` turns it off"),
    _s("GUNICORN_BIND GUNICORN_WORKERS GUNICORN_THREADS", "api, notify",
       "`0.0.0.0:8000`, 2 × CPUs + 1, `1`", "`gunicorn.conf.py`"),  # noqa: RUF001
    _s("TELEGRAM_BOT_USERNAME", "notify", "`budget_alerts_bot`", "the bot's username, for"
       " `https://t.me/<username>?start=<code>` links (`telegram doctor` compares it with the"
       " token's bot)", required_by=frozenset({NOTIFY}),
       development_default="links point at `budget_alerts_bot`"),
    _s("TELEGRAM_WEBHOOK_SECRET", "notify", "none", "the secret Telegram sends in"
       " `X-Telegram-Bot-Api-Secret-Token` (1-256 of `A-Z a-z 0-9 _ -`); unset rejects every"
       " webhook call", required_by=frozenset({NOTIFY}), secret=True,
       development_default="the webhook refuses every update"),
    _s("BOT_COMMANDS_PER_MINUTE", "notify", "`20`", "bot commands one chat may send per minute"
       " (see [Using the bot](docs/architecture.md#using-the-bot))"),
    _s("TELEGRAM_LINK_CODE_TTL_SECONDS", "notify", "`900`", "how long a link code stays valid"),
    _s("TELEGRAM_RATE_PER_SECOND", "worker", "`25`", "messages per second per worker process"
       " (Telegram allows a bot ~30/s in all: divide by the number of worker processes)"),
    _s("TELEGRAM_TIMEOUT_SECONDS", "worker", "`10`", "timeout of one sendMessage request"),
    _s("TELEGRAM_MAX_ATTEMPTS", "worker", "`4`", "requests per message on 5xx and network"
       " errors, with exponential backoff and jitter (429 waits do not count; at most 5 of"
       " them)"),
    _s("HTTPS_PROXY NO_PROXY REQUESTS_CA_BUNDLE", "worker, notify", "none", "a proxy towards"
       " the Bot API, hosts that bypass it, and a CA bundle in place of certifi's; read once"
       " when a process starts"),
    _s("BROKER_VISIBILITY_TIMEOUT_SECONDS", "worker, api worker", "`30`", "Redis visibility"
       " timeout: an unacknowledged task is handed out again after it; the last backstop, for"
       " an event whose worker died before its delivery row existed, and for a bot command or"
       " job whose api worker died (give both workers the same value: they share one set of"
       " unacknowledged tasks). Countdowns are capped at a third of it (see [Events and"
       " delivery](docs/architecture.md#events-and-delivery))"),
    _s("DELIVERY_LEASE_SECONDS", "worker", "`30`", "how long a worker holds a delivery while it"
       " sends it; a dead worker's delivery is swept once this ran out (and this long after"
       " PostgreSQL started: a live worker records its outcome through an outage). Keep it above"
       " `TELEGRAM_TIMEOUT_SECONDS`"),
    _s("DELIVERY_SWEEP_GRACE_SECONDS", "worker", "`10`", "a pending delivery this long past its"
       " due time with no lease lost its task, and is swept"),
    _s("DELIVERY_SWEEP_INTERVAL_SECONDS", "beat", "`5`",
       "how often beat schedules the delivery sweep"),
    _s("OUTBOX_PUBLISH_TIMEOUT_SECONDS", "api", "`1.0`", "connect/socket timeout of a publish"
       " to the broker; a down Redis costs a request about this much"),
    _s("OUTBOX_RELAY_INTERVAL_SECONDS", "api", "`1.0`",
       "how long the relay sleeps when nothing is left to publish"),
    _s("OUTBOX_RELAY_BATCH_SIZE", "api", "`100`", "events the relay claims per transaction"),
    _s("OUTBOX_RETENTION_HOURS", "api, api worker", "`168` (7 days)", "published outbox rows"
       " are purged after this (hourly, on beat's schedule; `outbox relay --once` too)"),
    _s("BUDGET_WARNING_THRESHOLDS", "api, notify", "`50,80,90`", "percentages of a category's"
       " limit whose crossing emits `budget.threshold_reached` (100 is `budget.limit_exceeded`),"
       " and the values users may choose for `warn_at_percent`; whole numbers from 1 to 99, and"
       " 80 (the default choice) must stay among them. Set it alike on both services"),
    _s("BROKER_PUBLISH_TIMEOUT_SECONDS", "notify", "`1.0`", "connect/socket timeout when `POST"
       " /api/notifications/test` hands its message to the worker"),
    _s("GATEWAY_BIND", "`make run`", "`127.0.0.1:8080`", "where the gateway listens"),
    _s("GATEWAY_PORT", "compose", "`8080`",
       "the loopback port compose publishes nginx on (`127.0.0.1:GATEWAY_PORT`)"),
    _s("BUILD_CA_BUNDLE", "compose", "none", "a CA bundle pip trusts while the image is built"
       " (behind a TLS-inspecting proxy: `/etc/ssl/certs/ca-certificates.crt`), passed as a"
       " build secret and kept out of the image"),
    _s("EMBEDDED_REDIS_PORT", "`make run`", "`6390`", "port of the embedded Redis"),
    _s("TEST_POSTGRES_URL", "tests", "embedded",
       "superuser URL; tests create and drop their own databases"),
    _s("TEST_REDIS_URL", "tests", "embedded",
       "Redis the tests may flush (use a database of its own, e.g. `/15`; `make test-fast`'s"
       " worker N takes the Nth database below it)"),
    _s("BENCH_*", "`make bench`", "see [Performance](bench/README.md)",
       "how long and how hard the benchmark pushes"),
    _s("FUZZ_MAX_EXAMPLES", "tests", "`10` (`make fuzz`: `300`)",
       "schemathesis cases per API operation"),
)  # fmt: skip


class MissingSettingError(RuntimeError):
    pass


def missing(service: str, environ: Mapping[str, str]) -> list[Setting]:
    """The settings `service` requires in production that `environ` does not give."""
    return [s for s in SETTINGS if service in s.required_by and not s.given(environ)]


def require(service: str, environ: Mapping[str, str]) -> None:
    """Refuse to start in production without a required setting, naming each one missing."""
    if environ.get("APP_ENV", "production") != "production":
        return
    absent = missing(service, environ)
    if absent:
        names = "; ".join(setting.label.replace("`", "") for setting in absent)
        raise MissingSettingError(
            f"{service} cannot start in production without: {names} (see README, Configuration)"
        )


def markdown_table(settings: Iterable[Setting] = SETTINGS) -> str:
    """The README's configuration table."""
    rows = [
        "| Variable | Read by | Default | Production | Meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for setting in settings:
        facts = []
        if setting.required_by:
            facts.append("required")
        if setting.secret:
            facts.append("secret")
        rows.append(
            f"| {setting.label} | {setting.read_by} | {setting.default} |"
            f" {', '.join(facts)} | {setting.meaning} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
