"""What stands between the bot and its users, in an operator's words (`telegram doctor`).

Each check asks Telegram what it knows (getMe, getWebhookInfo) and compares it with this
service's configuration: the token, the bot's username, the webhook's URL, secret and update
types, and the last error Telegram met delivering to the webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notify_app.telegram import ALLOWED_UPDATES, TelegramClient

WEBHOOK_PATH = "/api/notifications/telegram/webhook"


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str


def diagnose(config: Mapping[str, Any], expected_url: str | None) -> list[Finding]:
    """Every check's finding, problems first worded as what to do about them."""
    findings: list[Finding] = []
    if config["TELEGRAM_WEBHOOK_SECRET"] is None:
        findings.append(Finding(False, (
            "TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses every update (401). Set it"
            " (1-256 of A-Z a-z 0-9 _ -) and run `telegram set-webhook` again"
        )))  # fmt: skip
    else:
        findings.append(Finding(True, "TELEGRAM_WEBHOOK_SECRET is set"))
    if config["TELEGRAM_BOT_TOKEN"] is None:
        findings.append(Finding(False, "TELEGRAM_BOT_TOKEN is not set: no alert can be sent"))
        return findings
    with TelegramClient(config["TELEGRAM_API_URL"], config["TELEGRAM_BOT_TOKEN"]) as client:
        me = client.call("getMe")
        if not me.ok:
            if me.http_status in (401, 404):
                findings.append(Finding(False, (
                    f"TELEGRAM_BOT_TOKEN is invalid: Telegram answered getMe with {me.error}."
                    " Copy the token from @BotFather again"
                )))  # fmt: skip
            else:
                findings.append(Finding(False, (
                    f"Telegram cannot be asked (getMe at {config['TELEGRAM_API_URL']}): {me.error}"
                )))  # fmt: skip
            return findings
        findings.append(_username(config["TELEGRAM_BOT_USERNAME"], me.result))
        findings.append(_groups(me.result))
        info = client.call("getWebhookInfo")
    if not info.ok or not isinstance(info.result, dict):
        findings.append(Finding(False, f"getWebhookInfo failed: {info.error}"))
        return findings
    findings.extend(_webhook(info.result, expected_url))
    return findings


def _username(configured: str, bot: Any) -> Finding:
    actual = bot.get("username") if isinstance(bot, dict) else None
    if actual is not None and actual.lower() != configured.lower():
        return Finding(False, (
            f"TELEGRAM_BOT_USERNAME is {configured!r}, but the token belongs to @{actual}: the"
            f" links users open lead to another bot. Set TELEGRAM_BOT_USERNAME={actual}"
        ))  # fmt: skip
    return Finding(True, f"the token belongs to @{actual}, as TELEGRAM_BOT_USERNAME says")


def _groups(bot: Any) -> Finding:
    """Households link a group through a ?startgroup= link: Telegram must let the bot join."""
    if isinstance(bot, dict) and bot.get("can_join_groups") is False:
        return Finding(False, (
            "the bot may not be added to groups, so households cannot link their group chat."
            " In @BotFather: /setjoingroups, Enable"
        ))  # fmt: skip
    return Finding(True, "the bot may be added to groups")


def _webhook(info: Mapping[str, Any], expected_url: str | None) -> list[Finding]:
    url = info.get("url") or ""
    set_again = "run `flask --app notify_app telegram set-webhook URL`"
    if not url:
        return [Finding(False, f"no webhook is set: Telegram keeps the updates; {set_again}")]
    findings = []
    if (expected_url is not None and url != expected_url) or not url.endswith(WEBHOOK_PATH):
        wanted = expected_url or f"https://<your host>{WEBHOOK_PATH}"
        findings.append(Finding(False, (
            f"the webhook is set to {url}, not to {wanted}: this service gets no updates;"
            f" {set_again}"
        )))  # fmt: skip
    else:
        findings.append(Finding(True, f"the webhook is set to {url}"))
    allowed = info.get("allowed_updates")
    # None: Telegram's default, every type but chat_member (and reactions).
    missing = [kind for kind in ALLOWED_UPDATES if allowed is not None and kind not in allowed]
    if allowed is None:
        missing = ["chat_member"]
    if missing:
        findings.append(Finding(False, (
            f"the webhook does not receive {', '.join(missing)} updates; {set_again}"
        )))  # fmt: skip
    last_error = info.get("last_error_message")
    if last_error:
        when = info.get("last_error_date")
        at = f" at {datetime.fromtimestamp(when, UTC):%Y-%m-%d %H:%M} UTC" if when else ""
        findings.append(Finding(False, (
            f"Telegram's last delivery to the webhook failed{at}: {last_error}"
        )))  # fmt: skip
    return findings
