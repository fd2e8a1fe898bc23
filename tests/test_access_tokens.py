"""Access tokens are EdDSA JWTs with iss and aud, verifiable with the public key alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jwt

from tests.users import SignedInUser


def test_access_token_is_eddsa_signed_with_issuer_and_audience(
    make_user: Callable[[], SignedInUser], signing_key_files: tuple[Path, Path]
) -> None:
    user = make_user()
    claims = jwt.decode(
        user.access_token,
        signing_key_files[1].read_text(),
        algorithms=["EdDSA"],
        audience="budget-services",
        issuer="budget-api",
    )
    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"
    assert {"iat", "exp", "jti"} <= claims.keys()
