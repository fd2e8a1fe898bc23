"""api_app's rate limits: on everything that checks a password (per client address and per
account), and on every write of a signed-in user (so that one account cannot flood the database
or the queue). How they are counted and answered: service_kit.rate_limits.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, request
from flask_jwt_extended import current_user

from api_app.auth.schemas import normalize_email
from service_kit import rate_limits
from service_kit.rate_limits import config_value

LIMIT_SETTINGS = (
    "AUTH_RATE_LIMIT_PER_ADDRESS",
    "AUTH_RATE_LIMIT_PER_EMAIL",
    "AUTH_RATE_LIMIT_PER_ACCOUNT",
    "WRITE_RATE_LIMIT_PER_USER",
)


def client_address() -> str:
    # remote_addr is the peer, or with TRUSTED_PROXY_COUNT set, what the trusted proxy saw.
    return request.remote_addr or "unknown"


limiter = rate_limits.new_limiter(client_address)


def init_rate_limits(app: Flask) -> None:
    rate_limits.init_rate_limits(app, limiter, LIMIT_SETTINGS)


def _account_key(email: str) -> str:
    # Hashed: the counters identify an account without putting addresses into Redis.
    normalized = normalize_email(email).encode("utf-8", "surrogatepass")
    return "account:" + hashlib.sha256(normalized).hexdigest()


def _account_in_body() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    # Requests without a readable email share one counter; they fail validation anyway.
    return _account_key(email) if isinstance(email, str) else "account:unreadable"


def _account_from_address() -> str:
    return f"{_account_in_body()}:from:{client_address()}"


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


def _signed_in_account() -> str:
    return _account_key(current_user.email)


# Signing up and signing in draw on one budget per client address. Attempts on one account are
# counted per account *and* client address (OWASP's advice against lockout): a third party
# guessing a victim's password from their own addresses exhausts their budgets, not the
# victim's, who still signs in from theirs. Above that, a high cap per account on failed
# sign-ins from all addresses together stops a distributed guess; reaching it takes many
# addresses at once, and only failures count, so the owner's own sign-ins never do.
per_client_address = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_ADDRESS"), scope="address", key_func=client_address
)
per_email_in_body = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="account-address",
    key_func=_account_from_address,
)
failed_sign_ins_per_account = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_ACCOUNT"),
    scope="account",
    key_func=_account_in_body,
    deduct_when=_failed_sign_in,
)
# Password checks by a signed-in user (password change, account deletion): per account. Only
# a holder of the user's access token can spend this budget, so it locks no one else out.
per_signed_in_account = limiter.shared_limit(
    config_value("AUTH_RATE_LIMIT_PER_EMAIL"),
    scope="signed-in-account",
    key_func=_signed_in_account,
)
# Apply it after the access token was verified (api_app.access.protected does).
per_user_writes = rate_limits.per_user_writes(limiter)
