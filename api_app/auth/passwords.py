"""Password hashing with argon2id at OWASP's recommended minimum parameters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1. Hashes made with other
# parameters are recognised by check_needs_rehash and replaced on the next successful login.
OWASP_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# The app config key of another hasher, for an app built in code only (no setting reads it): the
# tests' apps, which check thousands of passwords to test everything but the hash's cost.
PASSWORD_HASHER_CONFIG = "PASSWORD_HASHER"  # noqa: S105 (a config key, not a password)

# NIST SP 800-63B and OWASP: a minimum length, a generous maximum, and no composition rules.
MIN_LENGTH = 8
MAX_LENGTH = 128


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    needs_rehash: bool


def hash_password(password: str) -> str:
    return _hasher().hash(_encoded(password))


def check_password(password_hash: str | None, password: str) -> PasswordCheck:
    """Compare a password with a stored hash, spending the same work whether or not there is one.

    With no hash (unknown email) or an unusable one, a dummy hash is verified instead, so the
    answer's timing does not tell an unknown account from a wrong password.
    """
    hasher = _hasher()
    if password_hash is None or not password_hash.startswith("$argon2"):
        _verify(hasher, _dummy_hash(hasher), password)
        return PasswordCheck(matches=False, needs_rehash=False)
    if not _verify(hasher, password_hash, password):
        return PasswordCheck(matches=False, needs_rehash=False)
    return PasswordCheck(matches=True, needs_rehash=hasher.check_needs_rehash(password_hash))


def _hasher() -> PasswordHasher:
    hasher: PasswordHasher = current_app.config.get(PASSWORD_HASHER_CONFIG, OWASP_HASHER)
    return hasher


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, _encoded(password))
    except (VerificationError, InvalidHashError):
        return False


def _encoded(password: str) -> bytes:
    # surrogatepass: JSON may carry lone surrogates, which strict UTF-8 refuses to encode.
    return password.encode("utf-8", "surrogatepass")


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("a password nobody has")
