"""Access tokens for bench users, minted the way api_app mints them, with the system's key pair."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Final

# Longer than any run, so no token expires mid-measurement.
TOKEN_LIFETIME: Final = timedelta(hours=2)


def mint_access_tokens(
    database_url: str, private_key_path: Path, public_key_path: Path, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    from flask_jwt_extended import create_access_token

    import api_app

    # The app is built here only to sign tokens, not started: production's check for the
    # system's settings (settings_catalog.require) would look for them in the harness's own
    # environment, which has none.
    previous_app_env = os.environ.get("APP_ENV")
    os.environ["APP_ENV"] = "development"
    try:
        app = api_app.create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "JWT_PRIVATE_KEY_PEM": private_key_path.read_text(encoding="utf-8"),
                "JWT_PUBLIC_KEY_PEM": public_key_path.read_text(encoding="utf-8"),
                "JWT_ACCESS_TOKEN_EXPIRES": TOKEN_LIFETIME,
            }
        )
    finally:
        if previous_app_env is None:
            del os.environ["APP_ENV"]
        else:
            os.environ["APP_ENV"] = previous_app_env
    with app.app_context():
        return {user_id: create_access_token(identity=str(user_id)) for user_id in user_ids}
