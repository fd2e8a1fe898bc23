"""The Ed25519 key pair that signs access tokens (api_app) and verifies them (both services)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

DEVELOPMENT_ENVS = frozenset({"development", "testing"})
PRIVATE_KEY_FILENAME = "jwt_private.pem"
PUBLIC_KEY_FILENAME = "jwt_public.pem"


class MissingSigningKeyError(RuntimeError):
    pass


def configure_signing_keys(app: Flask) -> None:
    """Put the key pair into flask-jwt-extended's config.

    Outside development a missing key is fatal at start-up: a service that silently made up its
    own key would issue tokens nobody else can verify. In development the pair is generated once
    under instance/keys, where notify_app finds the public half.
    """
    private_pem = app.config["JWT_PRIVATE_KEY_PEM"]
    public_pem = app.config["JWT_PUBLIC_KEY_PEM"]
    if private_pem is None or public_pem is None:
        if app.config["APP_ENV"] not in DEVELOPMENT_ENVS:
            raise MissingSigningKeyError(
                "JWT_PRIVATE_KEY/JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY/JWT_PUBLIC_KEY_FILE "
                "must be set outside development (APP_ENV=development generates a pair)"
            )
        private_pem, public_pem = development_key_pair(Path(app.instance_path) / "keys")
    app.config.update(
        JWT_ALGORITHM="EdDSA",
        JWT_DECODE_ALGORITHMS=["EdDSA"],
        JWT_PRIVATE_KEY=private_pem,
        JWT_PUBLIC_KEY=public_pem,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_ENCODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_DECODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_ENCODE_AUDIENCE=app.config["JWT_AUDIENCE"],
        JWT_DECODE_AUDIENCE=app.config["JWT_AUDIENCE"],
    )


def development_key_pair(key_dir: Path) -> tuple[str, str]:
    """Read the development pair from key_dir, generating it on first use."""
    private_path = key_dir / PRIVATE_KEY_FILENAME
    public_path = key_dir / PUBLIC_KEY_FILENAME
    if not private_path.exists():
        key_dir.mkdir(parents=True, exist_ok=True)
        private_key = Ed25519PrivateKey.generate()
        private_bytes = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_bytes = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # Written to a temporary name and renamed, so a concurrent reader never sees half a key.
        for path, content, mode in (
            (public_path, public_bytes, 0o644),
            (private_path, private_bytes, 0o600),
        ):
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(content)
            partial.chmod(mode)
            partial.replace(path)
    return private_path.read_text(), public_path.read_text()
