"""/api/users/me: the signed-in user's own account."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import abort

from api_app.auth.openapi import BEARER_AUTH, RATE_LIMITED, UNAUTHORIZED, error
from api_app.blueprint import AccountBlueprint
from api_app.models import User
from api_app.rate_limits import per_signed_in_account, per_user_writes
from api_app.users import service
from api_app.users.schemas import (
    AccountDeletionSchema,
    PasswordChangeSchema,
    UserSchema,
    UserUpdateSchema,
)

blp = AccountBlueprint("users", __name__, url_prefix="/api/users", description="Your account")


@blp.after_request
def _never_cache(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/me")
class Me(MethodView):
    @jwt_required()
    @blp.doc(security=BEARER_AUTH)
    @blp.response(200, UserSchema)
    @blp.alt_response(401, **UNAUTHORIZED)
    def get(self) -> User:
        """The signed-in user"""
        user: User = current_user
        return user

    @jwt_required()
    @per_user_writes
    @blp.doc(security=BEARER_AUTH)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(401, **UNAUTHORIZED)
    @blp.alt_response(422, **error("Malformed request, or not a known IANA time zone"))
    @blp.alt_response(429, **RATE_LIMITED)
    def patch(self, body: dict[str, str]) -> User:
        """Change the account's settings: its time zone"""
        return service.change_timezone(current_user, body["timezone"])

    # The access token and the rate limit come before the body is read.
    @jwt_required()
    @per_signed_in_account
    @blp.doc(security=BEARER_AUTH)
    @blp.arguments(AccountDeletionSchema)
    @blp.response(204)
    @blp.alt_response(401, **UNAUTHORIZED)
    @blp.alt_response(403, **error("The password is not correct"))
    @blp.alt_response(422, **error("Malformed request"))
    @blp.alt_response(429, **RATE_LIMITED)
    def delete(self, body: dict[str, str]) -> None:
        """Delete the account and everything in it (confirm with the password)"""
        try:
            service.delete_account(current_user, body["password"])
        except service.WrongPasswordError:
            abort(403, message="the password is not correct")


@blp.route("/me/password")
class MyPassword(MethodView):
    @jwt_required()
    @per_signed_in_account
    @blp.doc(security=BEARER_AUTH)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(401, **UNAUTHORIZED)
    @blp.alt_response(403, **error("The current password is not correct"))
    @blp.alt_response(422, **error("Malformed request, or new password not 8 to 128 characters"))
    @blp.alt_response(429, **RATE_LIMITED)
    def post(self, body: dict[str, str]) -> None:
        """Change the password; signs out every session"""
        try:
            service.change_password(current_user, body["current_password"], body["new_password"])
        except service.WrongPasswordError:
            abort(403, message="the password is not correct")
