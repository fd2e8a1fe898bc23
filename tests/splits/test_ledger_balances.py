"""ledger_balances, kept by triggers, always equals the nets summed from scratch from the entries:
after edits, deletions, settlements, a member's removal, writes by plain SQL that no application
code sees, and a ledger's deletion (which leaves none of its rows behind)."""

from __future__ import annotations

from decimal import Decimal

import psycopg2

from tests.conftest import ServiceDatabases
from tests.households.conftest import Sql
from tests.splits.conftest import Household

# Every person's net in every ledger summed from the entries themselves, as before the triggers.
FROM_SCRATCH = """
SELECT ledger_id, user_id, sum(amount) FROM (
    SELECT ledger_id, paid_by AS user_id, amount FROM transactions WHERE split IS NOT NULL
    UNION ALL SELECT ledger_id, user_id, -amount FROM transaction_shares
    UNION ALL SELECT ledger_id, from_user_id, amount FROM settlements
    UNION ALL SELECT ledger_id, to_user_id, -amount FROM settlements
) AS entries GROUP BY ledger_id, user_id HAVING sum(amount) <> 0
"""
KEPT = "SELECT ledger_id, user_id, net FROM ledger_balances WHERE net <> 0"


def kept_agrees(api_sql: Sql) -> set[tuple[object, ...]]:
    kept = set(api_sql(KEPT))
    assert kept == set(api_sql(FROM_SCRATCH))
    assert api_sql("SELECT count(*) FROM ledger_balance_changes") == [(0,)]
    return kept


def test_kept_nets_equal_the_entries_after_every_kind_of_change(
    home: Household, api_sql: Sql
) -> None:
    anna, ben, cleo = home.members
    everyone = [{"user_id": str(person.id)} for person in home.members]
    members = f"/api/ledgers/{home.ledger_id}/members"
    lunch = home.expense(anna, "90.00", split={"method": "equal", "among": everyone})
    taxi = home.expense(ben, "20.01", split={"method": "equal", "among": everyone})
    home.expense(cleo, "7.00")  # unsplit: nobody owes anybody
    assert len(kept_agrees(api_sql)) == 3

    anna.expect(200, "PATCH", f"/api/transactions/{lunch['id']}", json={"amount": "60.00"})
    anna.expect(200, "PATCH", f"/api/transactions/{lunch['id']}", json={"paid_by": str(cleo.id)})
    split = {"method": "percent", "among": [
        {"user_id": str(anna.id), "value": "70"}, {"user_id": str(ben.id), "value": "30"}
    ]}  # fmt: skip
    ben.expect(200, "PATCH", f"/api/transactions/{taxi['id']}", json={"split": split})
    kept_agrees(api_sql)

    repaid = home.settle(ben, ben, cleo, "11.11")
    home.settle(anna, anna, ben, "3.00")
    anna.expect(204, "DELETE", f"/api/ledgers/{home.ledger_id}/settlements/{repaid['id']}")
    ben.expect(204, "DELETE", f"/api/transactions/{taxi['id']}")
    kept_agrees(api_sql)

    # The owner removes Ben with his balance: it stays, as a former member's.
    home.expense(cleo, "30.00", split={"method": "equal", "among": everyone[:2]})
    anna.expect(204, "DELETE", f"{members}/{ben.id}")
    assert str(ben.id) in home.nets()
    kept_agrees(api_sql)

    # Writes no application code sees keep it right too (a statement of many rows included).
    api_sql("UPDATE transactions SET amount = amount * 2 WHERE ledger_id = %s", (home.ledger_id,))
    api_sql("UPDATE transaction_shares SET amount = amount * 2 WHERE ledger_id = %s",
            (home.ledger_id,))  # fmt: skip
    api_sql("UPDATE settlements SET amount = amount + 1 WHERE ledger_id = %s", (home.ledger_id,))
    kept = kept_agrees(api_sql)
    assert {str(user_id): net for _, user_id, net in kept} == {
        user_id: Decimal(net) for user_id, net in home.nets().items() if Decimal(net) != 0
    }

    anna.expect(204, "DELETE", f"/api/ledgers/{home.ledger_id}")
    assert api_sql("SELECT count(*) FROM ledger_balances WHERE ledger_id = %s",
                   (home.ledger_id,)) == [(0,)]  # fmt: skip
    kept_agrees(api_sql)


def test_an_uncommitted_write_locks_no_net_and_its_own_reads_see_it(
    home: Household, api_sql: Sql, test_databases: ServiceDatabases
) -> None:
    """Nets are locked only at commit, all at once in one order: a writer holds none of them
    while its transaction runs, so two writers cannot wait for each other in a cycle."""
    anna, ben, _ = home.members
    home.settle(anna, anna, ben, "5.00")
    settle = (
        "INSERT INTO settlements (ledger_id, from_user_id, to_user_id, amount, date)"
        " VALUES (%s, %s, %s, %s, '2026-11-12')"
    )
    writer = psycopg2.connect(test_databases.api_url)
    other = psycopg2.connect(test_databases.api_url)
    try:
        with writer.cursor() as cursor:
            cursor.execute(settle, (home.ledger_id, str(ben.id), str(anna.id), "2.00"))
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT user_id FROM ledger_balances WHERE ledger_id = %s FOR UPDATE SKIP LOCKED",
                (home.ledger_id,),
            )
            assert {str(row[0]) for row in cursor.fetchall()} == {str(anna.id), str(ben.id)}
        other.rollback()
        writer.commit()
    finally:
        writer.close()
        other.close()
    assert home.nets()[str(anna.id)] == "+3.00"
    kept_agrees(api_sql)
