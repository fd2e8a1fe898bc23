"""/api/ledgers: the caller's ledgers (households), their members and invitations.

A ledger the caller is not a member of answers 404 on every path, as any object not theirs.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user

from api_app.access import current_user_id, protected
from api_app.ledgers import service
from api_app.ledgers.schemas import (
    InvitationCreateSchema,
    InvitationSchema,
    JoinSchema,
    LedgerChangesSchema,
    LedgerNameSchema,
    LedgerSchema,
    MemberSchema,
    MembershipSchema,
    RoleSchema,
)
from service_kit.blueprint import Blueprint
from service_kit.i18n import LANGUAGES, choose_language
from service_kit.openapi import error

blp = Blueprint(
    "ledgers",
    __name__,
    url_prefix="/api/ledgers",
    description="Your ledgers: your personal one and the households you share",
)

NOT_YOURS = "No such ledger of yours"
OWNER_ONLY = "Only the ledger's owner may do this"


@blp.route("")
class Ledgers(MethodView):
    @protected(blp)
    @blp.response(200, LedgerSchema(many=True))
    def get(self) -> list[service.LedgerView]:
        """Your ledgers, your personal one first, with your role in each"""
        return service.ledgers_of(current_user_id())

    @protected(blp)
    @blp.arguments(LedgerNameSchema)
    @blp.response(201, LedgerSchema)
    def post(self, body: dict[str, Any]) -> service.LedgerView:
        """Create a shared ledger, which you own, with the default categories

        The categories are named in your language (else Accept-Language's).
        """
        language = choose_language(
            current_user.language, request.accept_languages.best_match(LANGUAGES)
        )
        return service.create_shared_ledger(current_user_id(), body["name"], language)


@blp.route("/join")
class Join(MethodView):
    @protected(blp)
    @blp.arguments(JoinSchema)
    @blp.response(200, MembershipSchema)
    @blp.alt_response(404, **error("No such invitation, or it was used or has expired"))
    @blp.alt_response(
        409,
        **error(
            "You are a member of that ledger already, or one of its members has your display name"
        ),
    )
    def post(self, body: dict[str, str]) -> service.Membership:
        """Join a ledger with an invitation's code (each code works once)"""
        return service.join(current_user_id(), body["code"])


@blp.route("/<uuid:ledger_id>")
class LedgerById(MethodView):
    @protected(blp)
    @blp.response(200, LedgerSchema)
    @blp.alt_response(404, **error(NOT_YOURS))
    def get(self, ledger_id: uuid.UUID) -> service.LedgerView:
        """One of your ledgers"""
        return service.get_ledger(current_user_id(), ledger_id)

    @protected(blp)
    @blp.arguments(LedgerChangesSchema)
    @blp.response(200, LedgerSchema)
    @blp.alt_response(403, **error(OWNER_ONLY))
    @blp.alt_response(404, **error(NOT_YOURS))
    def patch(self, body: dict[str, Any], ledger_id: uuid.UUID) -> service.LedgerView:
        """Rename a ledger or set its default split (its owner)

        The default split applies to every expense recorded without a `split`: `null` (the
        household pays, nobody owes anybody: the default), `equal` among its owners and members,
        or fixed `shares` or `percent`. A split naming a non-member, percents not adding up to
        100, or any split on a personal ledger: 422.
        """
        return service.change_ledger(current_user_id(), ledger_id, **body)

    @protected(blp)
    @blp.response(204)
    @blp.alt_response(403, **error(OWNER_ONLY))
    @blp.alt_response(404, **error(NOT_YOURS))
    @blp.alt_response(409, **error("A personal ledger cannot be deleted"))
    def delete(self, ledger_id: uuid.UUID) -> None:
        """Delete a shared ledger with everything in it (its owner)"""
        service.delete_ledger(current_user_id(), ledger_id)


@blp.route("/<uuid:ledger_id>/invitations")
class Invitations(MethodView):
    @protected(blp)
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    @blp.alt_response(403, **error(OWNER_ONLY))
    @blp.alt_response(404, **error(NOT_YOURS))
    @blp.alt_response(409, **error("A personal ledger cannot be shared"))
    def post(self, body: dict[str, str], ledger_id: uuid.UUID) -> dict[str, Any]:
        """Invite someone (its owner): a single-use code and a link, valid for 7 days"""
        issued = service.invite(current_user_id(), ledger_id, body["role"])
        page = current_app.config["INVITATION_LINK_URL"] or f"{request.host_url}join"
        return {
            "ledger_id": issued.ledger_id,
            "code": issued.code,
            "link": f"{page}?code={issued.code}",
            "role": issued.role,
            "expires_at": issued.expires_at,
        }


@blp.route("/<uuid:ledger_id>/members")
class Members(MethodView):
    @protected(blp)
    @blp.response(200, MemberSchema(many=True))
    @blp.alt_response(404, **error(NOT_YOURS))
    def get(self, ledger_id: uuid.UUID) -> list[service.MemberView]:
        """The ledger's members, its owner first"""
        return service.members_of(current_user_id(), ledger_id)


@blp.route("/<uuid:ledger_id>/members/<uuid:user_id>")
class MemberById(MethodView):
    @protected(blp)
    @blp.arguments(RoleSchema)
    @blp.response(200, MemberSchema)
    @blp.alt_response(403, **error(OWNER_ONLY))
    @blp.alt_response(404, **error("No such ledger of yours, or no such member of it"))
    @blp.alt_response(409, **error("The owner gives `owner` to another member first"))
    def patch(self, body: dict[str, str], ledger_id: uuid.UUID, user_id: uuid.UUID) -> Any:
        """Change a member's role (its owner); giving `owner` hands ownership over, and you
        become a member"""
        return service.change_role(current_user_id(), ledger_id, user_id, body["role"])

    @protected(blp)
    @blp.response(204)
    @blp.alt_response(403, **error("Only the owner removes others; anyone may leave"))
    @blp.alt_response(404, **error("No such ledger of yours, or no such member of it"))
    @blp.alt_response(
        409,
        **error(
            "The owner cannot leave while others remain, a personal ledger cannot be left, and"
            " a member owing or owed money in it settles up before leaving"
        ),
    )
    def delete(self, ledger_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Remove a member (the owner), or leave (yourself); the owner, once alone, leaving
        deletes the ledger

        Leaving with a balance that is not zero is refused (409 naming it); the owner may remove
        such a member, whose balance then shows as a former member's until settled.
        """
        service.remove_member(current_user_id(), ledger_id, user_id)
