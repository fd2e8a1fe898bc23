"""Who paid, who owes: the shares of a shared ledger's expenses and settling up (issue 24)."""
