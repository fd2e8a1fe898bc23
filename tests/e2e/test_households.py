"""Issue 23 end to end: two accounts share a ledger through the gateway (REST) and the bot (their
private chats and the household's Telegram group), with the real workers carrying the events and
the commands between the services and the Telegram stand-in recording what people read.

Updates travel as Telegram posts them: from the stand-in to the gateway's webhook, whose answer
the stand-in carries out; api_app's replies to forwarded commands come back through both workers.
"Nothing more comes" is observed (tests/pipeline.py wait_until_broker_idle), never slept for.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import Rows
from tests.e2e.households import (
    ANNA,
    BORIS,
    DORA,
    GROUP,
    PNG_SIGNATURE,
    STRANGER,
    VERA,
    VIEWER_MAY_ONLY_READ,
    category_of,
    expense,
    food_of,
    ledger_transactions,
    limit_alerts,
    link_group,
    link_private_chat,
    named,
    sent_to,
    share_home,
    texts_to,
    this_month,
    wait_for_text,
)  # fmt: skip
from tests.eventually import eventually
from tests.households.conftest import invite, join
from tests.households_notify.ledgers import BOT, bot_membership, group_message
from tests.pipeline import wait_until_broker_idle
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import SignedInUser


@pytest.fixture
def bot_pipeline(celery_worker: LaunchedProcess, api_worker: LaunchedProcess) -> LaunchedProcess:
    """Both workers: the api worker carries out commands, the notifications worker replies."""
    return api_worker


def test_two_accounts_share_a_ledger_through_the_gateway_and_the_group_chat(
    register: Callable[[], SignedInUser],
    webhook: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
    redis_url: str,
    rows: Rows,
) -> None:
    home = share_home(register, webhook, redis_url)
    ledger = home.ledger_id
    link_group(webhook, home.anna, ledger, by=ANNA)
    assert rows.notify("SELECT group_chat_id FROM ledgers WHERE ledger_id = %s", ledger) == [
        (str(GROUP),)
    ]

    # Boris records in the group, as himself, into Home; Anna sets the month's limit there.
    webhook.deliver_update(group_message(GROUP, BORIS, f"/spent@{BOT} 32 food groceries"))
    wait_for_text(webhook, GROUP, "Spent: 32.00 (groceries)")
    [recorded] = ledger_transactions(home.anna, ledger)
    assert (recorded["amount"], recorded["created_by"]) == ("32.00", str(home.boris.id))
    assert home.boris.expect(200, "GET", "/api/transactions") == []  # his personal ledger
    webhook.deliver_update(group_message(GROUP, ANNA, "/limit food 40"))
    limit_set = wait_for_text(webhook, GROUP, "Limit set for")
    assert limit_set == f"Limit set for {this_month()}: 40.00.\nFood: 32.00 of 40.00, 80 %"

    # Boris goes over it through the REST API: every member's private chat and the group hear
    # of it once, naming the ledger and his expense.
    home.boris.created(
        "/api/transactions", expense(ledger, food_of(home.boris, ledger), "10", "cheese")
    )
    wait_until_broker_idle(redis_url)
    alert = (
        f"Budget alert: Home · Food for {this_month()} is over its limit: 42.00 spent of 40.00"
        " (105%), after Boris's 10.00 cheese."
    )
    for chat_id in (ANNA, BORIS, VERA, GROUP):
        assert limit_alerts(webhook, chat_id) == [alert], (chat_id, texts_to(webhook, chat_id))

    # A viewer may only read; nothing is recorded.
    webhook.deliver_update(group_message(GROUP, VERA, f"/spent@{BOT} 5 food"))
    assert wait_for_text(webhook, GROUP, VIEWER_MAY_ONLY_READ)
    # Someone the bot does not know is sent to a private chat first; nothing is recorded.
    webhook.deliver_update(group_message(GROUP, STRANGER, f"/spent@{BOT} 7 food"))
    [told] = [p for p in sent_to(webhook, GROUP) if str(p.get("text", "")).startswith("I do not")]
    assert told["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open a private chat", "url": f"https://t.me/{BOT}?start="}]]
    }
    wait_until_broker_idle(redis_url)
    assert sorted(t["amount"] for t in ledger_transactions(home.anna, ledger)) == ["10.00", "32.00"]

    # /summary answers in the group with the ledger's month and its chart.
    photos_before = len(webhook.photos)
    webhook.deliver_update(group_message(GROUP, VERA, f"/summary@{BOT}"))
    photo = eventually(
        lambda: next(
            (p for p in webhook.photos[photos_before:] if str(p["chat_id"]) == str(GROUP)), None
        ),
        "the summary's chart in the group",
        timeout=60,
    )
    assert photo["photo"]["content_type"] == "image/png"
    assert base64.b64decode(photo["photo"]["base64"]).startswith(PNG_SIGNATURE)
    assert "Food: 42.00 of 40.00, 105 % - over the limit" in photo["caption"].splitlines()

    # Removing the bot from the group unlinks it.
    removed = webhook.deliver_update(bot_membership(GROUP, ANNA, "kicked"))
    assert removed is not None
    assert removed.status == 200
    assert rows.notify("SELECT group_chat_id FROM ledgers WHERE ledger_id = %s", ledger) == [
        (None,)
    ]
    webhook.deliver_update(group_message(GROUP, ANNA, f"/summary@{BOT}"))
    assert "not linked to a household ledger" in texts_to(webhook, GROUP)[-1]


def test_someone_who_joins_after_the_crossing_committed_hears_only_of_later_ones(
    register: Callable[[], SignedInUser],
    webhook: TelegramStandIn,
    bot_pipeline: LaunchedProcess,
    redis_url: str,
    rows: Rows,
) -> None:
    home = share_home(register, webhook, redis_url)
    ledger = home.ledger_id
    link_group(webhook, home.anna, ledger, by=ANNA)
    dora = named(register(), "Dora")
    link_private_chat(webhook, dora, DORA)
    food = food_of(home.anna, ledger)
    month = datetime.now(UTC)
    home.anna.created(
        "/api/budgets",
        {"year": month.year, "month": month.month, "ledger_id": ledger,
         "limits": [{"category_id": food, "limit_amount": "40.00"}]},
    )  # fmt: skip

    # The crossing commits (its response is its commit), then Dora joins, then the pipeline
    # drains: by the time the crossing's events are handled notify_app may know Dora as a member
    # already, and still she is not told of it.
    home.boris.created("/api/transactions", expense(ledger, food, "50", "feast"))
    join(dora, invite(home.anna, ledger, "member"))
    wait_until_broker_idle(redis_url)
    members = rows.notify("SELECT user_id::text FROM ledger_members WHERE ledger_id = %s", ledger)
    assert str(dora.id) in {member for (member,) in members}
    alert = (
        f"Budget alert: Home · Food for {this_month()} is over its limit: 50.00 spent of 40.00"
        " (125%), after Boris's 50.00 feast."
    )
    for chat_id in (ANNA, BORIS, VERA, GROUP):
        assert limit_alerts(webhook, chat_id) == [alert], (chat_id, texts_to(webhook, chat_id))
    assert limit_alerts(webhook, DORA) == []

    # The next crossing after she joined reaches her like everyone else.
    transport = category_of(dora, ledger, "Transport")
    [budget] = home.anna.expect(200, "GET", f"/api/budgets?ledger_id={ledger}")
    home.anna.expect(
        200, "PUT", f"/api/budgets/{budget['id']}/limits/{transport}", json={"limit_amount": "5"}
    )
    dora.created("/api/transactions", expense(ledger, transport, "6", "bus"))
    wait_until_broker_idle(redis_url)
    for chat_id in (ANNA, BORIS, VERA, DORA, GROUP):
        assert [a for a in limit_alerts(webhook, chat_id) if "Transport" in a] == [
            f"Budget alert: Home · Transport for {this_month()} is over its limit: 6.00 spent of"
            " 5.00 (120%), after Dora's 6.00 bus."
        ], (chat_id, texts_to(webhook, chat_id))
    assert len(limit_alerts(webhook, DORA)) == 1
