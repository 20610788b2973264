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
DESK_CHAT = -1005550001111
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
    advocates = register_advocates()  # before the gateway first reads the registry (it keeps it 30 s)
    try:
        with running_stack(settings, model, tmp_path_factory.mktemp("scaled"), redis_url=REDIS_DB_URL,
                           database_url=POSTGRES_URL, simulator=False, telegram_desk_chat=DESK_CHAT) as stack:
            yield stack, raw
    finally:
        raw.flushdb()
        remove_advocates(advocates)


#: two Telegram advocates, with fresh ids each run (the test database outlives runs): Ana and Bea
ADVOCATE_IDS = {}


def register_advocates() -> list:
    import sqlalchemy

    from bot.handoff.advocates import Advocates
    from bot.handoff.model import DeskKind
    from bot.storage.schema import migrate

    engine = sqlalchemy.create_engine(POSTGRES_URL, future=True)
    migrate(engine)
    registry = Advocates(engine, ("en",))
    ADVOCATE_IDS.update(ana=7 * 10**8 + secrets.randbelow(10**8), bea=8 * 10**8 + secrets.randbelow(10**8))
    added = [registry.add(DeskKind.TELEGRAM, str(ADVOCATE_IDS[n]), n.title(), ["en"]) for n in ("ana", "bea")]
    engine.dispose()
    return added


def remove_advocates(added: list) -> None:
    import sqlalchemy

    from bot.handoff.advocates import Advocates

    engine = sqlalchemy.create_engine(POSTGRES_URL, future=True)
    for advocate in added:
        Advocates(engine, ("en",)).remove(advocate.id)
    engine.dispose()


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


def test_two_gateway_processes_share_one_handoff_and_one_take_wins(scaled):
    """The scaled profile with two gateway processes on one Redis and one PostgreSQL: her case opened through one,
    two advocates pressing Take at the same moment, one press through each: exactly one owns the case, she is told
    once, and the owner's answer through the other process reaches her."""
    import json
    import subprocess
    import sys
    import threading
    import time
    import urllib.request

    from bot.services import free_port
    from bot.settings import ROOT
    from tests.fakes import desk_update, take_press

    stack, raw = scaled
    ana, bea = ADVOCATE_IDS["ana"], ADVOCATE_IDS["bea"]
    port = free_port()
    env = {**stack.services._env(), "ASSISTANT_GATEWAY_PORT": str(port)}
    log = open(stack.logs / "gateway-2.log", "ab")
    second = subprocess.Popen([sys.executable, "-m", "bot", "gateway"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and second.poll() is None, "the second gateway did not start"
                time.sleep(0.3)

        def deliver(gateway: str, update: dict) -> None:
            request = urllib.request.Request(f"{gateway}/telegram/webhook", data=json.dumps(update).encode(),
                                             headers={"Content-Type": "application/json",
                                                      "X-Telegram-Bot-Api-Secret-Token":
                                                          stack.settings.telegram_webhook_secret})
            assert urllib.request.urlopen(request, timeout=30).status == 200

        her = TelegramUser(stack)
        assert her.say("i want to talk to a real person")
        before = len(stack.telegram.named("/createForumTopic"))
        assert her.say("1")
        [created] = stack.telegram.named("/createForumTopic")[before:]
        code = created.params["name"].split(" · ")[0]
        topic = max(stack.telegram.topics)
        gateways = (stack.gateway_url, f"http://127.0.0.1:{port}")
        start = threading.Barrier(2)

        def press(gateway: str, advocate: int) -> None:
            start.wait()
            deliver(gateway, take_press(DESK_CHAT, advocate, topic, f"take:{code}"))

        threads = [threading.Thread(target=press, args=(g, a)) for g, a in zip(gateways, (ana, bea))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        notices = [c.get("text", "") for c in stack.telegram.in_topic(topic)]
        assert sum("is yours" in t for t in notices) == 1 and sum("taken by another" in t for t in notices) == 1
        joined = [c["text"] for c in stack.telegram.sent(her.chat_id) if "has joined" in c["text"]]
        assert len(joined) == 1, joined
        owner = ana if "(Ana)" in next(t for t in notices if "is yours" in t) else bea
        deliver(gateways[1], desk_update(DESK_CHAT, owner, "Hello from the second process.", topic))
        assert stack.telegram.sent(her.chat_id)[-1]["text"] == "Hello from the second process."
    finally:
        second.terminate()
        second.wait(30)
        log.close()
