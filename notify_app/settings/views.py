"""/api/notifications/settings: the signed-in user's notification settings."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from notify_app.access import current_user_id, protected
from notify_app.settings import service
from notify_app.settings.schemas import (
    NotificationSettingsPatchSchema,
    NotificationSettingsSchema,
)
from service_kit.blueprint import Blueprint

blp = Blueprint(
    "settings",
    __name__,
    url_prefix="/api/notifications",
    description="Your notification settings",
)


@blp.route("/settings")
class NotificationSettings(MethodView):
    @protected(blp)
    @blp.response(200, NotificationSettingsSchema)
    def get(self) -> service.Settings:
        """Your settings (the defaults until you change one)"""
        return service.settings_of(current_user_id())

    @protected(blp)
    @blp.arguments(NotificationSettingsPatchSchema)
    @blp.response(200, NotificationSettingsSchema)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="Unknown field, a chat id other than null (chats are linked through the"
        " bot), not a boolean, warn_at_percent not a warning threshold or null",
    )
    def patch(self, changes: service.SettingsChanges) -> service.Settings:
        """Change some of your settings; fields left out keep their value"""
        return service.update_settings(current_user_id(), changes)
