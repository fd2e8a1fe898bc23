"""notify_app's copy of each ledger (households) and the group chat linked to it.

The members come from api_app's ledger.membership_changed snapshots only (notify_app never reads
budget_api): the highest `version` applied wins, so snapshots handled out of order end where
api_app ended. The group chat is notify_app's own: linked through a one-time link code
(POST /api/notifications/ledgers/{id}/telegram/link, then the bot's `/start@bot CODE` in the
group), unlinked by `/stop` there, by the bot's removal from the group, or by the ledger's
deletion.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from event_contract import (
    LEDGER_SHARED,
    ROLE_MEMBER,
    ROLE_OWNER,
    LedgerDeleted,
    LedgerMembershipChanged,
)
from notify_app.domain_errors import ConflictError, NotFoundError
from notify_app.linking.service import LinkOffer, consume_code, new_link_code
from notify_app.models import (
    DeletedUser,
    Ledger,
    LedgerMembership,
    NotificationSettings,
    TelegramLinkCode,
)
from notify_app.unit_of_work import UnitOfWork
from service_kit.domain_errors import ForbiddenError
from service_kit.i18n import choose_language

logger = logging.getLogger(__name__)

# The roles that may link and unlink a ledger's group (a viewer only reads).
WRITERS = frozenset({ROLE_OWNER, ROLE_MEMBER})
NO_GROUP_REASON = "no group chat is linked to the ledger"


@dataclass(frozen=True)
class LedgerGroup:
    """A ledger's linked group chat and what its texts are written in."""

    ledger_id: uuid.UUID
    ledger_name: str
    chat_id: str
    language: str | None
    currency: str | None


# -- The snapshots: ledger.membership_changed and ledger.deleted ----------------------------


def apply_snapshot(uow: UnitOfWork, changed: LedgerMembershipChanged) -> bool:
    """Make the copy of the ledger what the snapshot says, if it is newer than the copy; whether
    it was. A deleted ledger stays deleted (a snapshot of it can only be older)."""
    applied = uow.session.execute(
        insert(Ledger)
        .values(
            ledger_id=changed.ledger_id,
            name=changed.name,
            kind=changed.kind,
            version=changed.version,
        )
        .on_conflict_do_update(
            index_elements=[Ledger.ledger_id],
            set_={
                "name": changed.name,
                "kind": changed.kind,
                "version": changed.version,
                "updated_at": func.now(),
            },
            # The row lock of the upsert makes two snapshots of one ledger take turns, so the
            # second one compares with what the first one wrote.
            where=(Ledger.version < changed.version) & Ledger.deleted_at.is_(None),
        )
        .returning(Ledger.ledger_id)
    ).scalar_one_or_none()
    if applied is None:
        return False
    members = {member.user_id: member.role for member in changed.members}
    # A member whose account is gone (user.deleted handled) stays out, should a snapshot
    # still name them.
    deleted = set(
        uow.session.scalars(select(DeletedUser.user_id).where(DeletedUser.user_id.in_(members)))
    )
    members = {user_id: role for user_id, role in members.items() if user_id not in deleted}
    uow.session.execute(
        delete(LedgerMembership).where(
            LedgerMembership.ledger_id == changed.ledger_id,
            LedgerMembership.user_id.not_in(members),
        )
    )
    if members:
        rows = [
            {"ledger_id": changed.ledger_id, "user_id": user_id, "role": role}
            for user_id, role in members.items()
        ]
        statement = insert(LedgerMembership).values(rows)
        uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=[LedgerMembership.ledger_id, LedgerMembership.user_id],
                set_={"role": statement.excluded.role},
            )
        )
    return True


def forget_ledger(uow: UnitOfWork, deleted: LedgerDeleted) -> LedgerGroup | None:
    """Forget the ledger's members, link codes and group; the group it had, to be told.

    The row stays as a tombstone (deleted_at), so a snapshot arriving late cannot bring the
    ledger back. A redelivered deletion finds no group any more and tells nobody twice.
    """
    uow.session.execute(
        insert(Ledger)
        .values(
            ledger_id=deleted.ledger_id,
            name="",
            kind=LEDGER_SHARED,
            version=deleted.version,
            deleted_at=func.now(),
        )
        .on_conflict_do_nothing(index_elements=[Ledger.ledger_id])
    )
    ledger = uow.session.execute(
        select(Ledger).where(Ledger.ledger_id == deleted.ledger_id).with_for_update()
    ).scalar_one()
    group = _group_of(ledger)
    uow.session.execute(
        update(Ledger)
        .where(Ledger.ledger_id == deleted.ledger_id)
        .values(
            deleted_at=func.coalesce(Ledger.deleted_at, func.now()),
            version=func.greatest(Ledger.version, deleted.version),
            group_chat_id=None,
            linked_by=None,
            linked_at=None,
            updated_at=func.now(),
        )
    )
    uow.session.execute(
        delete(LedgerMembership).where(LedgerMembership.ledger_id == deleted.ledger_id)
    )
    uow.session.execute(
        delete(TelegramLinkCode).where(TelegramLinkCode.ledger_id == deleted.ledger_id)
    )
    return group


def forget_member(uow: UnitOfWork, user_id: uuid.UUID) -> None:
    """A deleted account is nobody's member any more (user.deleted)."""
    uow.session.execute(delete(LedgerMembership).where(LedgerMembership.user_id == user_id))


# -- Who may do what, per the copy ----------------------------------------------------------


