"""The compose smoke: what a self-hoster's users do, through nginx, against the running stack.

Register; point the bot's webhook at the gateway (`docker compose run --rm notify set-webhook`)
and ask `doctor`; link a chat through the webhook as Telegram delivers it (the Telegram
stand-in container posts the update with the webhook's secret); cross a limit and see the alert
reach the stand-in; press a category button and see it answered in time; restart the
notifications worker while a burst of alerts is in flight and see every alert arrive once.

Standard library only: it runs from any Python 3.11 on the host. Exits non-zero on the first
failed step, saying which.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

WEBHOOK_URL = "http://gateway:8080/api/notifications/telegram/webhook"
CHAT = 5151
BURST = 12
WAIT_SECONDS = 180.0


def step(name: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {name}", flush=True)


def request(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    # The URLs are the command line's http:// ones.
    call = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def wait_for(what: str, found: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"FAILED: no {what} within {timeout:.0f} s")


class Smoke:
    def __init__(self, gateway: str, telegram: str, compose: list[str]) -> None:
        self.gateway = gateway.rstrip("/")
        self.telegram = telegram.rstrip("/")
        self.compose = compose
        self.token = ""
        self.update_id = int(time.time())

    def api(self, expected: int, method: str, path: str, body: Any = None) -> Any:
        status, answer = request(method, self.gateway + path, body, self.token)
        if status != expected:
            raise SystemExit(f"FAILED: {method} {path} answered {status}, not {expected}: {answer}")
        return answer

    def run(self, *arguments: str) -> str:
        done = subprocess.run([*self.compose, *arguments], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"FAILED: {' '.join(arguments)}:\n{done.stdout}{done.stderr}")
        return done.stdout

    def calls(self) -> list[dict[str, Any]]:
        status, calls = request("GET", f"{self.telegram}/_standin/calls")
        assert status == 200, calls
        return list(calls)

    def messages_to(self, chat: int) -> list[dict[str, Any]]:
        return [
            call["payload"]
            for call in self.calls()
            if call["method"] in ("sendMessage", "sendPhoto")
            and str(call["payload"].get("chat_id")) == str(chat)
            and call["response_status"] == 200
        ]

    def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        """Telegram posting `update` to the webhook (the stand-in adds the secret)."""
        status, delivery = request("POST", f"{self.telegram}/_standin/deliver", update)
        if status != 200 or delivery is None:
            raise SystemExit(f"FAILED: the stand-in did not deliver {update}: {delivery}")
        if delivery["status"] != 200:
            raise SystemExit(f"FAILED: the webhook answered {delivery}")
        return dict(delivery)

    def text(self, text: str) -> dict[str, Any]:
        self.update_id += 1
        chat = {"id": CHAT, "type": "private"}
        message = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": text}
        return self.deliver({"update_id": self.update_id, "message": message})

    def press(self, data: str) -> dict[str, Any]:
        self.update_id += 1
        chat = {"id": CHAT, "type": "private"}
        query = {
            "id": f"press-{self.update_id}",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Smoke"},
            "message": {"message_id": 2, "date": int(time.time()), "chat": chat, "text": "?"},
            "data": data,
        }
        return self.deliver({"update_id": self.update_id, "callback_query": query})

    def main(self) -> None:
        step("register through nginx")
        email = f"smoke-{uuid.uuid4().hex[:10]}@example.com"
        signed_up = self.api(201, "POST", "/api/auth/register",
                             {"email": email, "password": "a compose smoke password"})  # fmt: skip
        self.token = signed_up["access_token"]
        self.api(404, "GET", "/metrics")

        step("each service's database role owns its database and nothing more")
        for short, database in (("api", "budget_api"), ("notifications", "budget_notifications")):
            query = (
                "SELECT rolsuper, rolcreatedb, rolcreaterole, pg_get_userbyid(datdba) ="
                " current_user FROM pg_roles, pg_database WHERE rolname = current_user AND"
                " datname = current_database()"
            )
            role = self.run("exec", "-T", f"postgres-{short}", "psql", "-U", database,
                            "-d", database, "-tAc", query)  # fmt: skip
            if role.strip() != "f|f|f|t":
                raise SystemExit(f"FAILED: {database}'s role: {role.strip()}")

        step("set-webhook and doctor, as an operator runs them")
        print(self.run("run", "--rm", "notify", "set-webhook", WEBHOOK_URL).strip())
        print(self.run("run", "--rm", "notify", "doctor", "--url", WEBHOOK_URL).strip())

        step("link a chat through the webhook")
        offer = self.api(201, "POST", "/api/notifications/telegram/link")
        code = parse_qs(urlsplit(offer["url"]).query)["start"][0]
        linked = self.text(f"/start {code}")
        if not str((linked["answer"] or {}).get("text", "")).startswith("Linked!"):
            raise SystemExit(f"FAILED: /start answered {linked}")

        step("cross a limit; the alert reaches Telegram")
        categories = self.api(200, "GET", "/api/categories?page_size=100")
        food = next(c["id"] for c in categories if c["name"] == "Food")
        burst = [
            self.api(201, "POST", "/api/categories", {"name": f"Smoke {n}"})["id"]
            for n in range(BURST)
        ]
        now = datetime.now(UTC)
        limits = [{"category_id": c, "limit_amount": "1.00"} for c in [food, *burst]]
        self.api(201, "POST", "/api/budgets",
                 {"year": now.year, "month": now.month, "limits": limits})  # fmt: skip
        today = now.date().isoformat()
        spent = {"category_id": food, "type": "EXPENSE", "amount": "2.00", "date": today}
        self.api(201, "POST", "/api/transactions", spent)
        wait_for("alert for Food", lambda: [
            m for m in self.messages_to(CHAT) if m.get("text", "").startswith("Budget alert: Food")
        ])  # fmt: skip

        step("press a category button; Telegram gets its answer in time")
        asked = len(self.messages_to(CHAT))
        self.text("/spent 9.99 h pills")
        question = wait_for("category buttons", lambda: [
            m for m in self.messages_to(CHAT)[asked:] if "reply_markup" in m
        ])[0]  # fmt: skip
        markup = question["reply_markup"]
        if isinstance(markup, str):
            markup = json.loads(markup)
        buttons = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
        pressed = self.press(buttons["Health"])
        if (pressed["answer"] or {}).get("method") != "answerCallbackQuery":
            raise SystemExit(f"FAILED: the press was answered {pressed}")
        answers = [c for c in self.calls() if c["method"] == "answerCallbackQuery"]
        if not answers or answers[-1]["response_status"] != 200:
            raise SystemExit(f"FAILED: answerCallbackQuery: {answers}")
        wait_for("the reply to the press", lambda: [
            m for m in self.messages_to(CHAT) if m.get("text", "").startswith("Spent: 9.99 (pills)")
        ])  # fmt: skip
        health = next(c["id"] for c in categories if c["name"] == "Health")
        recorded = self.api(200, "GET", "/api/transactions?page_size=100")
        if [t["amount"] for t in recorded if t["category_id"] == health] != ["9.99"]:
            raise SystemExit(f"FAILED: the press recorded {recorded}")

        step(f"{BURST} alerts in flight while the notifications worker restarts")
        restart = threading.Thread(target=self.run, args=("restart", "worker"))
        for n, category in enumerate(burst):
            self.api(201, "POST", "/api/transactions",
                     {"category_id": category, "type": "EXPENSE", "amount": "2.00",
                      "date": today})  # fmt: skip
            if n == 2:
                restart.start()
        restart.join()
        names = [f"Smoke {n}" for n in range(BURST)]

        def alerts() -> Counter[str]:
            return Counter(
                name
                for m in self.messages_to(CHAT)
                for name in names
                if m.get("text", "").startswith(f"Budget alert: {name} for ")
            )

        def settled() -> bool:
            # Every limit alert of the burst recorded as sent: a send whose worker died before
            # recording it would be re-sent (a duplicate) before its row could say so.
            history = self.api(200, "GET", "/api/notifications/history?page_size=100")
            burst_rows = [
                row for row in history
                if row["event_type"] == "budget.limit_exceeded"
                and any(row["text"].startswith(f"Budget alert: {name} for ") for name in names)
            ]  # fmt: skip
            return len(burst_rows) == BURST and all(row["status"] == "sent" for row in burst_rows)

        wait_for(f"all {BURST} alerts sent", settled)
        wait_for(f"all {BURST} alerts at Telegram", lambda: set(alerts()) == set(names))
        repeated = {name: count for name, count in alerts().items() if count != 1}
        if repeated:
            raise SystemExit(f"FAILED: alerts sent more than once: {repeated}")
        step("smoke passed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", required=True, help="nginx's published URL")
    parser.add_argument("--telegram", required=True, help="the stand-in's published URL")
    parser.add_argument("compose", nargs="+", help="the docker compose command, with its files")
    args = parser.parse_args()
    Smoke(args.gateway, args.telegram, args.compose).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
