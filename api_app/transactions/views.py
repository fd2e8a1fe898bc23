"""/api/transactions: income and expenses, their filtered lists and a CSV export."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from sqlalchemy import Select

from api_app.access import NO_SUCH_LEDGER, VIEWER_READS_ONLY, current_user_id, protected
from api_app.extensions import db
from api_app.models import Transaction
from api_app.rate_limits import per_user_exports
from api_app.transactions import service
from api_app.transactions.export import csv_rows, csv_stream
from api_app.transactions.importing import (
    MAX_FILE_BYTES,
    StatementRejectedError,
    import_statement,
)
from api_app.transactions.schemas import (
    ImportArgsSchema,
    ImportRejectedSchema,
    ImportResultSchema,
    TransactionCreateSchema,
    TransactionFilterSchema,
    TransactionSchema,
    TransactionUpdateSchema,
)
from service_kit.blueprint import Blueprint, abort
from service_kit.edges import body_limit
from service_kit.openapi import RATE_LIMITED

blp = Blueprint(
    "transactions", __name__, url_prefix="/api/transactions", description="Income and expenses"
)

NO_TRANSACTION = "No such transaction of yours"
# Room for the multipart boundaries and the form's small fields around the file.
IMPORT_FORM_OVERHEAD_BYTES = 64 * 1024


@blp.route("")
class Transactions(MethodView):
    @protected(blp)
    @blp.arguments(TransactionFilterSchema, location="query")
    @blp.response(200, TransactionSchema(many=True))
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.paginate(service.TRANSACTION_ORDER)
    def get(self, wanted: service.TransactionFilter) -> Select[tuple[Transaction]]:
        """Your transactions, newest date first (ties: newest created first)"""
        return service.transactions_of(current_user_id(), wanted)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(TransactionCreateSchema)
    @blp.response(201, TransactionSchema)
    @blp.alt_response(
        404,
        schema=ErrorSchema,
        description="No such ledger of yours, or category_id is not one of its categories",
    )
    def post(self, new: service.NewTransaction) -> Transaction:
        """Record an income or an expense"""
        return service.create_transaction(current_user_id(), new)


@blp.route("/export.csv")
class TransactionsCsv(MethodView):
    @protected(blp)
    @blp.arguments(TransactionFilterSchema, location="query")
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="A header row, then one row per transaction: ISO dates, amounts like 12.50",
    )
    @blp.alt_response(404, **NO_SUCH_LEDGER)
    @blp.alt_response(429, **RATE_LIMITED)
    @per_user_exports
    def get(self, wanted: service.TransactionFilter) -> Response:
        """Your transactions matching the filters, as CSV, in the order of the list"""
        transactions = service.transactions_of(current_user_id(), wanted)
        # Streamed on a connection of its own, after this request's session has ended.
        return Response(
            csv_stream(db.engine, csv_rows(transactions)),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
        )


@blp.route("/import")
class TransactionsImport(MethodView):
    # The upload may be larger than MAX_REQUEST_BODY_BYTES: the file, and the multipart framing.
    @body_limit(MAX_FILE_BYTES + IMPORT_FORM_OVERHEAD_BYTES)
    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(ImportArgsSchema, location="multipart")
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(
        404,
        schema=ErrorSchema,
        description="No such ledger of yours, or default_category_id is not one of its categories",
    )
    @blp.alt_response(413, schema=ErrorSchema, description="The file is larger than 5 MiB")
    @blp.alt_response(
        422,
        schema=ImportRejectedSchema,
        description="Nothing was imported: every row's error, or a malformed request",
    )
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Import a CSV statement: all its rows or, if any row has an error, none

        Rows equal to a transaction you have (date, type, amount, category, description) are
        counted as duplicates, per occurrence, and not created again.
        """
        content = args["file"].read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            abort(413, message=f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        try:
            outcome = import_statement(
                current_user_id(),
                content,
                default_category_id=args.get("default_category_id"),
                dry_run=args["dry_run"],
                ledger_id=args["ledger_id"],
            )
        except StatementRejectedError as rejected:
            abort(
                422,
                message=rejected.message,
                errors=[{"line": row.line, "message": row.message} for row in rejected.rows],
            )
        answer: dict[str, Any] = {
            "created": outcome.created,
            "duplicates": outcome.duplicates,
            "errors": [],  # any row error answers 422 instead
        }
        if outcome.dry_run:
            answer["transactions"] = outcome.transactions
        return answer


@blp.route("/<uuid:transaction_id>")
class TransactionById(MethodView):
    @protected(blp)
    @blp.response(200, TransactionSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_TRANSACTION)
    def get(self, transaction_id: uuid.UUID) -> Transaction:
        """One transaction"""
        return service.get_transaction(current_user_id(), transaction_id)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.arguments(TransactionUpdateSchema)
    @blp.response(200, TransactionSchema)
    @blp.alt_response(
        404, schema=ErrorSchema, description="No such transaction or category of yours"
    )
    def patch(self, changes: service.TransactionChanges, transaction_id: uuid.UUID) -> Transaction:
        """Change any of a transaction's fields"""
        return service.update_transaction(current_user_id(), transaction_id, changes)

    @protected(blp)
    @blp.alt_response(403, **VIEWER_READS_ONLY)
    @blp.response(204)
    @blp.alt_response(404, schema=ErrorSchema, description=NO_TRANSACTION)
    def delete(self, transaction_id: uuid.UUID) -> None:
        """Delete a transaction"""
        service.delete_transaction(current_user_id(), transaction_id)