def role_of(uow: UnitOfWork, ledger_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return uow.session.scalar(
        select(LedgerMembership.role).where(
            LedgerMembership.ledger_id == ledger_id, LedgerMembership.user_id == user_id
        )
    )


def group_of_ledger(uow: UnitOfWork, ledger_id: uuid.UUID) -> LedgerGroup | None:
    """The group chat linked to the ledger, None without one."""
    ledger = uow.session.get(Ledger, ledger_id)
    return None if ledger is None else _group_of(ledger)


def group_of_chat(chat_id: str) -> LedgerGroup | None:
    """The ledger a group chat is linked to, None when it is linked to none."""
    with UnitOfWork() as uow:
        ledger = uow.session.scalar(select(Ledger).where(Ledger.group_chat_id == chat_id))
        return None if ledger is None else _group_of(ledger)


def _group_of(ledger: Ledger) -> LedgerGroup | None:
    if ledger.group_chat_id is None:
        return None
    return LedgerGroup(
        ledger.ledger_id,
        ledger.name,
        ledger.group_chat_id,
        ledger.group_language,
        ledger.group_currency,
    )


# -- Linking a group --------------------------------------------------------------------------


def create_group_link_code(
    user_id: uuid.UUID, ledger_id: uuid.UUID, valid_for: timedelta
) -> LinkOffer:
    """A one-time code that links the group it is opened in to the ledger. NotFoundError when
    the user is no member of it (as notify_app's copy knows), ForbiddenError for a viewer,
    ConflictError for a personal ledger (its alerts are its one person's)."""
    with UnitOfWork() as uow:
        role = role_of(uow, ledger_id, user_id)
        ledger = uow.session.get(Ledger, ledger_id)
        if role is None or ledger is None or ledger.deleted_at is not None:
            raise NotFoundError("ledger not found")
        if role not in WRITERS:
            raise ForbiddenError("a viewer cannot link the ledger's group chat")
        if ledger.kind != LEDGER_SHARED:
            raise ConflictError("only a shared ledger has a group chat")
        return new_link_code(uow, user_id, valid_for, ledger_id=ledger_id)


class GroupTakenError(ConflictError):
    """The group is linked to another ledger already."""

    def __init__(self, ledger_name: str) -> None:
        super().__init__("the group is linked to another ledger")
        self.ledger_name = ledger_name


@dataclass(frozen=True)
class LinkedGroup:
    ledger_name: str
    language: str


def link_group(chat_id: str, code: str, language_code: str | None) -> LinkedGroup:
    """`/start@bot CODE` in a group: link it to the code's ledger, in the language of whoever
    asked for the link (their choice, else the Telegram language of who added the bot).

    NotFoundError for an unknown, used or expired code, or one whose asker is no owner or member
    of the ledger any more; GroupTakenError when the group is another ledger's (the code stays
    unused: /stop there first, then open it again). A ledger linked to another group before
    lets that group go: one group per ledger.
    """
    with UnitOfWork() as uow:
        user_id, ledger_id = consume_code(uow, code, for_group=True)
        assert ledger_id is not None
        uow.session.execute(_LOCK_GROUP, {"chat_key": f"telegram group {chat_id}"})
        ledger = uow.session.execute(
            select(Ledger)
            .where(Ledger.ledger_id == ledger_id, Ledger.deleted_at.is_(None))
            .with_for_update()
        ).scalar_one_or_none()
        if ledger is None or role_of(uow, ledger_id, user_id) not in WRITERS:
            raise NotFoundError("the link's ledger is gone, or its asker may not link it")
        taken = uow.session.scalar(
            select(Ledger.name).where(
                Ledger.group_chat_id == chat_id, Ledger.ledger_id != ledger_id
            )
        )
        if taken is not None:
            raise GroupTakenError(taken)
        chosen = uow.session.execute(
            select(NotificationSettings.language, NotificationSettings.currency).where(
                NotificationSettings.user_id == user_id
            )
        ).one_or_none()
        language = choose_language(None if chosen is None else chosen.language, language_code)
        ledger.group_chat_id = chat_id
        ledger.group_language = language
        ledger.group_currency = None if chosen is None else chosen.currency
        ledger.linked_by = user_id
        ledger.linked_at = datetime.now(UTC)
        name = ledger.name
    logger.info("telegram group linked to ledger %s", ledger_id, extra={"user_id": str(user_id)})
    return LinkedGroup(name, language)


_LOCK_GROUP = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("chat_key"))))


def unlink_group(chat_id: str, *, by: uuid.UUID | None = None) -> LedgerGroup | None:
    """The group no longer gets its ledger's alerts nor takes its commands; what it was.

    `by`: who asked (/stop in the group), ForbiddenError unless they are the ledger's owner
    or a member; None: the bot was removed from the group.
    """
    with UnitOfWork() as uow:
        ledger = uow.session.execute(
            select(Ledger).where(Ledger.group_chat_id == chat_id).with_for_update()
        ).scalar_one_or_none()
        if ledger is None:
            return None
        if by is not None and role_of(uow, ledger.ledger_id, by) not in WRITERS:
            raise ForbiddenError("only the ledger's owner or a member may unlink its group")
        group = _group_of(ledger)
        ledger.group_chat_id = None
        ledger.linked_by = None
        ledger.linked_at = None
    logger.info("telegram group unlinked from ledger %s", ledger.ledger_id)
    return group


def move_group(from_chat_id: str, to_chat_id: str) -> None:
    """The group became a supergroup under a new chat id: its link follows it."""
    with UnitOfWork() as uow:
        uow.session.execute(
            update(Ledger)
            .where(Ledger.group_chat_id == from_chat_id)
            .values(group_chat_id=to_chat_id, updated_at=func.now())
        )
