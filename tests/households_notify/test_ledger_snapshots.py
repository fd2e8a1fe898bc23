"""notify_app learns each ledger's members from api_app's snapshots only (ledger.membership_changed,
ledger.deleted), whatever order two workers handle them in."""

from __future__ import annotations

import uuid

from flask import Flask

from event_contract import ROLE_MEMBER, ROLE_OWNER, ROLE_VIEWER, Event, UserDeleted
from tests.households_notify.ledgers import (
    handle,
    known_ledger,
    ledger_deleted,
    snapshot,
)


def test_the_highest_version_wins_and_a_late_older_snapshot_changes_nothing(
    notify: Flask,
) -> None:
    ledger_id, anna, boris, clara = (uuid.uuid4() for _ in range(4))
    handle(notify, snapshot(ledger_id, 1, {anna: ROLE_OWNER, boris: ROLE_MEMBER}))
    handle(notify, snapshot(ledger_id, 3, {anna: ROLE_OWNER, clara: ROLE_VIEWER}, name="Flat"))
    # Version 2 was handled by a slower worker: it arrives last.
    late = snapshot(ledger_id, 2, {anna: ROLE_OWNER, boris: ROLE_OWNER, clara: ROLE_MEMBER})
    handle(notify, late)
    handle(notify, late)

    ledger = known_ledger(notify, ledger_id)
    assert ledger is not None
    assert (ledger.name, ledger.version) == ("Flat", 3)
    assert ledger.members == {anna: ROLE_OWNER, clara: ROLE_VIEWER}


def test_a_removed_member_leaves_the_copy_and_a_role_change_is_kept(notify: Flask) -> None:
    ledger_id, anna, boris = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    handle(notify, snapshot(ledger_id, 1, {anna: ROLE_OWNER, boris: ROLE_VIEWER}))
    handle(notify, snapshot(ledger_id, 2, {anna: ROLE_OWNER, boris: ROLE_MEMBER}))
    assert known_ledger(notify, ledger_id).members == {anna: ROLE_OWNER, boris: ROLE_MEMBER}  # type: ignore[union-attr]
    handle(notify, snapshot(ledger_id, 3, {anna: ROLE_OWNER}, changed_by=boris))
    assert known_ledger(notify, ledger_id).members == {anna: ROLE_OWNER}  # type: ignore[union-attr]


def test_a_snapshot_caused_by_an_account_deleted_since_still_applies(
    api: Flask, notify: Flask
) -> None:
    ledger_id, anna, boris = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    handle(notify, snapshot(ledger_id, 1, {anna: ROLE_OWNER, boris: ROLE_MEMBER}))
    # Boris left the ledger, then deleted his account; his account's deletion is handled first.
    left = snapshot(ledger_id, 2, {anna: ROLE_OWNER}, changed_by=boris)
    handle(notify, Event(user_id=boris, payload=UserDeleted()))
    handle(notify, left)

    ledger = known_ledger(notify, ledger_id)
    assert ledger is not None
    assert (ledger.version, ledger.members) == (2, {anna: ROLE_OWNER})


def test_a_deleted_account_is_nobodys_member_even_if_a_snapshot_still_names_it(
    api: Flask, notify: Flask
) -> None:
    ledger_id, anna, boris = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    handle(notify, snapshot(ledger_id, 1, {anna: ROLE_OWNER, boris: ROLE_MEMBER}))
    handle(notify, Event(user_id=boris, payload=UserDeleted()))
    assert known_ledger(notify, ledger_id).members == {anna: ROLE_OWNER}  # type: ignore[union-attr]
    handle(notify, snapshot(ledger_id, 2, {anna: ROLE_OWNER, boris: ROLE_MEMBER}, name="Renamed"))
    ledger = known_ledger(notify, ledger_id)
    assert ledger is not None
    assert (ledger.name, ledger.members) == ("Renamed", {anna: ROLE_OWNER})


def test_a_deleted_ledger_is_forgotten_and_a_late_snapshot_does_not_bring_it_back(
    notify: Flask,
) -> None:
    ledger_id, anna, boris = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    handle(notify, snapshot(ledger_id, 1, {anna: ROLE_OWNER}))
    late = snapshot(ledger_id, 2, {anna: ROLE_OWNER, boris: ROLE_MEMBER})
    handle(notify, ledger_deleted(ledger_id, 3, anna))
    handle(notify, late)

    ledger = known_ledger(notify, ledger_id)
    assert ledger is not None
    assert (ledger.deleted, ledger.members, ledger.group_chat_id) == (True, {}, None)


def test_a_deletion_of_a_ledger_never_seen_leaves_a_tombstone(notify: Flask) -> None:
    ledger_id, anna = uuid.uuid4(), uuid.uuid4()
    handle(notify, ledger_deleted(ledger_id, 5, anna))
    handle(notify, snapshot(ledger_id, 4, {anna: ROLE_OWNER}))
    ledger = known_ledger(notify, ledger_id)
    assert ledger is not None
    assert (ledger.deleted, ledger.members) == (True, {})
