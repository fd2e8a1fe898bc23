"""Chaos: a steady stream of limit crossings for about a minute while the infrastructure fails.

Two workers, two relays, Celery beat and the gateway run on a private PostgreSQL per service and
a private Redis. A client records one limit-crossing expense after another; meanwhile Redis is
restarted, the notifications database is restarted, one worker is SIGKILLed and one relay is
SIGKILLed (each comes back, as a container's restart policy would bring it). Afterwards every
committed crossing has exactly one message at the Telegram stand-in, and every delivery row is
final. The largest delay from commit to message is printed.

Every fourth crossing is a household's (issue 23): the three users share a ledger whose group is
linked, each member records one in turn, and each such crossing must reach each member's private
chat and the group exactly once: four messages, none repeated or missing.

The one documented duplicate window (Telegram accepted a message, its worker died before
committing the outcome) is the only tolerated exception: a repeated message must have first
arrived moments before the worker's SIGKILL, and it is reported.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.eventually import eventually
from tests.private_stack import PrivateStack
from tests.users import SignedInUser

# It kills and restarts the servers and processes of a private stack.
pytestmark = pytest.mark.chaos

STREAM_SECONDS = 60.0
CROSSINGS_PER_SECOND = 3.0
USERS = 3
CHAT_ID = "8800"
GROUP_CHAT_ID = "-8899"
# One crossing in this many is the shared ledger's, recorded by its members in turn.
HOUSEHOLD_EVERY = 4
# Generous: the backlog of a loaded two-core machine drains well within it.
DRAIN_WAIT_SECONDS = 300.0
# A duplicate is the documented window only if its first copy came this close before the kill.
DUPLICATE_WINDOW_SECONDS = 2.0
# A household's alert names its ledger first: "Budget alert: Home · c0003 for ...".
ALERT = re.compile(r"^Budget alert: (?:Home · )?(?P<name>\S+) for ")


@dataclass
class Crossing:
    name: str
    # "committed" (201), "refused" (a status other than 201), "unknown" (no answer)
    outcome: str
    committed_at: float | None
    # The chats its alert is for: the user's own, or every member's and the household's group.
    recipients: frozenset[str]


@dataclass(frozen=True)
class Target:
    """Where a crossing is recorded: a budget of a ledger (None: the writer's personal one),
    by whom, and which chats hear of it."""

    writers: list[SignedInUser]
    budget_id: str
    ledger_id: str | None
    recipients: frozenset[str]


@dataclass
class Stream:
    """The client: one target after another gets an expense over a fresh category's limit."""

    targets: list[Target]
    crossings: list[Crossing]
    stop: threading.Event

    def run(self) -> None:
        interval = 1.0 / CROSSINGS_PER_SECOND
        next_at = time.monotonic()
        number = 0
        while not self.stop.is_set():
            target = self.targets[number % len(self.targets)]
            # A shared ledger's members take turns.
            writer = target.writers[(number // len(self.targets)) % len(target.writers)]
            self.cross(writer, target, f"c{number:04d}")
            number += 1
            next_at += interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def cross(self, user: SignedInUser, target: Target, name: str) -> None:
        in_ledger = {} if target.ledger_id is None else {"ledger_id": target.ledger_id}
        try:
            created = user.post("/api/categories", json={"name": name, **in_ledger})
            if created.status_code != 201:
                return
            category = created.get_json()
            limited = user.put(
                f"/api/budgets/{target.budget_id}/limits/{category['id']}",
                json={"limit_amount": "10.00"},
            )
            if limited.status_code != 200:
                return
        except OSError:
            return
        try:
            status = user.post(
                "/api/transactions",
                json={"category_id": category["id"], "type": "EXPENSE", "amount": "20.00",
                      "date": "2026-01-15", **in_ledger},
            ).status_code  # fmt: skip
        except OSError:
            self.crossings.append(Crossing(name, "unknown", None, target.recipients))
            return
        if status == 201:
            self.crossings.append(Crossing(name, "committed", time.time(), target.recipients))
        else:
            self.crossings.append(Crossing(name, "refused", None, target.recipients))


def share_a_household(stack: PrivateStack, users: list[SignedInUser], chats: list[str]) -> Target:
    """users[0]'s shared ledger with the others as members, its group linked: a Target."""
    owner = users[0]
    ledger_id = owner.expect(201, "POST", "/api/ledgers", json={"name": "Home"})["id"]
    for member in users[1:]:
        invitation = owner.expect(
            201, "POST", f"/api/ledgers/{ledger_id}/invitations", json={"role": "member"}
        )
        member.expect(200, "POST", "/api/ledgers/join", json={"code": invitation["code"]})
    stack.link_group(ledger_id, GROUP_CHAT_ID, len(users))
    budget = owner.expect(
        201, "POST", "/api/budgets", json={"year": 2026, "month": 1, "ledger_id": ledger_id}
    )
    return Target(users, budget["id"], ledger_id, frozenset([*chats, GROUP_CHAT_ID]))


@pytest.fixture
def stack(tmp_path: Path, signing_key_files: tuple[Path, Path]) -> Iterator[PrivateStack]:
    stack = PrivateStack(tmp_path, signing_key_files, separate_notify_server=True)
    try:
        yield stack
    finally:
        stack.close()


def test_every_committed_crossing_gets_one_message_through_restarts_and_kills(
    stack: PrivateStack,
) -> None:
    stack.start_gateway()
    workers = [stack.start_worker("worker-1"), stack.start_worker("worker-2")]
    relays = [stack.start_relay("relay-1"), stack.start_relay("relay-2")]
    stack.start_beat()

    users = [stack.sign_up() for _ in range(USERS)]
    targets = []
    for index, user in enumerate(users):
        # A chat belongs to one account: each user has their own.
        chat = str(int(CHAT_ID) + index)
        stack.link_chat(user.id, chat)
        targets.append(Target([user], user.budget(2026, 1)["id"], None, frozenset([chat])))
    household = share_a_household(stack, users, [str(int(CHAT_ID) + i) for i in range(USERS)])
    targets.insert(HOUSEHOLD_EVERY - 1, household)
    assert len(targets) == HOUSEHOLD_EVERY

    stream = Stream(targets, [], threading.Event())
    streaming = threading.Thread(target=stream.run, name="client stream")
    started = time.monotonic()
    streaming.start()
    worker_killed_at = 0.0

    def at(second: float) -> None:
        time.sleep(max(0.0, started + second - time.monotonic()))

    try:
        at(8)
        print(f"{time.monotonic() - started:5.1f}s  Redis restarted")
        stack.redis.stop()
        time.sleep(2)
        stack.redis.start_again()
        at(20)
        print(f"{time.monotonic() - started:5.1f}s  worker-1 SIGKILLed")
        worker_killed_at = time.time()
        workers[0].kill()
        at(25)
        workers[0] = stack.start_worker("worker-1b")
        at(32)
        print(f"{time.monotonic() - started:5.1f}s  notifications database restarted")
        stack.restart_notify_postgres(down_seconds=3)
        # A slow restart on a loaded machine shifts what follows; every fault stays inside
        # the stream, with crossings after it.
        at(max(44, time.monotonic() - started + 4))
        print(f"{time.monotonic() - started:5.1f}s  relay-1 SIGKILLed")
        relays[0].kill()
        time.sleep(4)
        relays[0] = stack.start_relay("relay-1b")
        at(max(STREAM_SECONDS, time.monotonic() - started + 8))
    finally:
        stream.stop.set()
        streaming.join()
    print(f"{time.monotonic() - started:5.1f}s  stream stopped")

    committed = {c.name: c for c in stream.crossings if c.outcome == "committed"}
    # A loaded machine answers slower; the stream still has to amount to something.
    assert len(committed) >= STREAM_SECONDS / 2, stream.crossings[-5:]
    assert any(len(c.recipients) > 1 for c in committed.values()), "no household crossing"
    # (crossing, chat): one message each.
    expected = {(name, chat) for name, c in committed.items() for chat in c.recipients}

    def received() -> Counter[tuple[str, str]]:
        copies: Counter[tuple[str, str]] = Counter()
        for message in stack.telegram.delivered_messages:
            match = ALERT.match(str(message["text"]))
            assert match is not None, message
            copies[match["name"], str(message["chat_id"])] += 1
        return copies

    def unfinished() -> int:
        [(count,)] = stack.notify_query(
            "SELECT count(*) FROM deliveries WHERE status NOT IN ('sent', 'skipped', 'failed')"
        )
        return int(count)

    def dead_process() -> str | None:
        return next(filter(None, (process.exited() for process in (*workers, *relays))), None)

    try:
        eventually(
            lambda: expected <= set(received()) and unfinished() == 0,
            "a message to each recipient of every committed crossing and every delivery final",
            timeout=DRAIN_WAIT_SECONDS,
            pause=1.0,
            give_up=dead_process,
        )
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nmissing messages: {sorted(expected - set(received()))[:20]},"
            f" unfinished deliveries: {unfinished()}\n{stack.logs()}"
        ) from None
    # Whatever was still on its way (a copy of a task) has had its chance to repeat a message.
    stack.wait_until_settled()

    counts = received()
    first_arrival: dict[tuple[str, str], float] = {}
    for call in stack.telegram.calls_for("sendMessage"):
        match = ALERT.match(str(call.payload.get("text", "")))
        if match is not None and call.response_status == 200:
            first_arrival.setdefault(
                (match["name"], str(call.payload["chat_id"])), call.received_at
            )
    duplicates = {copy: n for copy, n in counts.items() if n > 1}
    in_the_window = {
        copy
        for copy in duplicates
        if worker_killed_at - DUPLICATE_WINDOW_SECONDS <= first_arrival[copy] <= worker_killed_at
    }
    refused = {c.name for c in stream.crossings if c.outcome == "refused"}
    unknown = {c.name for c in stream.crossings if c.outcome == "unknown"}
    addressed = {(c.name, chat) for c in stream.crossings for chat in c.recipients}

    delays = [
        first_arrival[name, chat] - c.committed_at
        for name, c in committed.items()
        for chat in c.recipients
        if c.committed_at
    ]
    households = sum(len(c.recipients) > 1 for c in committed.values())
    print(
        f"chaos: {len(committed)} committed crossings ({households} of the household;"
        f" {len(refused)} refused, {len(unknown)} unanswered), {sum(counts.values())} messages;"
        f" commit to message: median {statistics.median(delays):.2f}s,"
        f" largest {max(delays):.2f}s; repeated in the documented window: {sorted(in_the_window)}"
    )
    assert set(counts) <= addressed, sorted(set(counts) - addressed)[:20]
    assert not {name for name, _ in counts} & refused, "a refused crossing was alerted"
    assert all(n <= 1 for (name, _), n in counts.items() if name in unknown), {
        copy: n for copy, n in counts.items() if copy[0] in unknown
    }
    assert set(duplicates) == in_the_window, {
        copy: (n, first_arrival[copy] - worker_killed_at) for copy, n in duplicates.items()
    }
    assert all(counts[copy] == 1 for copy in expected if copy not in in_the_window)
    [(pending,)] = stack.notify_query("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    assert pending == 0
    with contextlib.suppress(Exception):
        print(stack.notify_query("SELECT status, count(*) FROM deliveries GROUP BY status"))
