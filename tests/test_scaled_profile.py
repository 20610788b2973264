"""The scaled profile, for real: routes, duplicate markers, rate counters and Rasa's trackers in Redis (every key
expiring), counts in PostgreSQL. Same code as the local profile; configuration only."""
from __future__ import annotations

import os
import secrets

import pytest

from bot.storage.deliveries import TTL_SECONDS as DEDUPE_TTL
from tests.fakes import running_stack
from tests.test_channels import Sms, TelegramUser

REDIS_DB_URL = "redis://127.0.0.1:6379/14"
POSTGRES_URL = os.environ.get("ASSISTANT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def scaled(settings, model, tmp_path_factory):
    import redis

    raw = redis.Redis.from_url(REDIS_DB_URL)
    try:
        raw.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    raw.flushdb()
    with running_stack(settings, model, tmp_path_factory.mktemp("scaled"), redis_url=REDIS_DB_URL,
                       database_url=POSTGRES_URL, simulator=False) as stack:
        yield stack, raw
    raw.flushdb()


def tracker_keys(raw) -> list:
    return [k.decode() for k in raw.keys("assistant:tracker:*")]


def test_trackers_and_routes_live_in_redis_with_an_expiry(scaled):
    stack, raw = scaled
    phone = Sms(stack, f"+4477009{secrets.randbelow(10**5):05d}")
    assert phone.say("hello")
    assert phone.say("can the police tell the home office")
    keys = [k.decode() for k in raw.keys("*")]
    trackers = tracker_keys(raw)
    assert len(trackers) == 1 and trackers[0].startswith("assistant:tracker:sms-")
    assert any(k.startswith("assistant:route:sms-") for k in keys)
    longest = max(stack.settings.route_ttl, DEDUPE_TTL)
    for key in keys:
        assert 0 < raw.ttl(key) <= longest, f"{key} must expire"
        if key.startswith(("assistant:route:", "assistant:tracker:")):
            assert raw.ttl(key) <= stack.settings.route_ttl, "what can lead back to her expires with the route"
        assert phone.number[1:] not in key and phone.number[4:] not in key


def test_forget_me_deletes_the_rasa_tracker_and_the_route(scaled):
    stack, raw = scaled
    user = TelegramUser(stack)
    assert user.say("hi")
    pseudonym_keys = [k for k in tracker_keys(raw) if k.startswith("assistant:tracker:telegram-")]
    assert len(pseudonym_keys) == 1
    pseudonym = pseudonym_keys[0].split(":")[-1]
    assert raw.exists(f"assistant:route:{pseudonym}")
    assert user.say("/forget")
    assert not raw.exists(pseudonym_keys[0]), "Rasa's tracker for her pseudonym is gone"
    assert not raw.exists(f"assistant:route:{pseudonym}"), "the route (her chat id) is gone"
    assert str(user.chat_id) not in " ".join(v.decode(errors="ignore") for k in raw.keys("*") for v in [raw.dump(k)])


def test_rasas_tracker_holds_only_redacted_text(scaled):
    """What Rasa keeps of her conversation (its tracker, in Redis here) has no identifying detail: redaction ran
    before Rasa. Only the route holds her number, as it must to reply, and it expires."""
    stack, raw = scaled
    phone = Sms(stack, f"+4477009{secrets.randbelow(10**5):05d}")
    secrets_in_text = ["Oyelaran", "07700 900 982", "zuleikha.oyelaran@example.org", "SE15 3XQ", "QQ 12 34 56 C"]
    assert phone.say("my name is Zuleikha Oyelaran, my number is 07700 900 982")
    assert phone.say("email zuleikha.oyelaran@example.org, I live in SE15 3XQ, NI QQ 12 34 56 C")
    trackers = b" ".join(raw.get(k) or b"" for k in raw.keys("assistant:tracker:*")).decode()
    assert "[name]" in trackers and "[phone]" in trackers and "[email]" in trackers, "the redacted turns are there"
    for value in secrets_in_text + [phone.number, phone.number[3:]]:
        assert value.lower() not in trackers.lower()
    routes = [raw.get(k).decode() for k in raw.keys("assistant:route:sms-*")]
    assert any(phone.number in r for r in routes)
