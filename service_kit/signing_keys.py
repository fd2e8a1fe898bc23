"""The keys and secrets a service starts with: the Ed25519 pair of access tokens (api_app signs
with the private half, both services verify with the public one) and the secret that keys a
service's list cursors (service_kit.pagination).

Outside development a missing key or secret is fatal at start-up: a service that silently made
up its own would issue tokens nobody else can verify, or cursors its other processes refuse. In
development (APP_ENV development or testing) each is generated once under instance/keys.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

DEVELOPMENT_ENVS = frozenset({"development", "testing"})
KEY_DIR = "keys"
PRIVATE_KEY_FILENAME = "jwt_private.pem"
PUBLIC_KEY_FILENAME = "jwt_public.pem"


class MissingSigningKeyError(RuntimeError):
    pass


class MissingVerificationKeyError(RuntimeError):
    pass


class MissingSecretError(RuntimeError):
    pass


def configure_signing_keys(app: Flask) -> None:
    """Put the key pair (JWT_PRIVATE_KEY_PEM, JWT_PUBLIC_KEY_PEM) into flask-jwt-extended's
    config, for a service that signs tokens. In development the pair is generated once under
    instance/keys, where a verifying service finds the public half."""
    private_pem = app.config["JWT_PRIVATE_KEY_PEM"]
    public_pem = app.config["JWT_PUBLIC_KEY_PEM"]
    if private_pem is None or public_pem is None:
        if not _in_development(app):
            raise MissingSigningKeyError(
                "JWT_PRIVATE_KEY/JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY/JWT_PUBLIC_KEY_FILE "
                "must be set outside development (APP_ENV=development generates a pair)"
            )
        private_pem, public_pem = development_key_pair(Path(app.instance_path) / KEY_DIR)
    _verify_with(app, public_pem)
    app.config.update(
        JWT_PRIVATE_KEY=private_pem,
        JWT_ENCODE_ISSUER=app.config["JWT_ISSUER"],
        JWT_ENCODE_AUDIENCE=app.config["JWT_AUDIENCE"],
    )


def configure_token_keys(app: Flask) -> None:
    """For a service that signs tokens in its web process: both halves there (and in
    development); in a process of it that signs none (its relay, its worker, its migrations), which
    production gives no private key, the public half alone."""
    if app.config["JWT_PRIVATE_KEY_PEM"] is None and not _in_development(app):
        configure_verification_key(app)
    else:
        configure_signing_keys(app)


def configure_verification_key(app: Flask) -> None:
    """The public half (JWT_PUBLIC_KEY_PEM) alone, for a service that only verifies tokens."""
    public_pem = app.config["JWT_PUBLIC_KEY_PEM"]
    if public_pem is None:
        development_key = Path(app.instance_path) / KEY_DIR / PUBLIC_KEY_FILENAME
        if not _in_development(app) or not development_key.exists():
            raise MissingVerificationKeyError(
                "JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE must be set (in development, start "
                "api_app once to generate the pair under instance/keys)"
            )
        public_pem = development_key.read_text()
    _verify_with(app, public_pem)


def configure_cursor_secret(app: Flask, *, setting: str, filename: str) -> None:
    """CURSOR_SECRET, read from the environment variable `setting` (or `setting`_FILE) by the
    service's config; in development generated once as instance/keys/`filename`."""
    if app.config.get("CURSOR_SECRET"):
        return
    if not _in_development(app):
        raise MissingSecretError(
            f"{setting} or {setting}_FILE must be set outside development (for example "
            "`openssl rand -hex 32`; APP_ENV=development generates one)"
        )
    app.config["CURSOR_SECRET"] = development_secret(Path(app.instance_path) / KEY_DIR / filename)


def _in_development(app: Flask) -> bool:
    return app.config["APP_ENV"] in DEVELOPMENT_ENVS


def _verify_with(app: Flask, public_pem: str) -> None:
    app.config.update(
        JWT_ALGORITHM="EdDSA",
        JWT_DECODE_ALGORITHMS=["EdDSA"],
        JWT_PUBLIC_KEY=public_pem,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_DECODE_ISSUER=app.config["JWT_ISSUER"],
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


def development_secret(path: Path) -> str:
    """Read the secret at path, generating it on first use. The first process to write it wins
    (a hard link fails where the file exists), so processes started together share one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(secrets.token_hex(32))
        partial.chmod(0o600)
        try:
            os.link(partial, path)
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_text().strip()
