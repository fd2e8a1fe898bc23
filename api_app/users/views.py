"""/api/users/me: the signed-in user's own account."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api_app.access import current_user_id, protected
from api_app.models import User
from api_app.rate_limits import per_signed_in_account
from api_app.users import service
from api_app.users.schemas import (
    AccountDeletionSchema,
    PasswordChangeSchema,
    UserSchema,
    UserUpdateSchema,
)
from service_kit.blueprint import Blueprint
from service_kit.edges import no_store
from service_kit.openapi import error

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Your account")


blp.after_request(no_store)


@blp.route("/me")
class Me(MethodView):
    @protected(blp)
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """The signed-in user"""
        return service.get_account(current_user_id())

    @protected(blp)
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(
        422, **error("Malformed request, not a known IANA time zone or not a known language")
    )
    @blp.alt_response(
        409, **error("Someone in a ledger you share is called that already (in any letter case)")
    )
    def patch(self, body: dict[str, Any]) -> User:
        """Change the account's settings: its time zone, language, currency, display name

        The display name is how the members of your shared ledgers (and the bot, `/spent 60
        food for Ben`) name you: unique, in any letter case, within each ledger you share.
        """
        return service.change_settings(current_user_id(), service.AccountChanges(**body))

    # Checking the password draws on the account's sign-in budget too, before the body is read.
    @protected(blp)
    @per_signed_in_account
    @blp.arguments(AccountDeletionSchema)
    @blp.response(204)
    @blp.alt_response(403, **error("The password is not correct"))
    @blp.alt_response(422, **error("Malformed request"))
    def delete(self, body: dict[str, str]) -> None:
        """Delete the account and everything in it (confirm with the password)"""
        service.delete_account(current_user_id(), body["password"])


@blp.route("/me/password")
class MyPassword(MethodView):
    @protected(blp)
    @per_signed_in_account
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(403, **error("The current password is not correct"))
    @blp.alt_response(422, **error("Malformed request, or new password not 8 to 128 characters"))
    def post(self, body: dict[str, str]) -> None:
        """Change the password; signs out every session"""
        service.change_password(current_user_id(), body["current_password"], body["new_password"])
