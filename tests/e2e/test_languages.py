"""Issue 25: a Russian-speaking person gets the bot, the alerts and the chart in Russian, an
English-speaking one in English, through the real workers and the Telegram stand-in."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from babel.dates import format_date
from PIL import Image
from werkzeug.test import Client

from tests.e2e.conftest import Rows
from tests.e2e.test_bot import (
    bot_pipeline,  # noqa: F401 - the fixture, used by name
    next_update_id,
    post_update,
    today,
    wait_for_replies,
)
from tests.eventually import eventually
from tests.processes import LaunchedProcess
from tests.telegram_standin import TelegramStandIn
from tests.users import PASSWORD, SignedInUser, unique_email


def said(chat_id: int, text: str, language_code: str | None) -> dict[str, Any]:
    """A private message as Telegram posts it, with the sender's app language if given."""
    sender: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Olga"}
    if language_code is not None:
        sender["language_code"] = language_code
    return {
        "update_id": next_update_id(),
        "message": {
            "message_id": 1,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": chat_id, "type": "private"},
            "from": sender,
            "text": text,
        },
    }


def sign_up(gateway: Client, **extra: Any) -> SignedInUser:
    body = {"email": unique_email(), "password": PASSWORD, **extra.pop("json", {})}
    response = gateway.post("/api/auth/register", json=body, **extra)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    user = created["user"]
    return SignedInUser(gateway, uuid.UUID(user["id"]), user["email"], created["access_token"])


def link(gateway: Client, person: SignedInUser, chat_id: int, language_code: str | None) -> str:
    offer = person.expect(201, "POST", "/api/notifications/telegram/link")
    code = parse_qs(urlsplit(offer["url"]).query)["start"][0]
    answer = post_update(gateway, said(chat_id, f"/start {code}", language_code))
    text: str = answer.get_json()["text"]
    return text


