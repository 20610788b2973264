"""The channels end to end with the real clients: Twilio webhooks signed with twilio's own RequestValidator, replies
through twilio's Client to a recording server, Telegram updates through the webhook (secret token) and replies through
python-telegram-bot's Bot to a recording fake Bot API. Rasa, the action server and the gateway are the real ones."""
from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, Optional, Tuple

import pytest
from twilio.request_validator import RequestValidator

from bot.content.sms import cost
from tests.fakes import SENDER, TWILIO_SID
from tests.fakes import FakeTelegram, telegram_update

NEUTRAL = "Hello, here is the information you asked for."


def post(url: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def new_number() -> str:
    return f"+4477009{secrets.randbelow(10**5):05d}"


class Sms:
    """Her phone, as Twilio delivers its messages to the gateway."""

    def __init__(self, stack, number: Optional[str] = None) -> None:
        self.stack = stack
        self.number = number or new_number()
        self.validator = RequestValidator(stack.settings.twilio_auth_token)

    def params(self, text: str, sid: Optional[str] = None) -> Dict[str, str]:
        return {"MessageSid": sid or "SM" + secrets.token_hex(16), "AccountSid": TWILIO_SID, "From": self.number,
                "To": SENDER, "Body": text, "NumMedia": "0"}

    def deliver(self, params: Dict[str, str], signature: Optional[str] = "sign",
                url: Optional[str] = None) -> int:
        webhook = self.stack.settings.twilio_webhook_url
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            signature = self.validator.compute_signature(url or webhook, params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        status, _ = post(webhook, urllib.parse.urlencode(params).encode(), headers)
        return status

    def say(self, text: str) -> list:
        """Send, and return the bodies of the SMS sent back to her (the gateway answers before the webhook returns)."""
        before = len(self.replies())
        assert self.deliver(self.params(text)) == 200
        return self.replies()[before:]

    def replies(self) -> list:
        return [p["Body"] for p in self.stack.twilio.sent() if p.get("To") == self.number]


class TelegramUser:
    def __init__(self, stack, language_code: Optional[str] = "en") -> None:
        self.stack = stack
        self.chat_id = 10**9 + secrets.randbelow(10**9)
        self.language_code = language_code

    def deliver(self, update: dict, secret: Optional[str] = "right") -> int:
        headers = {"Content-Type": "application/json"}
        if secret == "right":
            secret = self.stack.settings.telegram_webhook_secret
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        status, _ = post(f"{self.stack.gateway_url}/telegram/webhook", json.dumps(update).encode(), headers)
        return status

    def say(self, text: str) -> list:
        before = len(self.replies())
        update = telegram_update(self.chat_id, text, self.language_code)
        assert self.deliver(update) == 200
        return self.replies()[before:]

    def replies(self) -> list:
        return self.stack.telegram.sent(self.chat_id)


# ---- Twilio: signatures ---------------------------------------------------------------------------------------------
def test_a_signed_sms_is_answered_through_twilios_rest_api(gateway):
    phone = Sms(gateway)
    replies = phone.say("will the police tell the home office about me")
    assert replies and any("Home Office" in body for body in replies)
    call = gateway.twilio.named("/Messages.json")[-1]
    assert call.params["To"] == phone.number and call.params["From"] == SENDER
    login, _, password = base64.b64decode(call.headers["Authorization"].split()[1]).decode().partition(":")
    assert (login, password) == (TWILIO_SID, gateway.settings.twilio_auth_token)


@pytest.mark.parametrize("case", ["forged", "missing", "wrong_url", "tampered_body"])
def test_an_unsigned_or_forged_sms_is_refused_and_not_processed(gateway, case):
    phone = Sms(gateway)
    params = phone.params("hello")
    if case == "forged":
        status = phone.deliver(params, signature=base64.b64encode(secrets.token_bytes(20)).decode())
    elif case == "missing":
        status = phone.deliver(params, signature=None)
    elif case == "wrong_url":
        status = phone.deliver(params, url="https://attacker.example.org/twilio/sms")
    else:
        signature = phone.validator.compute_signature(gateway.settings.twilio_webhook_url, params)
        status = phone.deliver({**params, "Body": "something else"}, signature=signature)
    assert status == 403
    time.sleep(0.5)
    assert phone.replies() == []


def test_a_replayed_delivery_is_answered_once(gateway):
    phone = Sms(gateway)
    params = phone.params("hello")
    assert phone.deliver(params) == 200
    first = len(phone.replies())
    assert first >= 1
    assert phone.deliver(params) == 200  # Twilio's retry, or a replay of a captured request: same MessageSid
    time.sleep(0.5)
    assert len(phone.replies()) == first


@pytest.mark.parametrize("keyword", ["STOP", "stop", "Unsubscribe", "START", "yes"])
def test_twilios_reserved_keywords_are_left_to_twilio(gateway, keyword):
    phone = Sms(gateway)
    assert phone.deliver(phone.params(keyword)) == 200
    time.sleep(0.3)
    assert phone.replies() == []


@pytest.mark.parametrize("text", ["HELP", "help!!", "Help"])
def test_help_is_answered_as_a_woman_asking_for_help(gateway, text):
    # not left to Twilio: its help reply (where it sends one) does not give 999
    bodies = Sms(gateway).say(text)
    assert bodies and "999" in bodies[0]


# ---- SMS: form of the replies ---------------------------------------------------------------------------------------
def test_sms_replies_open_with_the_neutral_line_except_before_999(gateway, store):
    neutral_lines = {code: store.ui[code].get("neutral_line") for code in store.languages.codes}
    phone = Sms(gateway)
    greeting = phone.say("hi")  # the greeting, then the menu: two messages, each opening with the line
    assert len(greeting) == 2
    assert all(body.startswith(neutral_lines["en"] + "\n") for body in greeting)
    emergency = phone.say("he is hitting me now")
    assert "999" in emergency[0][:40], "nothing goes before 999: " + emergency[0][:40]
    urdu = phone.say("urdu") + phone.say("police se dar hai")
    assert urdu[0].startswith(neutral_lines["ur"] + "\n"), "after choosing Urdu, the neutral line is in Urdu"
    for body in greeting + urdu:
        first_40 = body[:40].lower()
        assert "police" not in first_40 and "abuse" not in first_40
    for body in greeting + emergency + urdu:
        assert cost(body).segments <= 3


def test_twilio_errors_are_retried_then_given_up_without_content_in_the_log(gateway):
    phone = Sms(gateway)
    gateway.twilio.fail_next = [503]
    bodies = phone.say("thank you")
    assert bodies, "a 503 is retried"
    gateway.twilio.fail_next = [400]
    assert phone.say("thank you") == []
    log = (gateway.logs / "gateway.log").read_text()
    assert "event=send_failed" in log and "HTTP 400" in log
    assert phone.number not in log
    gateway.twilio.fail_next = []


# ---- Telegram --------------------------------------------------------------------------------------------------------
def test_a_telegram_update_with_the_secret_token_is_answered_in_html(gateway):
    user = TelegramUser(gateway)
    replies = user.say("will the police tell immigration")
    assert replies and all(r["parse_mode"] == "HTML" for r in replies)
    assert any("Home Office" in r["text"] for r in replies)
    assert all(int(r["chat_id"]) == user.chat_id for r in replies)


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
def test_a_telegram_update_without_the_right_secret_is_refused(gateway, secret):
    user = TelegramUser(gateway)
    assert user.deliver(telegram_update(user.chat_id, "hello"), secret=secret) == 403
    time.sleep(0.3)
    assert user.replies() == []


def test_start_greets_in_the_clients_language_then_offers_the_languages(gateway, store):
    user = TelegramUser(gateway, language_code="pt-br")
    replies = user.say("/start")
    assert len(replies) == 2
    assert "Olá" in replies[0]["text"] or "Ola" in replies[0]["text"], "a /start from a Portuguese client"
    assert "999" in replies[0]["text"], "the greeting gives 999"
    assert "1 English" in replies[1]["text"] and "9 বাংলা" in replies[1]["text"], "then the languages"
    assert "Hola" in user.say("2")[0]["text"], "2 in the language list is Spanish"
    assert "1 English" in TelegramUser(gateway, language_code=None).say("/start")[1]["text"]


def test_a_repeated_telegram_update_is_processed_once(gateway):
    user = TelegramUser(gateway)
    update = telegram_update(user.chat_id, "hello")
    assert user.deliver(update) == 200
    count = len(user.replies())
    assert count >= 1
    assert user.deliver(update) == 200
    time.sleep(0.3)
    assert len(user.replies()) == count


def test_group_chats_and_edits_are_ignored(gateway):
    user = TelegramUser(gateway)
    assert user.deliver(telegram_update(user.chat_id, "hello", chat_type="group")) == 200
    edited = telegram_update(user.chat_id, "hello")
    edited["edited_message"] = edited.pop("message")
    assert user.deliver(edited) == 200
    time.sleep(0.3)
    assert user.replies() == []


def test_forget_on_telegram_deletes_her_messages_and_the_bots_then_confirms(gateway):
    user = TelegramUser(gateway)
    hers = []
    for text in ("hi", "can i get an abortion without papers"):
        update = telegram_update(user.chat_id, text)
        hers.append(update["message"]["message_id"])
        assert user.deliver(update) == 200
    bots = [r["_message_id"] for r in user.replies()]
    assert bots
    forget = telegram_update(user.chat_id, "/forget")
    assert user.deliver(forget) == 200
    deletions = [c.params for c in gateway.telegram.named("/deleteMessages")
                 if int(c.params["chat_id"]) == user.chat_id]
    assert len(deletions) == 1
    deleted = set(deletions[0]["message_ids"])
    assert set(hers) | set(bots) | {forget["message"]["message_id"]} <= deleted
    confirmation = user.replies()[-1]
    assert confirmation["text"].replace("<b>", "").startswith("Done.")
    assert confirmation["_message_id"] not in deleted
    # the confirmation itself goes a little later: a chat left saying "deleted" tells whoever holds her phone
    deadline = time.monotonic() + gateway.settings.forget_confirmation_seconds + 10
    while time.monotonic() < deadline:
        later = [c.params for c in gateway.telegram.named("/deleteMessages")
                 if int(c.params["chat_id"]) == user.chat_id][1:]
        if later:
            break
        time.sleep(0.1)
    assert later and later[0]["message_ids"] == [confirmation["_message_id"]]
    # the conversation starts again from nothing: no language, no topic
    assert user.say("2")[0]["text"] != ""


def test_long_polling_hands_updates_to_the_pipeline(tmp_path):
    """Local runs with only a bot token: the adapter long-polls getUpdates (python-telegram-bot's Bot, fake API)."""
    from bot.channels.telegram import TelegramChannel

    async def scenario(fake: FakeTelegram) -> list:
        channel = TelegramChannel("7000001:polling-token", f"{fake.url}/bot")
        await channel.start()
        received = []

        async def handle(message):
            received.append(message)

        task = asyncio.create_task(channel.poll(handle, timeout=1))
        fake.queue_update(telegram_update(42, "hello", "fr"))
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await channel.close()
        return received

    with FakeTelegram() as fake:
        received = asyncio.run(scenario(fake))
        assert fake.named("/deleteWebhook"), "polling removes any webhook first"
    assert len(received) == 1
    assert received[0].address == "42" and received[0].text == "hello" and received[0].language_hint == "fr"
    assert "42" not in repr(received[0]) and "hello" not in repr(received[0])


# ---- health ------------------------------------------------------------------------------------------------------------
def test_health_and_readiness(gateway):
    assert get(f"{gateway.gateway_url}/healthz") == (200, {"status": "ok"})
    status, body = get(f"{gateway.gateway_url}/readyz")
    assert status == 200 and body == {"status": "ready"}, "anyone: the status alone"
    request = urllib.request.Request(f"{gateway.gateway_url}/readyz",
                                     headers={"Authorization": f"Bearer {gateway.settings.status_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ready", "rasa": True, "store": True, "database": True}
        assert response.headers["Server"] == "gateway", "no Python or aiohttp version announced"


def test_the_webhook_set_at_start_carries_the_secret(gateway):
    calls = gateway.telegram.named("/setWebhook")
    assert calls and calls[0].params["secret_token"] == gateway.settings.telegram_webhook_secret
    assert calls[0].params["url"] == gateway.settings.telegram_webhook_url


# ---- safety features ---------------------------------------------------------------------------------------------------
def simulate(stack, phone: str, user: str, text: str = "", command: Optional[str] = None) -> dict:
    body = json.dumps({"phone": phone, "user": user, "text": text, "command": command}).encode()
    status, raw = post(f"{stack.gateway_url}/simulator/api/message", body, {"Content-Type": "application/json"})
    assert status == 200, raw
    return json.loads(raw)


def forget_phrases():
    import yaml

    from tests.conftest import ROOT

    phrases = []
    for code in ("en", "es", "pt", "fr", "ar", "pl", "ro", "ur", "bn"):
        data = yaml.safe_load((ROOT / "data" / "nlu" / f"{code}.yml").read_text(encoding="utf-8"))
        block = next(b for b in data["nlu"] if b.get("intent") == "forget_me")
        examples = [line.strip()[2:] for line in block["examples"].splitlines() if line.strip()]
        phrases += [(code, examples[0]), (code, examples[-1])]
    return phrases


@pytest.mark.parametrize("language, phrase", forget_phrases())
def test_forget_me_in_every_language(gateway, language, phrase):
    user = f"forget-{language}-{secrets.token_hex(4)}"
    assert simulate(gateway, "sms", user, "hello")["event"] == "answered"
    assert simulate(gateway, "sms", user, phrase)["event"] == "forgotten"


def test_the_rate_limit_slows_her_down_but_never_silences_danger(gateway):
    user = f"rate-{secrets.token_hex(4)}"
    limit = gateway.settings.rate_limit
    events = [simulate(gateway, "sms", user, "thanks")["event"] for _ in range(limit)]
    assert events == ["answered"] * limit
    notice = simulate(gateway, "sms", user, "thanks")
    assert notice["event"] == "rate_limited" and "999" in notice["replies"][0]["text"]
    assert simulate(gateway, "sms", user, "thanks") == {"event": "rate_dropped", "message_id": ANY_ID,
                                                        "replies": [], "deleted": []}
    danger = simulate(gateway, "sms", user, "he is hitting me now")
    assert danger["event"] == "answered" and "999" in danger["replies"][0]["text"][:40]
    # no listed danger phrase: the emergency detector the assistant ORs with DIET flags it
    coming = simulate(gateway, "sms", user, "he is coming back")
    assert coming["event"] == "answered" and "999" in coming["replies"][0]["text"][:40]


class _AnyId:
    def __eq__(self, other) -> bool:
        return isinstance(other, str) and other.isdigit()


ANY_ID = _AnyId()


def test_the_simulator_refuses_bad_input_with_a_clear_answer(gateway):
    url = f"{gateway.gateway_url}/simulator/api/message"
    cases = [(b"not json", "not JSON"), (json.dumps({"phone": "fax", "user": "u", "text": "x"}).encode(), "phone"),
             (json.dumps({"phone": "sms", "user": "u u", "text": "x"}).encode(), "user"),
             (json.dumps({"phone": "sms", "user": "u", "text": "x" * 5000}).encode(), "at most"),
             (json.dumps({"phone": "sms", "user": "u", "text": "  "}).encode(), "write a message")]
    for body, expected in cases:
        status, raw = post(url, body, {"Content-Type": "application/json"})
        assert status == 400 and expected in json.loads(raw)["error"]
    status, _ = post(url, b"x" * 100_000, {"Content-Type": "application/json"})
    assert status == 413


def test_forget_on_sms_confirms_and_deletes_the_records_at_twilio(gateway, store):
    phone = Sms(gateway)
    inbound = [phone.params("hello"), phone.params("can the police tell the home office")]
    for params in inbound:
        assert phone.deliver(params) == 200
    outbound = [c for c in gateway.twilio.named("/Messages.json") if c.params.get("To") == phone.number]
    confirmation = phone.say("forget me")
    assert " ".join(confirmation[-1].split("\n", 1)[1].split()) == \
        " ".join(store.render("forget_me", "en", "sms", True)[0].text.split())
    assert "delete this thread" in confirmation[-1]
    deleted = {c.path.rsplit("/", 1)[-1][:-len(".json")] for c in gateway.twilio.named(".json")
               if c.method == "DELETE"}
    assert {p["MessageSid"] for p in inbound} <= deleted, "her messages' records are deleted"
    assert len(outbound) >= 2 and {c.params["_sid"] for c in outbound} <= deleted, "and the replies' records"


def test_a_local_run_with_only_a_bot_token_long_polls_through_the_gateway(services, tmp_path):
    """The app wired for long polling (no webhook URL, no pseudonym key) answers an update through the real Rasa."""
    from dataclasses import replace

    from aiohttp.test_utils import TestServer

    from bot.app import create_app

    settings = replace(services.settings, telegram_bot_token="7000001:local-token", simulator=False,
                       database_url=f"sqlite:///{tmp_path / 'assistant.db'}")
    settings.validate()

    async def scenario(fake: FakeTelegram) -> list:
        app = create_app(replace(settings, telegram_api_url=f"{fake.url}/bot"))
        async with TestServer(app):
            fake.queue_update(telegram_update(4242, "si voy a la policia me deportan?", "es"))
            for _ in range(200):
                if fake.sent(4242):
                    break
                await asyncio.sleep(0.05)
        return fake.sent(4242)

    with FakeTelegram() as fake:
        sent = asyncio.run(scenario(fake))
        assert fake.named("/deleteWebhook") and fake.named("/getUpdates")
    assert sent and sent[0]["parse_mode"] == "HTML" and "Home Office" in sent[0]["text"]
