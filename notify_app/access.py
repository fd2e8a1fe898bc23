"""Who is asking, in notify_app: `protected` views (writes limited per user) and the user's id."""

from __future__ import annotations

from notify_app.rate_limits import per_user_writes
from service_kit.access import current_user_id, protection

protected = protection(per_user_writes)

__all__ = ["current_user_id", "protected"]
