"""A local stand-in for the Telegram Bot API, for tests, benchmarks and smoke checks.

Telegram is the only outside party of the notification service, so instead of mocking
the HTTP client the tests point ``TELEGRAM_API_URL`` at this real HTTP server and look
at what it was sent. It answers like Telegram does (``{"ok": ..., "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}``) and can be scripted to fail.

In-process use::

    with TelegramStandIn() as telegram:
        telegram.enqueue_response(429, retry_after_seconds=1)
        ...  # code under test posts to f"{telegram.url}/bot<token>/sendMessage"
        [message] = telegram.wait_for_messages(1)

sendPhoto arrives as multipart/form-data: its fields are recorded as strings, the photo as
``{"filename", "content_type", "size", "base64"}`` (``telegram.photos``).

As a separate process (benchmarks, ``make run`` smoke check)::

    python tests/telegram_standin.py --port 0 --record /tmp/telegram.jsonl

prints its URL as the first line on stdout, then serves until SIGTERM/SIGINT,
appending one JSON object per received call to the record file.

It keeps Telegram's rules (the Bot API's documented limits, answered with Telegram's own
descriptions): texts of at most 4,096 and captions of at most 1,024 UTF-16 code units after
``parse_mode`` entities are parsed; photos of at most 10 MB, width + height at most 10,000 and a
side ratio of at most 20; 403 for a chat that blocked the bot (``block``); ``setWebhook`` with
``allowed_updates`` and ``secret_token``, ``getWebhookInfo`` with ``last_error_message``;
``deliver_update`` posts an update to the webhook as Telegram does, never one of a type the
webhook did not allow (``my_chat_member`` too: the bot added to or removed from a group), nor
one with chat ids Telegram never sends (a group's id is negative, a private chat's is its
sender's, positive), and carries out the Bot API call the webhook answers with; a
``callback_query`` must be answered (``answerCallbackQuery``) within ``callback_answer_seconds``.

It deliberately depends on nothing but the standard library so that it can run as a
script from any interpreter and is not itself collected as a test module.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import signal
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["RecordedCall", "ScriptedResponse", "TelegramStandIn"]

_METHOD_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?$")

# Telegram's wording for the errors tests usually script, so that code matching on the
# description (e.g. "bot was blocked") is exercised with realistic text.
_ERROR_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Telegram's limit for sendMessage text, after entity parsing, in UTF-16 code units.
MAX_MESSAGE_LENGTH = 4096
# And for a photo's caption.
MAX_CAPTION_LENGTH = 1024
# sendPhoto: "The photo must be at most 10 MB in size. The photo's width and height must not
# exceed 10000 in total. Width and height ratio must be at most 20."
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_SIDES = 10000
MAX_PHOTO_RATIO = 20
# The update types a webhook gets when setWebhook names none: all but these.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
})  # fmt: skip
# secret_token: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed."
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# What posts an update to the webhook: (url, headers, body) -> (status, body). urllib by default;
# tests with in-process apps hand their test client over instead.
WebhookTransport = Callable[[str, Mapping[str, str], bytes], tuple[int, bytes]]


@dataclass(frozen=True)
class RecordedCall:
    """One request received on ``/bot<token>/<method>``.

    ``received_at`` is wall-clock time (``time.time()``) so that records written by a
    stand-in running in another process can be compared with the reader's clock.
    ``response_status`` is the status the stand-in chose to answer with.
    """

    token: str
    method: str
    payload: dict[str, Any]
    received_at: float
    response_status: int

    def to_json_line(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class ScriptedResponse:
    status: int
    body: dict[str, Any] | str | None = None
    # None means "use the stand-in's default_delay_seconds at the time of the call".
    delay_seconds: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after_seconds: int = 1


@dataclass(frozen=True)
class WebhookDelivery:
    """One update posted to the webhook: the status and JSON body it was answered with."""

    update: dict[str, Any]
    status: int
    answer: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class TelegramStandIn:
    """Threaded HTTP server on 127.0.0.1 that records Bot API calls and answers them.

    Scripted responses (``enqueue_response``) are consumed in order, per Bot API method;
    once a method's queue is empty it gets the default answer (success for sendMessage,
    with an incrementing ``message_id``). All accessors are safe to use from any thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        record_path: str | Path | None = None,
        default_delay_seconds: float = 0.0,
        accepted_tokens: Collection[str] | None = None,
        log_requests: bool = False,
        hold_first_call: tuple[str, float] | None = None,
        keep_alive: bool = False,
        bot_username: str = "standin_bot",
        callback_answer_seconds: float = 15.0,
        webhook_transport: WebhookTransport | None = None,
        allow_http_webhook: bool = False,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._record_path = Path(record_path) if record_path is not None else None
        # A plain attribute on purpose: tests flip it while the server runs to make
        # Telegram slow (widening crash windows); a float assignment is atomic.
        self.default_delay_seconds = default_delay_seconds
        # None accepts any token; otherwise unknown tokens get Telegram's 401.
        self.accepted_tokens = frozenset(accepted_tokens) if accepted_tokens is not None else None
        self.log_requests = log_requests
        # (prefix, seconds): the first sendMessage to a chat id with that prefix is answered only
        # after that long, so a crash can be timed to land while its send is in flight.
        self.hold_first_call = hold_first_call
        # HTTP/1.1 with kept-alive connections, as the real Bot API answers (the bench: a
        # connection per message would measure TCP set-up, not us). Tests keep HTTP/1.0, so a
        # stopped stand-in never answers on a connection left in a client's pool.
        self.keep_alive = keep_alive
        # getMe's answer; doctor compares it with TELEGRAM_BOT_USERNAME. BotFather's defaults:
        # the bot may be added to groups (/setjoingroups), in privacy mode (/setprivacy).
        self.bot_username = bot_username
        self.can_join_groups = True
        self.can_read_all_group_messages = False
        # How long a button press waits for answerCallbackQuery (the user sees a spinner).
        self.callback_answer_seconds = callback_answer_seconds
        self.webhook_transport = webhook_transport or _post_over_http
        # Telegram posts to HTTPS URLs only; a stand-in on a private network (the compose
        # smoke) may be allowed plain HTTP.
        self.allow_http_webhook = allow_http_webhook

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._scripted: dict[str, deque[ScriptedResponse]] = {}
        self._next_message_id = 1
        self._record_file: IO[str] | None = None
        self._webhook: dict[str, Any] = _no_webhook()
        self._blocked: set[str] = set()
        # callback_query id -> when it was delivered; answered ones are removed.
        self._open_queries: dict[str, float] = {}

        self._server: _StandInServer | None = None
        self._thread: threading.Thread | None = None
        # Set on stop() so that responses still sleeping out a delay are abandoned
        # instead of keeping stop() (or the test) waiting.
        self._stopping = threading.Event()
        # Cleared by hold_answers(): calls are recorded as they arrive, answered once it is set.
        self._answering = threading.Event()
        self._answering.set()

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> TelegramStandIn:
        if self._server is not None:
            raise RuntimeError("TelegramStandIn is already running")
        self._stopping.clear()
        if self._record_path is not None:
            self._record_file = self._record_path.open("a", encoding="utf-8")
        handler = _KeptAliveBotApiHandler if self.keep_alive else _BotApiHandler
        self._server = _StandInServer((self._host, self._requested_port), self, handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"telegram-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            self._server = None
            self._thread = None
            if self._record_file is not None:
                self._record_file.close()
                self._record_file = None

    def hold_answers(self) -> None:
        """Answer no call until release_answers(): a test makes a fault land while a send is
        in flight (the call arrived, its answer not yet), whatever the fault takes."""
        self._answering.clear()

    def release_answers(self) -> None:
        self._answering.set()

    def __enter__(self) -> TelegramStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("TelegramStandIn is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to use as TELEGRAM_API_URL, without a trailing slash."""
        return f"http://{self._host}:{self.port}"

    # -- scripting ----------------------------------------------------------------

    def enqueue_response(
        self,
        status: int,
        body: dict[str, Any] | str | None = None,
        delay_seconds: float | None = None,
        *,
        method: str = "sendMessage",
        retry_after_seconds: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next not-yet-answered call of ``method`` with ``status``.

        Without ``body``: a 2xx gets the default success answer, anything else
        Telegram's error shape (with ``parameters.retry_after`` for 429). A ``str``
        body is sent as-is as text/html, like an error page from a proxy would be.
        """
        scripted = ScriptedResponse(
            status=status,
            body=body,
            delay_seconds=delay_seconds,
            headers=dict(headers or {}),
            retry_after_seconds=retry_after_seconds,
        )
        with self._lock:
            self._scripted.setdefault(method, deque()).append(scripted)

    def clear(self) -> None:
        """Forget recorded calls, pending scripted responses, the webhook and blocked chats.

        Message ids keep increasing, as Telegram's do, so ids from before and after a
        clear() never collide.
        """
        with self._lock:
            self._calls.clear()
            self._scripted.clear()
            self._webhook = _no_webhook()
            self._blocked.clear()
            self._open_queries.clear()

    def block(self, chat_id: str | int) -> None:
        """The user of this chat blocks the bot: sends to it are answered 403 from now on."""
        with self._lock:
            self._blocked.add(str(chat_id))

    @property
    def webhook_info(self) -> dict[str, Any]:
        """What getWebhookInfo answers."""
        with self._lock:
            return _webhook_info(self._webhook)

    def deliver_update(self, update: dict[str, Any]) -> WebhookDelivery | None:
        """Post `update` to the webhook, as Telegram does; None when Telegram would not.

        Not delivered: no webhook is set, or the update's type is not among its
        allowed_updates. The secret_token goes along in X-Telegram-Bot-Api-Secret-Token. An
        answer other than 2xx becomes getWebhookInfo's last_error_message (Telegram would try
        again later); a 2xx answer that names a Bot API method is carried out like a call.
        """
        problem = _chat_id_problem(update)
        if problem is not None:
            # Telegram never sends such an update: the test that built it is wrong.
            raise ValueError(f"not an update Telegram sends: {problem}")
        kinds = [key for key in update if key in UPDATE_TYPES]
        with self._lock:
            webhook = dict(self._webhook)
        if not webhook["url"] or not kinds or kinds[0] not in _allowed(webhook):
            return None
        headers = {"Content-Type": "application/json"}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        query = update.get("callback_query")
        if isinstance(query, dict):
            with self._lock:
                self._open_queries[str(query.get("id"))] = time.monotonic()
        try:
            status, raw = self.webhook_transport(
                webhook["url"], headers, json.dumps(update).encode()
            )
        except OSError as error:
            self._webhook_failed(str(getattr(error, "reason", error)))
            return WebhookDelivery(update, 0, None)
        try:
            answer = json.loads(raw) if raw.strip() else None
        except ValueError:
            answer = None
        if not 200 <= status < 300:
            self._webhook_failed(f"Wrong response from the webhook: {status} {_reason(status)}")
            return WebhookDelivery(update, status, answer)
        if isinstance(answer, dict) and isinstance(answer.get("method"), str):
            payload = {key: value for key, value in answer.items() if key != "method"}
            self._answer("webhook-reply", answer["method"], payload)
        return WebhookDelivery(update, status, answer)

    @property
    def unanswered_callback_queries(self) -> list[str]:
        """Button presses delivered and not (yet) answered with answerCallbackQuery."""
        with self._lock:
            return list(self._open_queries)

    def _webhook_failed(self, message: str) -> None:
        with self._lock:
            self._webhook["last_error_date"] = int(time.time())
            self._webhook["last_error_message"] = message

    # -- inspection ---------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def connections(self) -> int:
        """TCP connections accepted since the start."""
        return 0 if self._server is None else self._server.connections

    def calls_for(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Payloads of every sendMessage call received, whatever it was answered."""
        return [call.payload for call in self.calls_for("sendMessage")]

    @property
    def delivered_messages(self) -> list[dict[str, Any]]:
        """Payloads of sendMessage calls that were answered with success.

        Like real Telegram, a message counts as delivered even if the client gave up
        waiting for the answer (its timeout was shorter than the response delay).
        """
        return [
            call.payload
            for call in self.calls_for("sendMessage")
            if 200 <= call.response_status < 300
        ]

    def wait_for_calls(
        self, count: int, *, method: str | None = None, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """Wait until at least ``count`` calls (of ``method``, if given) have arrived.

        Raises AssertionError listing what did arrive, so a test fails clearly instead
        of hanging when the code under test never calls Telegram.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [c for c in self._calls if method is None or c.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    what = f"{method} call(s)" if method else "call(s)"
                    received = [(c.method, c.payload) for c in self._calls]
                    raise AssertionError(
                        f"expected at least {count} {what} to the Telegram stand-in within "
                        f"{timeout}s, got {len(matching)}; all calls received: {received!r}"
                    )
                self._changed.wait(remaining)

    @property
    def photos(self) -> list[dict[str, Any]]:
        """Payloads of every sendPhoto call received (the photo as {"filename", "content_type",
        "size", "base64"}), whatever it was answered."""
        return [call.payload for call in self.calls_for("sendPhoto")]

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait for ``count`` sendMessage calls and return all their payloads so far."""
        calls = self.wait_for_calls(count, method="sendMessage", timeout=timeout)
        return [call.payload for call in calls]

    # -- request handling (called from server threads) ------------------------------

    def _answer(
        self, token: str, method: str, payload: dict[str, Any]
    ) -> tuple[int, bytes, str, dict[str, str], float]:
        """Decide the answer to one call, record it, and return what to send."""
        with self._lock:
            scripted: ScriptedResponse | None = None
            if self.accepted_tokens is not None and token not in self.accepted_tokens:
                scripted = ScriptedResponse(status=401)
            else:
                queue = self._scripted.get(method)
                if queue:
                    scripted = queue.popleft()

            body: dict[str, Any] | str
            if scripted is None or (scripted.body is None and 200 <= scripted.status < 300):
                status, body = self._default_answer(method, payload)
            elif scripted.body is None:
                status, body = (
                    scripted.status,
                    _error_body(scripted.status, scripted.retry_after_seconds),
                )
            else:
                status, body = scripted.status, scripted.body
            delay = self.default_delay_seconds
            if self.hold_first_call is not None and method == "sendMessage":
                prefix, hold_seconds = self.hold_first_call
                chat_id = str(payload.get("chat_id", ""))
                if chat_id.startswith(prefix) and not any(
                    str(earlier.payload.get("chat_id")) == chat_id for earlier in self._calls
                ):
                    delay = hold_seconds
            headers: dict[str, str] = {}
            if scripted is not None:
                if scripted.delay_seconds is not None:
                    delay = scripted.delay_seconds
                headers = dict(scripted.headers)

            call = RecordedCall(
                token=token,
                method=method,
                payload=payload,
                received_at=time.time(),
                response_status=status,
            )
            self._calls.append(call)
            if self._record_file is not None:
                # Flushed per line: another process tails this file while we run.
                self._record_file.write(call.to_json_line() + "\n")
                self._record_file.flush()
            self._changed.notify_all()

        if isinstance(body, str):
            return status, body.encode("utf-8"), "text/html; charset=utf-8", headers, delay
        encoded = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return status, encoded, "application/json", headers, delay

    def _default_answer(self, method: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # Called with self._lock held.
        if method in ("sendMessage", "sendPhoto"):
            return self._send(method, payload)
        if method == "setWebhook":
            return self._set_webhook(payload)
        if method == "deleteWebhook":
            self._webhook = _no_webhook()
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if method == "getWebhookInfo":
            return 200, {"ok": True, "result": _webhook_info(self._webhook)}
        if method == "getMe":
            bot = {
                "id": 1,
                "is_bot": True,
                "first_name": "Stand-in",
                "username": self.bot_username,
                "can_join_groups": self.can_join_groups,
                "can_read_all_group_messages": self.can_read_all_group_messages,
            }
            return 200, {"ok": True, "result": bot}
        if method == "answerCallbackQuery":
            delivered_at = self._open_queries.pop(str(payload.get("callback_query_id")), None)
            if (
                delivered_at is None
                or time.monotonic() - delivered_at > self.callback_answer_seconds
            ):
                return 400, _error_body(400, description=QUERY_TOO_OLD)
            text = payload.get("text")
            if isinstance(text, str) and _utf16_length(text) > 200:
                return 400, _error_body(400, description="Bad Request: MESSAGE_TOO_LONG")
            return 200, {"ok": True, "result": True}
        return 200, {"ok": True, "result": True}

    def _send(self, method: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = payload.get("chat_id")
        if chat_id in (None, ""):
            return 400, _error_body(400, description="Bad Request: chat_id is empty")
        if str(chat_id) in self._blocked:
            return 403, _error_body(403, description=BLOCKED)
        field_name = "text" if method == "sendMessage" else "caption"
        value = payload.get(field_name, "")
        if not isinstance(value, str):
            return 400, _error_body(400, description=f"Bad Request: {field_name} must be a string")
        try:
            shown = _parsed(value, payload.get("parse_mode"))
        except _EntityError as error:
            return 400, _error_body(400, description=f"Bad Request: can't parse entities: {error}")
        if method == "sendMessage":
            if not shown.strip():
                return 400, _error_body(400, description="Bad Request: message text is empty")
            if _utf16_length(shown) > MAX_MESSAGE_LENGTH:
                return 400, _error_body(400, description="Bad Request: message is too long")
        else:
            photo = payload.get("photo")
            if not isinstance(photo, dict) or not photo.get("size"):
                return 400, _error_body(400, description="Bad Request: there is no photo")
            if _utf16_length(shown) > MAX_CAPTION_LENGTH:
                return 400, _error_body(400, description="Bad Request: message caption is too long")
            problem = _photo_problem(base64.b64decode(photo.get("base64", "")))
            if problem is not None:
                return 400, _error_body(400, description=f"Bad Request: {problem}")
        message_id = self._next_message_id
        self._next_message_id += 1
        result: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id},
        }
        if method == "sendMessage":
            result["text"] = shown
        return 200, {"ok": True, "result": result}

    def _set_webhook(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = str(payload.get("url") or "")
        secret = payload.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            description = "Bad Request: secret token contains unallowed characters"
            return 400, _error_body(400, description=description)
        allowed = payload.get("allowed_updates")
        if isinstance(allowed, str):  # a form field carries the list as JSON
            allowed = json.loads(allowed)
        if allowed is not None and (
            not isinstance(allowed, list) or not set(allowed) <= UPDATE_TYPES
        ):
            return 400, _error_body(400, description="Bad Request: can't parse allowed updates")
        if not url:
            self._webhook = _no_webhook()
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        schemes = ("https://", "http://") if self.allow_http_webhook else ("https://",)
        if not url.startswith(schemes):
            description = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            return 400, _error_body(400, description=description)
        self._webhook = {
            **_no_webhook(),
            "url": url,
            "secret_token": secret,
            # An empty list keeps the types of the previous setWebhook (none: the default).
            "allowed_updates": allowed or self._webhook.get("allowed_updates"),
        }
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}


# Chat types whose ids Telegram makes negative (a group's -4..., a supergroup's or channel's
# -100...); a private chat's id is its user's, positive.
_NEGATIVE_CHAT_TYPES = frozenset({"group", "supergroup", "channel"})


def _chat_id_problem(update: Mapping[str, Any]) -> str | None:
    """What breaks Telegram's rules for chat ids in an update's chat (a message's, a button
    press's message's, a my_chat_member's), None when nothing does: a group's id is negative,
    a private chat's is positive and is its sender's `from.id`."""
    for key in ("message", "callback_query", "my_chat_member", "chat_member"):
        part = update.get(key)
        if not isinstance(part, dict):
            continue
        carrier = part.get("message") if key == "callback_query" else part
        chat = carrier.get("chat") if isinstance(carrier, dict) else None
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
            continue
        chat_id, kind = chat["id"], chat.get("type")
        if kind in _NEGATIVE_CHAT_TYPES and chat_id >= 0:
            return f"a {kind} chat's id is negative, not {chat_id}"
        if kind == "private":
            if chat_id <= 0:
                return f"a private chat's id is its user's, positive, not {chat_id}"
            sender = part.get("from")
            if key == "message" and isinstance(sender, dict) and sender.get("id") != chat_id:
                return f"a private chat's id is its sender's, {sender.get('id')}, not {chat_id}"
    return None


def _no_webhook() -> dict[str, Any]:
    return {
        "url": "",
        "secret_token": None,
        "allowed_updates": None,
        "last_error_date": None,
        "last_error_message": None,
    }


def _allowed(webhook: Mapping[str, Any]) -> frozenset[str]:
    named = webhook.get("allowed_updates")
    return frozenset(named) if named else UPDATE_TYPES - NOT_DELIVERED_BY_DEFAULT


def _webhook_info(webhook: Mapping[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": webhook["url"],
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }
    if webhook["url"]:
        info["max_connections"] = 40
        if webhook["allowed_updates"]:
            info["allowed_updates"] = list(webhook["allowed_updates"])
    for key in ("last_error_date", "last_error_message"):
        if webhook[key] is not None:
            info[key] = webhook[key]
    return info


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _post_over_http(url: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    # setWebhook took http(s) URLs only.
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def _utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: a character outside the BMP takes two."""
    return len(text.encode("utf-16-le")) // 2


class _EntityError(ValueError):
    pass


# The tags of parse_mode HTML (the Bot API's "HTML style").
_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
})  # fmt: skip
_HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)?([^<>]*)>|<|&[^;\s]*;?")
_HTML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
# MarkdownV2: "any character with code between 1 and 126 can be escaped"; these must be.
_MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MARKDOWN_V2_PAIRED = {"*": "Bold", "_": "Italic", "~": "Strikethrough", "`": "Code", "|": ""}


def _parsed(text: str, parse_mode: object) -> str:
    """The text a user sees: `text` with its parse_mode markup taken out (what is counted)."""
    if parse_mode in (None, ""):
        return text
    mode = str(parse_mode)
    if mode.lower() == "html":
        return _parsed_html(text)
    if mode == "MarkdownV2":
        return _parsed_markdown_v2(text)
    raise _EntityError(f'Unsupported parse_mode "{mode}"')


def _parsed_html(text: str) -> str:
    shown: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        shown.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        offset = len(text[: match.start()].encode("utf-8"))
        if token.startswith("&"):
            if token in _HTML_ENTITIES:
                shown.append(_HTML_ENTITIES[token])
            elif re.fullmatch(r"&#x?[0-9a-fA-F]+;", token):
                shown.append(html.unescape(token))
            elif token.endswith(";"):
                raise _EntityError(
                    f'Unsupported HTML entity "{token[:-1]}" at byte offset {offset}'
                )
            else:
                shown.append(token)
            continue
        closing, name = match.group(1), (match.group(2) or "").lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _EntityError(f'Unsupported {kind} tag "{name}" at byte offset {offset}')
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise _EntityError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_tags[-1]}>",'
                    f' found "</{name}>"'
                    if open_tags
                    else f"Unexpected end tag at byte offset {offset}"
                )
            open_tags.pop()
        else:
            open_tags.append(name)
    shown.append(text[position:])
    if open_tags:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(shown)


def _parsed_markdown_v2(text: str) -> str:
    shown: list[str] = []
    open_marks: list[tuple[str, int]] = []
    index = 0
    while index < len(text):
        char = text[index]
        offset = len(text[:index].encode("utf-8"))
        if char == "\\" and index + 1 < len(text):
            shown.append(text[index + 1])
            index += 2
            continue
        if char in _MARKDOWN_V2_PAIRED:
            if open_marks and open_marks[-1][0] == char:
                open_marks.pop()
            else:
                open_marks.append((char, offset))
        elif char in _MARKDOWN_V2_RESERVED:
            raise _EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            shown.append(char)
        index += 1
    if open_marks:
        mark, offset = open_marks[-1]
        raise _EntityError(
            f"Can't find end of {_MARKDOWN_V2_PAIRED[mark]} entity at byte offset {offset}"
        )
    return "".join(shown)


def _photo_problem(content: bytes) -> str | None:
    """Telegram's reason to refuse `content` as a photo, None when it takes it."""
    if len(content) > MAX_PHOTO_BYTES:
        return "PHOTO_SAVE_FILE_INVALID"
    if content[:8] == b"\x89PNG\r\n\x1a\n" and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        if (
            width == 0
            or height == 0
            or width + height > MAX_PHOTO_SIDES
            or max(width, height) > MAX_PHOTO_RATIO * min(width, height)
        ):
            return "PHOTO_INVALID_DIMENSIONS"
    return None


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body (sendPhoto): text fields as strings, each file as
    {"filename", "content_type", "size", "base64"} (JSON-safe, so it can be recorded)."""
    message = BytesParser(policy=email_policy).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part without a name")
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        filename = part.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8")
        else:
            fields[name] = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(content),
                "base64": base64.b64encode(content).decode("ascii"),
            }
    return fields


def _error_body(
    status: int, retry_after_seconds: int = 1, description: str | None = None
) -> dict[str, Any]:
    if status == 429:
        return {
            "ok": False,
            "error_code": 429,
            "description": description or f"Too Many Requests: retry after {retry_after_seconds}",
            "parameters": {"retry_after": retry_after_seconds},
        }
    return {
        "ok": False,
        "error_code": status,
        "description": description or _ERROR_DESCRIPTIONS.get(status, f"Error {status}"),
    }


class _StandInServer(ThreadingHTTPServer):
    # Handler threads may be sleeping out a scripted delay; they must not keep the
    # process (or stop()) waiting.
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        standin: TelegramStandIn,
        handler: type[BaseHTTPRequestHandler],
    ) -> None:
        self.standin = standin
        self.connections = 0
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # only the serving thread accepts
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up before a delayed answer is expected in
        # tests, not an error worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _BotApiHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped stand-in cannot keep answering
    # on a kept-alive connection from a client's pool.
    protocol_version = "HTTP/1.0"
    server_version = "TelegramStandIn/1.0"

    @property
    def standin(self) -> TelegramStandIn:
        server = self.server
        assert isinstance(server, _StandInServer)
        return server.standin

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def _handle(self) -> None:
        split = urlsplit(self.path)
        if split.path.startswith("/_standin/"):
            self._control(split.path)
            return
        match = _METHOD_PATH.match(split.path)
        if match is None:
            self._send(404, json.dumps(_error_body(404)).encode(), "application/json", {})
            return
        try:
            payload = self._read_payload(split.query)
        except ValueError as exc:
            body = _error_body(400, description=f"Bad Request: can't parse request: {exc}")
            self._send(400, json.dumps(body).encode(), "application/json", {})
            return

        standin = self.standin
        status, body_bytes, content_type, headers, delay = standin._answer(
            match["token"], match["method"], payload
        )
        if delay > 0 and standin._stopping.wait(delay):
            # Stopped while "Telegram was slow": hang up without answering, the way a
            # server that went away would.
            return
        while not standin._answering.wait(0.05):
            if standin._stopping.is_set():  # stopped while a test held the answers
                return
        self._send(status, body_bytes, content_type, headers)

    def _control(self, path: str) -> None:
        """For a test in another process (the compose smoke): GET /_standin/calls lists the
        calls received; POST /_standin/deliver posts its body, an update, to the webhook."""
        standin = self.standin
        if path == "/_standin/calls":
            answer: Any = [asdict(call) for call in standin.calls]
        elif path == "/_standin/deliver" and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            delivery = standin.deliver_update(json.loads(self.rfile.read(length)))
            answer = None if delivery is None else asdict(delivery)
        else:
            self._send(404, json.dumps(_error_body(404)).encode(), "application/json", {})
            return
        self._send(200, json.dumps(answer).encode(), "application/json", {})

    def _read_payload(self, query: str) -> dict[str, Any]:
        # Telegram accepts parameters in the query string, as a form, or as JSON.
        payload: dict[str, Any] = dict(parse_qsl(query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return payload
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/json":
            decoded = json.loads(raw)
            if not isinstance(decoded, dict):
                raise ValueError("JSON body must be an object")
            payload.update(decoded)
        elif content_type == "multipart/form-data":
            payload.update(_multipart_fields(self.headers.get("Content-Type") or "", raw))
        else:
            payload.update(parse_qsl(raw.decode("utf-8")))
        return payload

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.standin.log_requests:
            # Paths contain the bot token; a stand-in only ever sees fake ones.
            super().log_message(format, *args)


class _KeptAliveBotApiHandler(_BotApiHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without this the body waits for the client's
    # delayed ACK of the headers (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        super()._handle()
        if self.standin._stopping.is_set():
            self.close_connection = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for the Telegram Bot API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--record", metavar="PATH", help="append each call as a JSON line")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds to wait before every answer"
    )
    parser.add_argument(
        "--hold-first",
        metavar="PREFIX=SECONDS",
        help="answer the first sendMessage to each chat id starting with PREFIX after SECONDS",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument(
        "--keep-alive", action="store_true", help="HTTP/1.1, connections kept alive"
    )
    parser.add_argument("--bot-username", default="standin_bot", help="getMe's username")
    parser.add_argument(
        "--allow-http-webhook", action="store_true", help="take http:// webhook URLs too"
    )
    args = parser.parse_args(argv)
    hold_first_call = None
    if args.hold_first:
        prefix, _, seconds = args.hold_first.partition("=")
        hold_first_call = (prefix, float(seconds))

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    standin = TelegramStandIn(
        args.host,
        args.port,
        record_path=args.record,
        default_delay_seconds=args.delay,
        log_requests=args.verbose,
        hold_first_call=hold_first_call,
        keep_alive=args.keep_alive,
        bot_username=args.bot_username,
        allow_http_webhook=args.allow_http_webhook,
    )
    with standin:
        # The first stdout line is the contract with whoever started us.
        print(standin.url, flush=True)
        while not stop_requested.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
