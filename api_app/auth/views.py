"""POST /api/auth/...: sign up, sign in, refresh, sign out."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import abort

from api_app.auth import refresh_tokens, service
from api_app.auth.schemas import LoginSchema, RefreshTokenSchema, RegistrationSchema, SessionSchema
from api_app.rate_limits import (
    count_failed_sign_in,
    per_address_sessions,
    per_client_address,
    per_email_in_body,
    per_user_writes,
    slowed_when_under_attack,
)
from service_kit.blueprint import AccountBlueprint
from service_kit.edges import no_store
from service_kit.i18n import LANGUAGES
from service_kit.openapi import BEARER_AUTH, RATE_LIMITED, UNAUTHORIZED, error

blp = AccountBlueprint(
    "auth", __name__, url_prefix="/api/auth", description="Accounts, sign-in and sessions"
)


# Tokens must not be kept by browsers or intermediaries (RFC 6749, section 5.1).
blp.after_request(no_store)


@blp.route("/register")
class Register(MethodView):
    @per_client_address
    @per_email_in_body
    @blp.arguments(RegistrationSchema)
    @blp.response(201, SessionSchema)
    @blp.alt_response(409, **error("An account with this email already exists"))
    @blp.alt_response(422, **error("Invalid email, or password not 8 to 128 characters"))
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self, credentials: dict[str, str]) -> service.IssuedSession:
        """Create an account and sign in"""
        try:
            session = service.register(
                credentials["email"],
                credentials["password"],
                language=credentials.get("language"),
                client_language=request.accept_languages.best_match(LANGUAGES),
            )
        except service.EmailTakenError:
            abort(409, message="an account with this email already exists")
        return session


@blp.route("/login")
class Login(MethodView):
    @per_client_address
    @per_email_in_body
    @slowed_when_under_attack
    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(401, **error("Unknown email or wrong password: one answer for both"))
    @blp.alt_response(422, **error("Malformed request"))
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self, credentials: dict[str, str]) -> service.IssuedSession:
        """Sign in"""
        try:
            session = service.login(credentials["email"], credentials["password"])
        except service.InvalidCredentialsError:
            count_failed_sign_in()
            abort(401, message="invalid email or password")
        return session


@blp.route("/refresh")
class Refresh(MethodView):
    @per_address_sessions
    @blp.arguments(RefreshTokenSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(
        401,
        **error(
            "Unknown, expired, revoked or already used token. Presenting a used token again "
            "also revokes every refresh token of its user."
        ),
    )
    @blp.alt_response(422, **error("Malformed request"))
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self, body: dict[str, str]) -> service.IssuedSession:
        """Trade a refresh token for a new pair; the presented token is used up"""
        try:
            session = service.refresh(body["refresh_token"])
        except refresh_tokens.InvalidRefreshTokenError:
            abort(401, message="invalid refresh token")
        return session


@blp.route("/logout")
class Logout(MethodView):
    @per_address_sessions
    @blp.arguments(RefreshTokenSchema)
    @blp.response(204)
    @blp.alt_response(422, **error("Malformed request"))
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self, body: dict[str, str]) -> None:
        """Revoke one refresh token; 204 whether or not it was still valid"""
        service.logout(body["refresh_token"])


@blp.route("/logout-all")
class LogoutEverywhere(MethodView):
    @jwt_required()
    @per_user_writes
    @blp.doc(security=BEARER_AUTH)
    @blp.response(204)
    @blp.alt_response(401, **UNAUTHORIZED)
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self) -> None:
        """Revoke every refresh and access token of the signed-in user"""
        service.logout_everywhere(current_user)
