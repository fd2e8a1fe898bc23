"""GET /api/notifications/history and POST /api/notifications/test, with the api's tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2
from flask import Flask
from flask.testing import FlaskClient

from service_kit.pagination import MAC_BYTES as CURSOR_MAC_BYTES
from tests.conftest import NOTIFY_CURSOR_SECRET, ServiceDatabases
from tests.eventually import eventually
from tests.pipeline import finished_delivery, limit_exceeded, record, set_settings
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser

CHAT_ID = "987654321"
TEST_TEXT = "Test message: your budget notifications will arrive in this chat."


def test_history_lists_the_users_deliveries_newest_first_in_pages(
    api: Flask,
    notify: Flask,
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    user, other = make_user(), make_user()
    set_settings(notify, user.id, chat_id=CHAT_ID)
    events = [limit_exceeded(user.id, category_name=f"Category {n}") for n in range(3)]
    for event in events:  # one commit each: created_at orders them
        record(api, event)
        finished_delivery(notify, event.id)
    foreign = limit_exceeded(other.id)
    record(api, foreign)
    finished_delivery(notify, foreign.id)

    first = notify_client.get("/api/notifications/history?page=1&page_size=2", headers=user.headers)
    assert first.status_code == 200, first.json
    assert [item["event_id"] for item in first.json] == [str(events[2].id), str(events[1].id)]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    newest = first.json[0]
    assert newest["status"] == "sent"
    assert newest["channel"] == "telegram"
    assert newest["event_type"] == "budget.limit_exceeded"
    assert newest["text"].startswith("Budget alert: Category 2 for November 2026")
    assert newest["chat_id"] == CHAT_ID
    assert newest["attempts"] == 1
    assert newest["reason"] is None
    assert newest["last_error"] is None
    assert newest["sent_at"] is not None

    second = notify_client.get(
        "/api/notifications/history?page=2&page_size=2", headers=user.headers
    )
    assert [item["event_id"] for item in second.json] == [str(events[0].id)]

    others = notify_client.get("/api/notifications/history", headers=other.headers)
    assert [(item["event_id"], item["status"]) for item in others.json] == [
        (str(foreign.id), "skipped")
    ]
    assert others.json[0]["reason"] == "no Telegram chat id is set"


def test_history_and_test_message_need_an_access_token(notify_client: FlaskClient) -> None:
    assert notify_client.get("/api/notifications/history").status_code == 401
    assert notify_client.post("/api/notifications/test").status_code == 401


def test_a_test_message_without_a_chat_id_is_a_conflict(
    notify: Flask,
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    telegram: TelegramStandIn,
) -> None:
    user, unregistered = make_user(), make_user()
    set_settings(notify, user.id, chat_id=None)

    for who in (user, unregistered):
        response = notify_client.post("/api/notifications/test", headers=who.headers)
        assert response.status_code == 409
        assert response.json["code"] == 409
        assert response.json["message"] == "Link a Telegram chat before sending a test message."
    history = notify_client.get("/api/notifications/history", headers=user.headers)
    assert history.json == []
    assert telegram.calls == []


def test_a_test_message_is_accepted_and_reaches_the_chat(
    notify: Flask,
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    telegram: TelegramStandIn,
    celery_worker: LaunchedProcess,
) -> None:
    user = make_user()
    set_settings(notify, user.id, chat_id=CHAT_ID)

    response = notify_client.post("/api/notifications/test", headers=user.headers)

    assert response.status_code == 202, response.json
    assert response.json["status"] == "pending"
    assert response.json["event_type"] == "notification.test"
    [message] = telegram.wait_for_messages(1, timeout=30)
    assert (message["chat_id"], message["text"]) == (CHAT_ID, TEST_TEXT)
    delivery = finished_delivery(notify, uuid.UUID(response.json["event_id"]))
    assert (delivery.status, delivery.text) == ("sent", TEST_TEXT)

    def listed_as_sent() -> bool:
        history = notify_client.get("/api/notifications/history", headers=user.headers)
        return [item["status"] for item in history.json] == ["sent"]

    eventually(listed_as_sent, "the test message in the history")


def test_a_test_message_with_the_broker_down_is_unavailable_and_logged_failed(
    notify: Flask, make_user: Callable[[], SignedInUser], telegram: TelegramStandIn
) -> None:
    import notify_app
    from devstack.servers import free_port

    unreachable = notify_app.create_app(
        {"TESTING": True, "BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )
    user = make_user()
    set_settings(notify, user.id, chat_id=CHAT_ID)
    client = unreachable.test_client()

    response = client.post("/api/notifications/test", headers=user.headers)

    assert response.status_code == 503
    assert response.json["message"] == "Notifications are unavailable right now; try again later."
    [logged] = client.get("/api/notifications/history", headers=user.headers).json
    assert logged["status"] == "failed"
    # Without the broker's address: that is for the log, not for users.
    assert logged["last_error"] == "the worker queue is unavailable"
    assert telegram.calls == []


def insert_deliveries(notify_url: str, user_id: uuid.UUID, count: int) -> None:
    """`count` skipped deliveries in one statement: one created_at, so the id orders them."""
    with psycopg2.connect(notify_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO deliveries (event_id, event_type, channel, user_id, status, text)"
            " SELECT gen_random_uuid(), 'budget.limit_exceeded', 'telegram', %s, 'skipped',"
            " 'text ' || n FROM generate_series(1, %s) AS n",
            (str(user_id), count),
        )
    connection.close()


def test_history_walks_by_cursor_and_refuses_other_cursors(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    test_databases: ServiceDatabases,
) -> None:
    user, other = make_user(), make_user()
    insert_deliveries(test_databases.notify_url, user.id, 5)
    insert_deliveries(test_databases.notify_url, user.id, 2)
    insert_deliveries(test_databases.notify_url, other.id, 3)
    everything = notify_client.get("/api/notifications/history?page_size=100", headers=user.headers)
    assert len(everything.json) == 7

    walked, path = [], "/api/notifications/history?page_size=2"
    first_cursor = json.loads(
        notify_client.get(path, headers=user.headers).headers["X-Pagination"]
    )["next_cursor"]
    next_page = [path]

    def walk_a_page() -> bool:
        """Read the next page; whether it was the last."""
        response = notify_client.get(next_page[0], headers=user.headers)
        assert response.status_code == 200, response.json
        walked.extend(response.json)
        metadata = json.loads(response.headers["X-Pagination"])
        assert metadata["total"] == 7
        next_page[0] = f"{path}&cursor={metadata['next_cursor']}"
        return metadata["next_cursor"] is None

    eventually(walk_a_page, "the last page of 7 deliveries by 2", tries=4, pause=0)
    assert walked == everything.json

    for forged in [first_cursor[:-2], first_cursor + "A", "nonsense"]:
        refused = notify_client.get(f"{path}&cursor={forged}", headers=user.headers)
        assert refused.status_code == 422
        assert set(refused.json) == {"code", "status", "message", "errors"}
    foreign = notify_client.get(f"{path}&cursor={first_cursor}", headers=other.headers)
    assert foreign.status_code == 422


def test_a_cursor_keyed_with_the_public_token_key_is_refused(
    notify_client: FlaskClient,
    make_user: Callable[[], SignedInUser],
    test_databases: ServiceDatabases,
    signing_key_files: tuple[Path, Path],
) -> None:
    """Cursors are keyed with notify_app's own secret (NOTIFY_CURSOR_SECRET), not with the
    token verification key, which anyone may hold: a cursor whose MAC was made with that public
    key is refused, one made the same way with the secret is taken."""
    user = make_user()
    insert_deliveries(test_databases.notify_url, user.id, 3)
    path = "/api/notifications/history?page_size=1"
    first_page = notify_client.get(path, headers=user.headers)
    genuine = json.loads(first_page.headers["X-Pagination"])["next_cursor"]
    raw = base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4))
    position = raw[:-CURSOR_MAC_BYTES]
    # Which list of whom the MAC covers: endpoint, user id, the view's filters and arguments.
    identity = json.dumps(["deliveries.History", str(user.id), [], {}], sort_keys=True).encode()

    def cursor_keyed_with(secret: str) -> str:
        key = hashlib.sha256(b"list cursors\0" + secret.encode()).digest()
        mac = hmac.new(key, identity + b"\0" + position, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(position + mac[:CURSOR_MAC_BYTES]).rstrip(b"=").decode()

    assert cursor_keyed_with(NOTIFY_CURSOR_SECRET) == genuine
    _, public_key = signing_key_files
    forged = cursor_keyed_with(public_key.read_text())
    refused = notify_client.get(f"{path}&cursor={forged}", headers=user.headers)
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"query": {"cursor": ["Not a cursor of this list."]}}
    second_page = notify_client.get(f"{path}&cursor={genuine}", headers=user.headers)
    assert second_page.status_code == 200
    assert len(second_page.json) == 1
    assert second_page.json != first_page.json
