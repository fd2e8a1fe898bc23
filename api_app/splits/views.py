"""/api/ledgers/{id}/balances and /settlements: who owes whom in a ledger, and repayments.

A settlement is neither spending nor income: no limit, summary, report or export counts it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, fields, post_load
from sqlalchemy import Select

from api_app.access import VIEWER_READS_ONLY, current_user_id, protected
from api_app.models import Settlement
from api_app.schemas_common import OUTPUT_AMOUNT_PATTERN, IsoDate, Money, MoneyOut
from api_app.splits import service
from api_app.splits.balances import Balances, signed_money
from service_kit.blueprint import Blueprint
from service_kit.openapi import error

blp = Blueprint(
    "splits",
    __name__,
    url_prefix="/api/ledgers",
    description="Who paid, who owes: a shared ledger's balances and settlements",
)

NOT_YOURS = "No such ledger of yours"
NO_SETTLEMENT = "No such ledger of yours, or no such settlement in it"
SIGNED_PATTERN = r"^[+-]?[0-9]+\.[0-9]{2}$"


class BalanceSchema(Schema):
    user_id = fields.UUID(required=True)
    name = fields.String(required=True, metadata={"description": "Display name, else e-mail's"})
    net = fields.String(
        required=True,
        metadata={
            "pattern": SIGNED_PATTERN,
            "example": "+30.00",
            "description": '"+30.00" is owed to them, "-30.00" they owe, "0.00" even',
        },
    )
    former_member = fields.Boolean(
        required=True, metadata={"description": "Left the ledger with this balance unsettled"}
    )


class TransferSchema(Schema):
    from_ = fields.UUID(required=True, data_key="from")
    to = fields.UUID(required=True)
    amount = MoneyOut()


class BalancesSchema(Schema):
    balances = fields.List(
        fields.Nested(BalanceSchema),
        required=True,
        metadata={"description": "Members, then former members; the nets add up to zero"},
    )
    settle_up = fields.List(
        fields.Nested(TransferSchema),
        required=True,
        metadata={"description": "The fewest transfers that clear every balance"},
    )


class SettlementCreateSchema(Schema):
    from_user_id = fields.UUID(required=True, metadata={"description": "Who paid back"})
    to_user_id = fields.UUID(required=True, metadata={"description": "Who was paid back"})
    amount = Money(required=True)
    date = IsoDate(required=True)

    @post_load
    def _typed(self, data: dict[str, Any], **kwargs: Any) -> service.NewSettlement:
        return service.NewSettlement(**data)


class SettlementSchema(Schema):
    id = fields.UUID(required=True)
    ledger_id = fields.UUID(required=True)
    from_user_id = fields.UUID(required=True)
    to_user_id = fields.UUID(required=True)
    amount = MoneyOut(metadata={"pattern": OUTPUT_AMOUNT_PATTERN})
    date = fields.Date(required=True)
    created_by = fields.UUID(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


def balances_answer(balances: Balances) -> dict[str, Any]:
    return {
        "balances": [
            {
                "user_id": balance.user_id,
                "name": balance.name,
                "net": signed_money(balance.net),
                "former_member": balance.former,
            }
            for balance in balances.balances
        ],
        "settle_up": [
            {"from_": transfer.from_user_id, "to": transfer.to_user_id, "amount": transfer.amount}
            for transfer in balances.settle_up
        ],
    }


@blp.route("/<uuid:ledger_id>/balances")
class LedgerBalances(MethodView):
    @protected(blp)
    @blp.response(200, BalancesSchema)
    @blp.alt_response(404, **error(NOT_YOURS))
    def get(self, ledger_id: uuid.UUID) -> dict[str, Any]:
        """Who owes whom: each member's net, and the fewest transfers that settle up

        A net is what they paid for split expenses minus their shares of them, plus what they
        paid back minus what was paid back to them. Former members are listed while their
        balance is not zero.
        """
        return balances_answer(service.balances_of(current_user_id(), ledger_id))


@blp.route("/<uuid:ledger_id>/settlements")
class Settlements(MethodView):
    @protected(blp)
    @blp.response(200, SettlementSchema(many=True))
    @blp.alt_response(404, **error(NOT_YOURS))
    @blp.paginate(service.SETTLEMENT_ORDER)
    def get(self, ledger_id: uuid.UUID) -> Select[tuple[Settlement]]:
        """The ledger's settlements, newest date first"""
        return service.settlements_of(current_user_id(), ledger_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(SettlementCreateSchema)
    @blp.response(201, SettlementSchema)
    @blp.alt_response(404, **error(NOT_YOURS))
    def post(self, new: service.NewSettlement, ledger_id: uuid.UUID) -> Settlement:
        """Record a repayment: from_user_id paid to_user_id back (an owner or member)

        Both are members or former members of the ledger, two different people (else 422). It
        changes their balances and is neither spending nor income.
        """
        return service.record_settlement(current_user_id(), ledger_id, new)


@blp.route("/<uuid:ledger_id>/settlements/<uuid:settlement_id>")
class SettlementById(MethodView):
    @protected(blp)
    @blp.response(200, SettlementSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_SETTLEMENT)
    def get(self, ledger_id: uuid.UUID, settlement_id: uuid.UUID) -> Settlement:
        """One settlement"""
        return service.get_settlement(current_user_id(), ledger_id, settlement_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_SETTLEMENT)
    def delete(self, ledger_id: uuid.UUID, settlement_id: uuid.UUID) -> None:
        """Delete a settlement (an owner or member): the balances are as if it never was"""
        service.delete_settlement(current_user_id(), ledger_id, settlement_id)
