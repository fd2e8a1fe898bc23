"""Households: ledgers, their members and invitations (`views.py`, `service.py`), and whose
ledger a request may read or write (`membership.py`)."""
