"""Accounts and authentication: sign-up, sign-in, token life cycle, and their wiring."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api_app.auth.access_tokens import install_token_policy
from api_app.auth.cli import auth_cli
from api_app.auth.views import blp
from api_app.extensions import jwt
from api_app.rate_limits import init_rate_limits
from service_kit.openapi import document_bearer_auth

__all__ = ["init_auth"]


def init_auth(app: Flask, api: Api) -> None:
    install_token_policy(jwt)
    init_rate_limits(app)
    document_bearer_auth(api)
    api.register_blueprint(blp)
    app.cli.add_command(auth_cli)
