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

It deliberately depends on nothing but the standard library so that it can run as a
script from any interpreter and is not itself collected as a test module.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
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

# Telegram's limit for sendMessage text, after entity parsing.
MAX_MESSAGE_LENGTH = 4096
# And for a photo's caption.
MAX_CAPTION_LENGTH = 1024


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

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[RecordedCall] = []
        self._scripted: dict[str, deque[ScriptedResponse]] = {}
        self._next_message_id = 1
        self._record_file: IO[str] | None = None

        self._server: _StandInServer | None = None
        self._thread: threading.Thread | None = None
        # Set on stop() so that responses still sleeping out a delay are abandoned
        # instead of keeping stop() (or the test) waiting.
        self._stopping = threading.Event()

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
        """Forget recorded calls and pending scripted responses.

        Message ids keep increasing, as Telegram's do, so ids from before and after a
        clear() never collide.
        """
        with self._lock:
            self._calls.clear()
            self._scripted.clear()

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
        if method == "sendMessage":
            chat_id = payload.get("chat_id")
            text = payload.get("text")
            if chat_id in (None, ""):
                return 400, _error_body(400, description="Bad Request: chat_id is empty")
            if not isinstance(text, str) or not text.strip():
                return 400, _error_body(400, description="Bad Request: message text is empty")
            if len(text) > MAX_MESSAGE_LENGTH:
                return 400, _error_body(400, description="Bad Request: message is too long")
            message_id = self._next_message_id
            self._next_message_id += 1
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id},
                "text": text,
            }
            return 200, {"ok": True, "result": result}
        if method == "sendPhoto":
            chat_id = payload.get("chat_id")
            photo = payload.get("photo")
            if chat_id in (None, ""):
                return 400, _error_body(400, description="Bad Request: chat_id is empty")
            if not isinstance(photo, dict) or not photo.get("size"):
                return 400, _error_body(400, description="Bad Request: there is no photo")
            if len(str(payload.get("caption", ""))) > MAX_CAPTION_LENGTH:
                return 400, _error_body(400, description="Bad Request: caption is too long")
            message_id = self._next_message_id
            self._next_message_id += 1
            result = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id}}
            return 200, {"ok": True, "result": result}
        if method == "setWebhook":
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "deleteWebhook":
            return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}
        if method == "getMe":
            bot = {"id": 1, "is_bot": True, "first_name": "Stand-in", "username": "standin_bot"}
            return 200, {"ok": True, "result": bot}
        return 200, {"ok": True, "result": True}


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
        self._send(status, body_bytes, content_type, headers)

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
    )
    with standin:
        # The first stdout line is the contract with whoever started us.
        print(standin.url, flush=True)
        while not stop_requested.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
