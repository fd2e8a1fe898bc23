"""Reports over several months: income, expenses and spending per category, month by month."""
