"""Recurring transactions: rules that record an income or expense every week, month or year."""