def test_sign_up_names_the_default_categories_in_the_chosen_or_the_browsers_language(
    gateway: Client,
) -> None:
    def names(person: SignedInUser) -> set[str]:
        return {c["name"] for c in person.expect(200, "GET", "/api/categories?page_size=100")}

    chosen = sign_up(gateway, json={"language": "ru"})
    assert {"Продукты", "Транспорт", "Жильё", "Зарплата"} <= names(chosen)
    assert chosen.expect(200, "GET", "/api/users/me")["language"] == "ru"
    browser = sign_up(gateway, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    assert "Продукты" in names(browser)
    # The browser's language names the categories; it is not taken for a choice.
    assert browser.expect(200, "GET", "/api/users/me")["language"] is None
    assert "Food" in names(sign_up(gateway))
    refused = gateway.post(
        "/api/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "language": "xx"},
    )
    assert refused.status_code == 422


def test_a_russian_speaker_gets_everything_in_russian_and_an_english_one_in_english(
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,  # noqa: F811
) -> None:
    olga = sign_up(gateway, json={"language": "ru"})
    assert link(gateway, olga, 7601, "ru").startswith("Готово! Уведомления")
    food = olga.category_id("Продукты")
    now = datetime.now(UTC)
    olga.budget(now.year, now.month, {food: "300.00"})
    olga.transaction(food, "200.00", today())

    post_update(gateway, said(7601, "/spent 150,5 прод хлеб", "ru"))
    replies = wait_for_replies(telegram, 7601, 2)
    day = format_date(now.date(), "d MMM", locale="ru")
    month = format_date(now.date(), "LLLL y", locale="ru")
    texts = sorted(reply["text"] for reply in replies)
    assert texts[0] == (
        f"Бюджет превышен: Продукты за {month} — потрачено 350,50\xa0₽ из 300,00\xa0₽ (116%)."
    )
    assert texts[1].startswith("Потрачено: 150,50\xa0₽ (хлеб), " + day)
    assert texts[1].endswith("Продукты: 350,50\xa0₽ из 300,00\xa0₽, 117 %")

    post_update(gateway, said(7601, "/summary", "ru"))
    wait_until_photo = wait_for_replies(telegram, 7601, 3)
    [photo] = [p for p in wait_until_photo if "photo" in p]
    assert photo["caption"].startswith(f"{month[0].upper()}{month[1:]} на сегодня\n")
    assert "Продукты: 350,50\xa0₽ из 300,00\xa0₽, 117 % - сверх лимита" in photo["caption"]
    chart = Image.open(io.BytesIO(base64.b64decode(photo["photo"]["base64"])))
    assert chart.format == "PNG"

    # Unknown commands get the help, in Russian too.
    help_answer = post_update(gateway, said(7601, "/потратил 5 прод", "ru")).get_json()
    assert help_answer["text"].startswith("Что я понимаю:")

    # An English-speaking person's alert stays English.
    ann = sign_up(gateway)
    assert link(gateway, ann, 7602, "en").startswith("Linked!")
    ann_food = ann.category_id("Food")
    ann.budget(now.year, now.month, {ann_food: "10.00"})
    ann.transaction(ann_food, "12.00", today())
    [alert] = wait_for_replies(telegram, 7602, 1)
    assert alert["text"].startswith("Budget alert: Food for ")


def test_without_a_choice_telegram_decides_and_a_choice_overrules_it(
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,  # noqa: F811
) -> None:
    bob = sign_up(gateway)
    assert link(gateway, bob, 7701, "ru-RU").startswith("Готово!")
    food, transport = bob.category_id("Food"), bob.category_id("Transport")
    now = datetime.now(UTC)
    bob.budget(now.year, now.month, {food: "10.00", transport: "10.00"})
    bob.transaction(food, "11.00", today())
    [alert] = wait_for_replies(telegram, 7701, 1)
    assert alert["text"].startswith("Бюджет превышен: Food за ")

    post_update(gateway, said(7701, "/language en", "ru"))
    replies = wait_for_replies(telegram, 7701, 2)
    assert replies[1]["text"] == "From now on I write in English."
    assert bob.expect(200, "GET", "/api/users/me")["language"] == "en"

    def help_starts(language_code: str, start: str) -> bool | None:
        answer = post_update(gateway, said(7701, "/help", language_code)).get_json()
        return answer["text"].startswith(start) or None

    # notify_app learns the choice through user.locale_changed: its help shows when.
    eventually(lambda: help_starts("ru", "What I understand:"), "notify to learn English")
    bob.transaction(transport, "11.00", today())
    replies = wait_for_replies(telegram, 7701, 3)
    assert replies[2]["text"].startswith("Budget alert: Transport for ")

    bob.expect(200, "PATCH", "/api/users/me", json={"language": "ru"})
    eventually(lambda: help_starts("en", "Что я понимаю:"), "notify to learn Russian")


def test_a_chosen_currency_shows_in_the_bot_and_in_the_alerts(
    gateway: Client,
    telegram: TelegramStandIn,
    bot_pipeline: LaunchedProcess,  # noqa: F811
    rows: Rows,
) -> None:
    eva = sign_up(gateway, json={"language": "ru"})
    eva.expect(200, "PATCH", "/api/users/me", json={"currency": "EUR"})
    link(gateway, eva, 7801, "ru")
    # notify_app learns the currency through user.locale_changed.
    eventually(
        lambda: rows.notify(
            "SELECT 1 FROM notification_settings WHERE user_id = %s AND currency = 'EUR'",
            str(eva.id),
        ),
        "notify to learn the currency",
    )
    food = eva.category_id("Продукты")
    now = datetime.now(UTC)
    eva.budget(now.year, now.month, {food: "10.00"})
    post_update(gateway, said(7801, "/spent 12 прод", "ru"))
    texts = sorted(reply["text"] for reply in wait_for_replies(telegram, 7801, 2))
    assert texts[0].endswith("потрачено 12,00\xa0€ из 10,00\xa0€ (120%).")
    assert texts[1].startswith("Потрачено: 12,00\xa0€, ")


def test_the_language_and_the_currency_are_validated(gateway: Client) -> None:
    person = sign_up(gateway)
    person.expect(422, "PATCH", "/api/users/me", json={"language": "de"})
    for code in ("eur", "XYZ", "EURO", "", 978):
        person.expect(422, "PATCH", "/api/users/me", json={"currency": code})
    person.expect(422, "PATCH", "/api/users/me", json={})
    assert person.expect(200, "PATCH", "/api/users/me", json={"language": None})["language"] is None
    changed = person.expect(200, "PATCH", "/api/users/me", json={"language": "ru"})
    assert (changed["language"], changed["timezone"], changed["currency"]) == ("ru", "UTC", None)
    changed = person.expect(200, "PATCH", "/api/users/me", json={"currency": "EUR"})
    assert (changed["language"], changed["currency"]) == ("ru", "EUR")
