"""/api/notifications/settings: the signed-in user's notification settings."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest.error_handler import ErrorSchema

from notify_app.auth import BEARER_AUTH, UNAUTHORIZED, current_user_id
from notify_app.blueprint import Blueprint
from notify_app.settings import service
from notify_app.settings.schemas import (
    NotificationSettingsPatchSchema,
    NotificationSettingsSchema,
)

blp = Blueprint(
    "settings",
    __name__,
    url_prefix="/api/notifications",
    description="Your notification settings",
)


@blp.route("/settings")
class NotificationSettings(MethodView):
    @jwt_required()
    @blp.doc(security=BEARER_AUTH)
    @blp.response(200, NotificationSettingsSchema)
    @blp.alt_response(401, **UNAUTHORIZED)
    def get(self) -> service.Settings:
        """Your settings (the defaults until you change one)"""
        return service.settings_of(current_user_id())

    @jwt_required()
    @blp.doc(security=BEARER_AUTH)
    @blp.arguments(NotificationSettingsPatchSchema)
    @blp.response(200, NotificationSettingsSchema)
    @blp.alt_response(401, **UNAUTHORIZED)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="Unknown field, chat id not digits (optionally after a minus), not a"
        " boolean, warn_at_percent not a warning threshold or null",
    )
    def patch(self, changes: dict[str, Any]) -> service.Settings:
        """Change some of your settings; fields left out keep their value"""
        return service.update_settings(current_user_id(), changes)
