"""A household ledger's Telegram group: linked through its one-time link, the bot added to the
group by it; the group's commands act on the ledger as their sender; removing the bot or /stop
unlinks it. Updates travel as Telegram posts them: from the stand-in to the webhook, whose
answer the stand-in carries out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from event_contract import (
    AUDIENCE_GROUP,
    LEDGER_PERSONAL,
    ROLE_OWNER,
    Event,
    LedgerContext,
    bot_command_id,
    bot_reply_id,
)
from tests.eventually import eventually
from tests.households_notify.conftest import Home, Household
from tests.households_notify.ledgers import (
    BOT,
    bot_membership,
    group_code,
    group_link,
    group_message,
    handle,
    known_ledger,
    ledger_deleted,
    link_group,
    private_message,
    sent_to,
    snapshot,
)
from tests.pipeline import finished_delivery, limit_exceeded, record, wait_until_broker_idle
from tests.processes import LaunchedProcess
from tests.users import SignedInUser

GROUP = -5001


def link_boris_group(home: Home) -> None:
    link_group(home.telegram, home.notify_client, home.boris, home.ledger_id, GROUP, by=9102)


def test_adding_the_bot_through_the_link_links_the_group_and_names_the_ledger(home: Home) -> None:
    link_boris_group(home)

    [linked] = sent_to(home.telegram, GROUP)
    assert linked["text"].startswith(
        "Linked! This group gets the alerts of the household ledger Home"
    )
    assert known_ledger(home.notify, home.ledger_id).group_chat_id == str(GROUP)  # type: ignore[union-attr]
    # The code was used: opened again (in another group) it links nothing.
    home.telegram.deliver_update(group_message(-5002, 9102, "/start@budget_alerts_bot made-up"))
    assert "not valid" in sent_to(home.telegram, -5002)[0]["text"]


def test_removing_the_bot_from_the_group_unlinks_it(home: Home) -> None:
    link_boris_group(home)
    delivered = home.telegram.deliver_update(bot_membership(GROUP, 9101, "kicked"))
    assert delivered is not None
    assert delivered.status == 200
    assert known_ledger(home.notify, home.ledger_id).group_chat_id is None  # type: ignore[union-attr]
    # Commands there are answered with how to link it again.
    home.telegram.deliver_update(group_message(GROUP, 9101, "/summary"))
    assert "not linked to a household ledger" in sent_to(home.telegram, GROUP)[-1]["text"]


def test_one_group_per_ledger_and_one_ledger_per_group(home: Home) -> None:
    link_boris_group(home)
    anna = home.anna
    other = uuid.uuid4()
    handle(home.notify, snapshot(other, 1, {anna.id: ROLE_OWNER}, name="Dacha"))
    # The group is Home's: Dacha's link is refused there, and stays unused.
    code = group_code(home.notify_client, anna, other)
    home.telegram.deliver_update(group_message(GROUP, 9101, f"/start@{BOT} {code}"))
    assert "linked to the ledger Home already" in sent_to(home.telegram, GROUP)[-1]["text"]
    # In another group it links Dacha; Home keeps its group.
    home.telegram.deliver_update(group_message(-5003, 9101, f"/start@{BOT} {code}"))
    assert known_ledger(home.notify, other).group_chat_id == "-5003"  # type: ignore[union-attr]
    # Home linked to another group lets the first one go.
    code = group_code(home.notify_client, anna, home.ledger_id)
    home.telegram.deliver_update(group_message(-5004, 9101, f"/start@{BOT} {code}"))
    assert known_ledger(home.notify, home.ledger_id).group_chat_id == "-5004"  # type: ignore[union-attr]


def test_only_an_owner_or_member_gets_a_group_link(
    notify: Flask,
    notify_client: FlaskClient,
    household: Household,
    make_user: Callable[[], SignedInUser],
) -> None:
    ledger_id = household.ledger_id
    outsider = make_user()
    assert group_link(notify_client, outsider, ledger_id).status_code == 404
    assert group_link(notify_client, household.anna, uuid.uuid4()).status_code == 404
    viewer = group_link(notify_client, household.clara, ledger_id)
    assert viewer.status_code == 403
    assert set(viewer.json) == {"code", "status", "message", "errors"}
    personal, anna = uuid.uuid4(), household.anna
    handle(notify, snapshot(personal, 1, {anna.id: ROLE_OWNER}, kind=LEDGER_PERSONAL))
    assert group_link(notify_client, anna, personal).status_code == 409
    anonymous = notify_client.post(f"/api/notifications/ledgers/{ledger_id}/telegram/link")
    assert anonymous.status_code == 401


def test_a_sender_without_a_linked_account_gets_the_private_chat_button(home: Home) -> None:
    link_boris_group(home)
    delivered = home.telegram.deliver_update(group_message(GROUP, 9999, f"/spent@{BOT} 12.50 food"))
    assert delivered is not None
    told = sent_to(home.telegram, GROUP)[-1]
    assert told["text"].startswith("I do not know who you are yet.")
    assert told["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open a private chat", "url": f"https://t.me/{BOT}?start="}]]
    }


def test_a_command_for_another_bot_and_the_members_chatter_get_no_answer(home: Home) -> None:
    link_boris_group(home)
    before = len(home.telegram.messages)
    for text in ("/spent@other_bot 12.50 food", "lunch at 1?", "/weather"):
        delivered = home.telegram.deliver_update(group_message(GROUP, 9101, text))
        assert delivered is not None
        assert delivered.answer == {}
    assert len(home.telegram.messages) == before


def test_help_in_a_group_lists_the_group_commands(home: Home) -> None:
    home.telegram.deliver_update(group_message(GROUP, 9101, f"/help@{BOT}"))
    assert "not linked to a household ledger" in sent_to(home.telegram, GROUP)[-1]["text"]
    link_boris_group(home)
    home.telegram.deliver_update(group_message(GROUP, 9101, f"/help@{BOT}"))
    text = sent_to(home.telegram, GROUP)[-1]["text"]
    assert text.startswith("This group is linked to the household ledger Home.")
    for command in ("/spent", "/income", "/undo", "/summary", "/limit", "/categories", "/stop"):
        assert command in text


def test_stop_in_the_group_unlinks_it_for_an_owner_or_member_only(home: Home) -> None:
    link_boris_group(home)
    home.telegram.deliver_update(group_message(GROUP, 9103, f"/stop@{BOT}"))
    assert sent_to(home.telegram, GROUP)[-1]["text"] == (
        "Only the ledger's owner or a member may unlink this group."
    )
    assert known_ledger(home.notify, home.ledger_id).group_chat_id == str(GROUP)  # type: ignore[union-attr]
    home.telegram.deliver_update(group_message(GROUP, 9101, "/stop"))
    assert sent_to(home.telegram, GROUP)[-1]["text"].startswith(
        "Unlinked: this group no longer gets"
    )
    assert known_ledger(home.notify, home.ledger_id).group_chat_id is None  # type: ignore[union-attr]


def test_a_deleted_ledger_tells_its_group_once(home: Home) -> None:
    link_boris_group(home)
    deleted = ledger_deleted(home.ledger_id, 2, home.anna.id)
    handle(home.notify, deleted)
    handle(home.notify, deleted)
    told = [m["text"] for m in sent_to(home.telegram, GROUP)[1:]]
    assert told == [
        "The ledger Home was deleted, so this group is no longer linked to it and gets no more"
        " of its alerts."
    ]
    ledger = known_ledger(home.notify, home.ledger_id)
    assert ledger is not None
    assert (ledger.deleted, ledger.group_chat_id, ledger.members) == (True, None, {})


def test_a_linked_senders_command_goes_to_api_app_as_them_for_the_groups_ledger(
    api: Flask,
    home: Home,
    celery_worker: LaunchedProcess,
    api_worker: LaunchedProcess,
) -> None:
    from notify_app.extensions import db
    from notify_app.models import Delivery

    link_boris_group(home)
    update = group_message(GROUP, 9101, f"/summary@{BOT}")
    delivered = home.telegram.deliver_update(update)
    assert delivered is not None
    assert (delivered.status, delivered.answer) == (200, {})
    # api_app's answer comes back as a bot.reply event, to the group, on Anna's account.
    reply_id = bot_reply_id(bot_command_id(BOT, update["update_id"]))

    def answered() -> Delivery | None:
        with home.notify.app_context():
            row = db.session.scalar(db.select(Delivery).where(Delivery.event_id == reply_id))
            return row if row is not None and row.status != "pending" else None

    reply = eventually(answered, "api_app's reply to the group's /summary", timeout=60)
    assert (reply.status, reply.chat_id, reply.user_id) == ("sent", str(GROUP), home.anna.id)


def test_a_group_that_becomes_a_supergroup_stays_linked_under_its_new_id(home: Home) -> None:
    link_boris_group(home)
    upgraded = group_message(GROUP, 9101, "")
    del upgraded["message"]["text"]
    upgraded["message"]["migrate_to_chat_id"] = -1005001
    home.telegram.deliver_update(upgraded)
    assert known_ledger(home.notify, home.ledger_id).group_chat_id == "-1005001"  # type: ignore[union-attr]


def test_private_chats_hand_on_limit_categories_and_ledger(
    home: Home,
    celery_worker: LaunchedProcess,
    api_worker: LaunchedProcess,
    redis_url: str,
) -> None:
    for text in ("/limit food 400", "/categories", "/ledger"):
        delivered = home.telegram.deliver_update(private_message(9101, text))
        assert delivered is not None
        # Handed to api_app, whose reply comes later as a message.
        assert (delivered.status, delivered.answer) == (200, {})
    delivered = home.telegram.deliver_update(private_message(9555, "/categories"))
    assert delivered is not None
    assert "not linked to an account" in delivered.answer["text"]
    # api_app's replies are sent before the next test looks at "Telegram".
    wait_until_broker_idle(redis_url)


def test_a_group_that_removed_the_bot_unnoticed_is_unlinked_by_its_first_refused_alert(
    api: Flask,
    home: Home,
    celery_worker: LaunchedProcess,
) -> None:
    link_boris_group(home)
    # Removed while the webhook did not get my_chat_member: Telegram answers 403 from now on.
    home.telegram.block(GROUP)
    alert = limit_exceeded(home.boris.id)
    group_copy = Event(
        user_id=alert.user_id,
        payload=replace(
            alert.payload,  # type: ignore[arg-type]
            ledger=LedgerContext(home.ledger_id, "Home", audience=AUDIENCE_GROUP),
        ),
    )
    record(api, group_copy)
    assert finished_delivery(home.notify, group_copy.id).status == "failed"
    # Unlinked just after the failure is recorded.
    eventually(
        lambda: known_ledger(home.notify, home.ledger_id).group_chat_id is None,  # type: ignore[union-attr]
        "the group to be unlinked",
    )
