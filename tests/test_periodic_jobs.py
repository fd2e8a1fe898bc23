"""Periodic jobs on Celery beat: one schedule, each job in a worker of the service that owns its
data, each doing its work once however often (or late) it runs."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from api_app.budgets.month_close import previous_month
from api_app.events import month_closed_event_id
from event_contract import BUDGET_MONTH_CLOSED, NOTIFICATIONS_QUEUE, TASK_SIGNATURES
from scheduler import API_JOBS_QUEUE, CLOSE_MONTH_TASK, SCHEDULE
from service_kit.message_signing import signing_celery
from tests.eventually import eventually
from tests.parallel import in_parallel
from tests.people import outbox_payloads
from tests.pipeline import finished_delivery
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

# Early on November 1st, UTC: October has ended for every user in UTC.
NOW = datetime(2025, 11, 1, 0, 5, tzinfo=UTC)


def test_every_scheduled_job_runs_in_the_worker_of_the_service_that_owns_its_data(
    service_environment: dict[str, str],
) -> None:
    # Imported once the environment names the test broker: the Celery apps read it at import.
    import api_worker.tasks
    import worker.tasks

    registered = {
        API_JOBS_QUEUE: set(api_worker.tasks.celery_app.tasks),
        NOTIFICATIONS_QUEUE: set(worker.tasks.celery_app.tasks),
    }
    assert {name: entry["options"]["queue"] for name, entry in SCHEDULE.items()} == {
        "delivery-sweep": NOTIFICATIONS_QUEUE,
        "link-code-purge": NOTIFICATIONS_QUEUE,
        "month-close": API_JOBS_QUEUE,
        "recurring-transactions": API_JOBS_QUEUE,
        "refresh-token-purge": API_JOBS_QUEUE,
        "outbox-purge": API_JOBS_QUEUE,
    }
    for entry in SCHEDULE.values():
        assert entry["task"] in registered[entry["options"]["queue"]], entry


def test_the_schedule_is_in_utc(service_environment: dict[str, str]) -> None:
    from scheduler.beat import celery_app

    assert (celery_app.conf.timezone, celery_app.conf.enable_utc) == ("UTC", True)
    assert celery_app.conf.beat_schedule is SCHEDULE


def test_the_month_close_job_closes_the_previous_month_once(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    from api_app import jobs

    person = register()
    person.spend("Food", "12.34", "2025-10-05")

    with api.app_context():
        first = jobs.close_last_month(NOW)
        again = jobs.close_last_month(NOW)
        # Days of downtime later, still November: October is done already.
        late = jobs.close_last_month(NOW + timedelta(days=9))
    assert first.status == "done"
    assert first.result is not None
    assert (first.result.users, first.result.emitted) == (1, 1)
    assert (again.status, late.status) == ("already done", "already done")
    [payload] = outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)
    assert (payload["year"], payload["month"]) == (2025, 10)


def test_a_month_close_that_missed_the_first_runs_late_and_once(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    from api_app import jobs

    person = register()
    person.spend("Food", "7.00", "2025-10-31")
    with api.app_context():
        # The system was down from October 31st to November 6th: the first run after it closes
        # October.
        outcome = jobs.close_last_month(datetime(2025, 11, 6, 12, tzinfo=UTC))
    assert outcome.status == "done"
    assert len(outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)) == 1


def test_the_month_stays_open_while_a_user_waits_for_it_to_end_in_their_time_zone(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    from api_app import jobs
    from api_app.extensions import db
    from api_app.models import User

    utc_user, la_user = register(), register()
    for person in (utc_user, la_user):
        person.spend("Food", "5.00", "2025-10-20")
    with api.app_context():
        db.session.execute(
            update(User).where(User.id == la_user.id).values(timezone="America/Los_Angeles")
        )
        db.session.commit()
        early = jobs.close_last_month(NOW)  # 17:05 on October 31st in Los Angeles
        later = jobs.close_last_month(NOW + timedelta(hours=8))
        done = jobs.close_last_month(NOW + timedelta(hours=9))
    assert (early.status, later.status, done.status) == ("partly done", "done", "already done")
    assert early.result is not None
    assert (early.result.emitted, early.result.waiting) == (1, 1)
    for person in (utc_user, la_user):
        assert len(outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)) == 1


def test_two_replicas_closing_the_same_month_at_once_close_it_once(
    register: Callable[[], SignedInUser], api: Flask, notify: Flask
) -> None:
    from api_app import jobs
    from api_app.extensions import db
    from api_app.models import JobRun

    people = [register() for _ in range(3)]
    for person in people:
        person.spend("Food", "1.00", "2025-10-10")

    def replica() -> str:
        with api.app_context():
            return jobs.close_last_month(NOW).status

    statuses = in_parallel(replica, replica)

    assert "done" in statuses
    assert statuses.count("done") + statuses.count("busy") + statuses.count("already done") == 2
    for person in people:
        assert len(outbox_payloads(api, person.id, BUDGET_MONTH_CLOSED)) == 1
    with api.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_the_refresh_token_purge_job_deletes_expired_tokens(api: Flask) -> None:
    from api_app import jobs
    from api_app.extensions import db
    from api_app.models import RefreshToken, User

    with api.app_context():
        user = User(email=f"{secrets.token_hex(4)}@example.com", password_hash="unusable")
        db.session.add(user)
        db.session.flush()
        now = datetime.now(UTC)
        for token, expires_at in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(hours=1)),
        ):
            db.session.add(RefreshToken(user_id=user.id, token=token, expires_at=expires_at))
        db.session.commit()
        assert jobs.purge_refresh_tokens() == 1
        assert jobs.purge_refresh_tokens() == 0
        assert db.session.scalars(select(RefreshToken.token)).all() == ["live"]


def test_the_link_code_purge_job_deletes_expired_codes(notify: Flask) -> None:
    import uuid

    from notify_app.extensions import db
    from notify_app.linking.service import purge_link_codes
    from notify_app.models import TelegramLinkCode

    with notify.app_context():
        now = datetime.now(UTC)
        user_id = uuid.uuid4()
        for digest, expires_at in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(minutes=5)),
        ):
            db.session.add(
                TelegramLinkCode(user_id=user_id, code_digest=digest, expires_at=expires_at)
            )
        db.session.commit()
        assert purge_link_codes() == 1
        assert purge_link_codes() == 0
        assert db.session.scalars(select(TelegramLinkCode.code_digest)).all() == ["live"]


@pytest.fixture
def api_worker_process(api_worker: LaunchedProcess) -> Path:
    """The session's api worker: a second one would compete with it for the task."""
    return api_worker.log_path


def test_the_scheduled_month_close_reaches_telegram_through_the_api_worker(
    register: Callable[[], SignedInUser],
    api: Flask,
    notify: Flask,
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
    api_worker_process: Path,
    service_environment: dict[str, str],
) -> None:
    """What beat does on the hour: the month-close task, by name, on the api_jobs queue."""
    year, month = previous_month(datetime.now(UTC).date())
    person = register()
    person.settings(telegram_chat_id="6001", notify_monthly_digest=True)
    person.spend("Food", "3.50", f"{year}-{month:02d}-01")

    client = signing_celery(
        "beat-stand-in", TASK_SIGNATURES, broker=service_environment["BROKER_URL"]
    )
    try:
        client.send_task(CLOSE_MONTH_TASK, queue=API_JOBS_QUEUE)
    finally:
        client.close()

    delivery = finished_delivery(notify, month_closed_event_id(person.id, year, month), timeout=90)
    assert delivery.status == "sent"
    eventually(lambda: [m for m in telegram.messages if m["chat_id"] == "6001"], "the digest")
    assert "Task api.close_month[" in api_worker_process.read_text()
