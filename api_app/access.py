"""Who is asking, in api_app: `protected` views (writes limited per user) and the user's id;
the answers of a ledger the caller may not write or does not share, as OpenAPI documents them."""

from __future__ import annotations

from typing import Any, Final

from api_app.rate_limits import per_user_writes
from service_kit.access import current_user_id, protection
from service_kit.openapi import error

protected = protection(per_user_writes)

# A write to a ledger the caller only views (api_app.ledgers.membership).
VIEWER_READS_ONLY: Final[dict[str, Any]] = error("A viewer of the ledger may only read it")
# A list or report of a `ledger_id` that is not one of the caller's ledgers.
NO_SUCH_LEDGER: Final[dict[str, Any]] = error("ledger_id is no ledger of yours")

__all__ = ["NO_SUCH_LEDGER", "VIEWER_READS_ONLY", "current_user_id", "protected"]
