"""The bare baseline of the write path: Flask and psycopg2, nothing else.

It inserts the same row into the same `transactions` table of the same database as
`POST /api/transactions`, with none of what the real endpoint adds (authentication, schema
validation, the ORM, the budget and outbox work): what any Flask endpoint writing that row pays at
least. `bench/stack.py` runs it under the same gunicorn settings with the same number of workers
as the gateway, so the ratio between the two is the cost of everything we added.

    gunicorn -c gunicorn.conf.py --workers N bench.bare_app:app   (API_DATABASE_URL must be set)
"""

from __future__ import annotations

import os
from typing import Any

import psycopg2  # type: ignore[import-untyped, unused-ignore]
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

# The row goes into its category's ledger, as the real endpoint's does.
INSERT_TRANSACTION = (
    "INSERT INTO transactions (user_id, category_id, type, amount, description, date, ledger_id)"
    " SELECT %(user_id)s, id, %(type)s, %(amount)s, %(description)s, %(date)s, ledger_id"
    " FROM categories WHERE id = %(category_id)s"
    " RETURNING id"
)

app = Flask(__name__)

# One connection per gunicorn worker, opened on its first request, after the fork.
_connection: Any = None


def _database() -> Any:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg2.connect(os.environ["API_DATABASE_URL"])
    return _connection


@app.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok")


@app.post("/transactions")
def create_transaction() -> ResponseReturnValue:
    body = request.get_json()
    row = {
        "user_id": body["user_id"],
        "category_id": body["category_id"],
        "type": body["type"],
        "amount": body["amount"],
        "description": body.get("description"),
        "date": body["date"],
    }
    connection = _database()
    # `with connection` commits on success and rolls back on an error, one transaction each.
    with connection, connection.cursor() as cursor:
        cursor.execute(INSERT_TRANSACTION, row)
        (transaction_id,) = cursor.fetchone()
    return jsonify(id=str(transaction_id)), 201
