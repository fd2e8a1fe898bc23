"""Households: notify_app's copy of each ledger's members and the group chat linked to it."""
