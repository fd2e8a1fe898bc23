"""The public half of the api's token-signing key pair: notify_app only ever verifies."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

DEVELOPMENT_ENVS = frozenset({"development", "testing"})
# Where api_app writes its development pair (both apps share the repository's instance/ folder).
DEVELOPMENT_PUBLIC_KEY = Path("keys") / "jwt_public.pem"


class MissingVerificationKeyError(RuntimeError):
    pass


def configure_verification_key(app: Flask) -> None:
    public_pem = app.config["JWT_PUBLIC_KEY_PEM"]
    if public_pem is None:
        development_key = Path(app.instance_path) / DEVELOPMENT_PUBLIC_KEY
        if app.config["APP_ENV"] not in DEVELOPMENT_ENVS or not development_key.exists():
            raise MissingVerificationKeyError(
                "JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE must be set (in development, start "
                "api_app once to generate the pair under instance/keys)"
            )
        public_pem = development_key.read_text()
    app.config.update(
        JWT_ALGORITHM="EdDSA",
        JWT_DECODE_ALGORITHMS=["EdDSA"],
        JWT_PUBLIC_KEY=public_pem,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_DECODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_DECODE_AUDIENCE=app.config["JWT_AUDIENCE"],
    )
