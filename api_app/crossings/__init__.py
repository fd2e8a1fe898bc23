"""Detecting the crossings that emit events, inside a unit of work's transaction: a category's
spending over its limit or a warning threshold (limits.py), a savings goal reached (goals.py).
Reached through api_app.unit_of_work, which records what they find."""
