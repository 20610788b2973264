"""The gateway's parts on their own: pseudonyms, the ephemeral stores (memory and real Redis), anonymous counts (real
SQLite and PostgreSQL), the forgetting tracker stores (Rasa's own classes), settings, and the channel forms."""
from __future__ import annotations

import asyncio
import os
import secrets

import pytest

from bot.channels.base import InboundMessage
from bot.channels.sms_format import sms_bodies
from bot.channels.telegram import TelegramChannel, verify_secret
from bot.channels.base import VerificationFailed
from bot.channels.telegram_format import LIMIT, telegram_messages, to_html
from bot.channels.twilio_sms import TwilioSms, is_reserved
from bot.content.sms import cost
from bot.privacy.pseudonyms import Pseudonyms
from bot.privacy.routes import Route, Routes
from bot.settings import Settings, SettingsError
from bot.storage.ephemeral import MemoryEphemeral, RedisEphemeral
from bot.storage.metrics import Metrics

REDIS_URL = os.environ.get("ASSISTANT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# ---- pseudonyms ----------------------------------------------------------------------------------------------------
def test_pseudonyms_are_keyed_stable_and_unlinkable_across_keys():
    a, b = Pseudonyms("k" * 32), Pseudonyms("j" * 32)
    number = "+447700900123"
    assert a.of("sms", number) == a.of("sms", number)
    assert a.of("sms", number) != b.of("sms", number)
    assert a.of("sms", number) != a.of("telegram", number)
    assert a.of("sms", number).startswith("sms-") and "900123" not in a.of("sms", number)
    assert "k" * 8 not in repr(a)


def test_an_inbound_message_never_shows_address_or_text():
    message = InboundMessage("sms", "SM1", "+447700900123", "my name is Amina")
    assert "900123" not in repr(message) and "Amina" not in repr(message)


# ---- ephemeral stores ----------------------------------------------------------------------------------------------
def test_memory_store_expires_keys():
    now = [0.0]
    store = MemoryEphemeral(clock=lambda: now[0])

    async def scenario():
        await store.put("route:x", "v", ttl=10)
        assert await store.add("seen:1", ttl=5) and not await store.add("seen:1", ttl=5)
        assert [await store.incr("rate:x", 60) for _ in range(3)] == [1, 2, 3]
        now[0] = 11
        assert await store.get("route:x") is None and await store.add("seen:1", ttl=5)
        store.sweep()
        assert len(store) == 2  # the rate counter (60 s window) and the marker set again at t=11

    asyncio.run(scenario())


def redis_or_skip() -> RedisEphemeral:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return RedisEphemeral(REDIS_URL, prefix=f"test-{secrets.token_hex(4)}:")


def test_redis_store_sets_an_expiry_on_every_key():
    import redis

    store = redis_or_skip()
    raw = redis.Redis.from_url(REDIS_URL)

    async def scenario():
        routes = Routes(store, ttl=120)
        await routes.put("sms-abc", Route("sms", "+447700900123", "en", ["SM1"]))
        assert (await routes.get("sms-abc")).address == "+447700900123"
        assert await store.add("seen:1", 60) and not await store.add("seen:1", 60)
        assert [await store.incr("rate:p", 60) for _ in range(2)] == [1, 2]
        await store.close()

    asyncio.run(scenario())
    keys = [k for k in raw.keys("test-*")]
    assert len(keys) == 3
    assert all(0 < raw.ttl(k) <= 120 for k in keys), "every key expires"
    assert all(b"900123" not in k for k in keys), "keys are pseudonyms, never addresses"
    raw.delete(*keys)


# ---- anonymous counts ----------------------------------------------------------------------------------------------
def test_counts_add_up_across_flushes(database_url):
    metrics = Metrics(database_url)
    metrics.create_schema()
    channel = f"t{secrets.token_hex(3)}"
    metrics.count("answered", channel, "es", "police_immigration")
    metrics.count("answered", channel, "es", "police_immigration")
    asyncio.run(metrics.flush())
    metrics.count("answered", channel, "es", "police_immigration")
    metrics.count("degraded", channel)
    asyncio.run(metrics.flush())
    mine = {k[1:]: v for k, v in metrics.totals().items() if k[2] == channel}
    assert mine == {("answered", channel, "es", "police_immigration"): 3, ("degraded", channel, "-", "-"): 1}
    assert metrics.ping()
    metrics.close()


def test_delivery_keys_outlive_a_restart_and_old_ones_are_deleted(database_url):
    """Finding 9: the local profile kept its duplicate markers in memory, so a restart let a replay through."""
    import datetime as dt

    from sqlalchemy import insert, select

    from bot.storage.deliveries import KEEP_DAYS, DatabaseDeliveries, delivery_keys

    url = database_url
    key = secrets.token_hex(24)
    before = Metrics(url)
    before.create_schema()
    with before.engine.begin() as connection:
        connection.execute(insert(delivery_keys), {"key": "old" + key[3:], "day": dt.date.today()
                                                   - dt.timedelta(KEEP_DAYS + 1)})
    assert asyncio.run(DatabaseDeliveries(before.engine).first([key, key + "s"]))
    before.close()
    after = Metrics(url)  # a new process: the gateway restarted
    deliveries = DatabaseDeliveries(after.engine)
    assert not asyncio.run(deliveries.first([key + "x", key + "s"])), "one shared key makes a duplicate"
    assert not asyncio.run(deliveries.first([key]))
    with after.engine.connect() as connection:
        kept = {row[0] for row in connection.execute(select(delivery_keys.c.key))}
    assert "old" + key[3:] not in kept and key in kept
    after.close()


# ---- Rasa's tracker store forgets -----------------------------------------------------------------------------------
def test_the_tracker_store_deletes_a_conversation_that_restarted():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, Restarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.privacy.trackers import ForgettingInMemoryTrackerStore

    store = ForgettingInMemoryTrackerStore(Domain.empty())

    async def scenario():
        tracker = DialogueStateTracker.from_events("sms-abc", [UserUttered("[name] needs help"),
                                                               ActionExecuted("action_answer")])
        await store.save(tracker)
        assert "sms-abc" in store.store
        tracker.update(UserUttered("forget me"))
        tracker.update(ActionExecuted("action_answer"))
        tracker.update(Restarted())
        await store.save(tracker)
        assert "sms-abc" not in store.store
        fresh = DialogueStateTracker.from_events("sms-abc", [UserUttered("hello")])
        await store.save(fresh)
        assert "sms-abc" in store.store, "a new conversation after forgetting is kept again"

    asyncio.run(scenario())


# ---- settings ------------------------------------------------------------------------------------------------------
def test_settings_refuse_production_channels_without_a_pseudonym_key():
    twilio = {"ASSISTANT_TWILIO_ACCOUNT_SID": "AC1", "ASSISTANT_TWILIO_AUTH_TOKEN": "t", "ASSISTANT_TWILIO_FROM": "+1",
              "ASSISTANT_TWILIO_WEBHOOK_URL": "https://x.example.org/twilio/sms"}
    with pytest.raises(SettingsError, match="PSEUDONYM_KEY"):
        Settings.from_env(twilio)
    with pytest.raises(SettingsError, match="PSEUDONYM_KEY"):
        Settings.from_env({"ASSISTANT_TELEGRAM_BOT_TOKEN": "1:x", "ASSISTANT_TELEGRAM_WEBHOOK_SECRET": "s" * 20,
                           "ASSISTANT_TELEGRAM_WEBHOOK_URL": "https://x.example.org/telegram/webhook"})
    assert Settings.from_env({"ASSISTANT_TELEGRAM_BOT_TOKEN": "1:x",  # local long polling
                              "ASSISTANT_SIMULATOR": "false"}).telegram_enabled


def test_settings_refuse_a_public_simulator_and_a_webhook_without_secret():
    key = {"ASSISTANT_PSEUDONYM_KEY": "k" * 32}
    with pytest.raises(SettingsError, match="SIMULATOR"):
        Settings.from_env({"ASSISTANT_GATEWAY_HOST": "0.0.0.0"})
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        Settings.from_env({**key, "ASSISTANT_TELEGRAM_BOT_TOKEN": "1:x",
                           "ASSISTANT_TELEGRAM_WEBHOOK_URL": "https://x.example.org/telegram/webhook"})
    with pytest.raises(SettingsError, match="TWILIO_WEBHOOK_URL"):
        Settings.from_env({**key, "ASSISTANT_TWILIO_ACCOUNT_SID": "AC1"})


def test_settings_refuse_the_simulator_beside_a_real_channel_unless_forced():
    # behind a TLS proxy the gateway listens on 127.0.0.1: the loopback check alone would leave the page public
    key = {"ASSISTANT_PSEUDONYM_KEY": "k" * 32}
    twilio = {**key, "ASSISTANT_TWILIO_ACCOUNT_SID": "AC1", "ASSISTANT_TWILIO_AUTH_TOKEN": "t",
              "ASSISTANT_TWILIO_FROM": "+1", "ASSISTANT_TWILIO_WEBHOOK_URL": "https://x.example.org/twilio/sms"}
    for channel in (twilio, {"ASSISTANT_TELEGRAM_BOT_TOKEN": "1:x"}):
        with pytest.raises(SettingsError, match="ASSISTANT_SIMULATOR=false"):
            Settings.from_env(channel)
        assert not Settings.from_env({**channel, "ASSISTANT_SIMULATOR": "false"}).simulator
        assert Settings.from_env({**channel, "ASSISTANT_SIMULATOR_FORCE": "true"}).simulator  # a local demo
    assert Settings.from_env({}).simulator  # no channel: the local default


def test_printed_settings_never_show_secrets():
    settings = Settings.from_env({"ASSISTANT_PSEUDONYM_KEY": "s3cr3t" * 6, "ASSISTANT_TELEGRAM_BOT_TOKEN": "1:tok3n",
                                  "ASSISTANT_REDIS_URL": "", "ASSISTANT_SIMULATOR": "false"})
    printed = str(settings) + repr(settings)
    assert "s3cr3t" not in printed and "tok3n" not in printed
    assert "ASSISTANT_PSEUDONYM_KEY=(set)" in printed


# ---- channel forms -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, reserved", [("STOP", True), ("stop.", True), (" Stop ", True), ("HELP", False),
                                            ("help me", False), ("stop him", False), ("yes", True), ("si", False)])
def test_reserved_keywords(text, reserved):
    assert is_reserved(text) is reserved


def test_sms_bodies_fit_and_the_first_carries_the_neutral_line():
    neutral = "Hello, here is the information you asked for."
    text = " ".join(f"Sentence number {i} says something useful." for i in range(30))
    bodies = sms_bodies(text, neutral)
    assert len(bodies) > 1
    assert bodies[0].startswith(neutral + "\n") and not any(neutral in b for b in bodies[1:])
    assert all(cost(b).segments <= 3 for b in bodies)
    assert all(b.rstrip().endswith(".") for b in bodies)
    assert sms_bodies("Short.", neutral) == [neutral + "\nShort."]
    assert sms_bodies("   ", neutral) == []


def test_telegram_html_escapes_everything_and_marks_up_little():
    html = to_html("Title here\n\n- first <b>not bold</b> & more\n- second *in bold* and 2 * 3")
    assert html.startswith("<b>Title here</b>")
    assert "<b>in bold</b> and 2 * 3" in html
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; more" in html and "• second" in html
    long = "\n\n".join("x" * 1000 for _ in range(10))
    parts = telegram_messages(long)
    assert len(parts) > 1 and all(len(p) <= LIMIT for p in parts)


def test_the_telegram_secret_is_compared_in_constant_time_and_fails_closed():
    verify_secret("abc-secret", "abc-secret")
    for received in (None, "", "abc-secreT", "abc-secret ", "abc-secr\u00e9t", "abc-\udcff"):
        with pytest.raises(VerificationFailed):
            verify_secret("abc-secret", received)
    with pytest.raises(VerificationFailed):
        verify_secret("", "")


def _twilio(token: str) -> TwilioSms:
    async def make() -> TwilioSms:  # twilio's async HTTP client wants a running loop
        return TwilioSms("AC" + "0" * 32, token, "+447700900000", "https://example.org/twilio/sms")

    return asyncio.run(make())


def test_twilio_parse_ignores_what_is_not_a_message():
    sms = _twilio("token")
    assert sms.parse({"From": "+447700900123"}) is None
    assert sms.parse({"MessageSid": "SM1", "From": "+447700900123", "Body": "STOP"}) is None
    message = sms.parse({"MessageSid": "SM1", "From": "+447700900123", "Body": "hola"}, "sig=")
    assert message.address == "+447700900123" and message.text == "hola" and message.provider_message_ids == ("SM1",)
    # keyed by the auth token: stable across restarts, one from the SID and one from the signature, naming neither
    again = _twilio("token").parse(
        {"MessageSid": "SM1", "From": "+447700900123", "Body": "hola"}, "sig=")
    assert len(message.delivery_keys) == 2 and message.delivery_keys == again.delivery_keys
    assert not any("SM1" in key or "sig" in key for key in message.delivery_keys)
    other = _twilio("other").parse(
        {"MessageSid": "SM1", "From": "+447700900123", "Body": "hola"}, "sig=")
    assert set(other.delivery_keys).isdisjoint(message.delivery_keys)


def test_telegram_parse_reads_commands_and_language():
    from tests.fakes import telegram_update

    channel = TelegramChannel("1:token", "http://127.0.0.1:9/bot")
    forget = channel.parse(telegram_update(99, "/forget", "ar"))
    assert forget.command == "forget" and forget.text == "" and forget.language_hint == "ar"
    sticker = telegram_update(99, "x")
    del sticker["message"]["text"]
    assert channel.parse(sticker).text == "?"
    assert channel.parse({"update_id": 1}) is None
    assert channel.parse({"nonsense": True}) is None


@pytest.mark.parametrize("damage", [
    lambda u: u["message"].update(text=12345), lambda u: u["message"].update(chat="a chat"),
    lambda u: u["message"]["chat"].update(id="not a number"), lambda u: u.update(update_id=[1]),
    lambda u: u["message"].update(message_id={"a": 1}), lambda u: u["message"].update(date="yesterday"),
    lambda u: u["message"]["from"].update(language_code=7), lambda u: u.update(message=[]),
    lambda u: u["message"].update(entities="x"), lambda u: u["message"]["chat"].update(type=None),
])
def test_telegram_parse_ignores_an_update_with_wrong_types(damage):
    """Python-telegram-bot trusts Telegram's types; a forged update (the secret leaked) must not raise (finding 8)."""
    from tests.fakes import telegram_update

    channel = TelegramChannel("1:token", "http://127.0.0.1:9/bot")
    update = telegram_update(99, "hello", "en")
    damage(update)
    message = channel.parse(update)
    assert message is None or (isinstance(message.text, str) and message.address.lstrip("-").isdigit())


# ---- channel errors: one test per branch ----------------------------------------------------------------------------
class _FailingTelegram:
    """A fake Bot API whose sendMessage answers with the queued errors first."""

    def __init__(self, errors):
        from tests.fakes import FakeTelegram

        self.fake = FakeTelegram()
        self.errors = list(errors)
        original = self.fake._method

        async def method(request):
            from aiohttp import web

            if request.match_info["method"] == "sendMessage" and self.errors:
                code, extra = self.errors.pop(0)
                self.fake.record(request, {})
                return web.json_response({"ok": False, "error_code": code, "description": "error", **extra},
                                         status=code)
            return await original(request)

        self.fake._method = method


@pytest.mark.parametrize("errors, outcome", [
    ([(429, {"parameters": {"retry_after": 1}})], "sent"),   # flood control: wait, then retry
    ([(500, {})], "sent"),                                   # a server error: retry
    ([(403, {})], "blocked"),                                # she blocked the bot: no retry
    ([(500, {}), (500, {}), (500, {})], "gave up"),           # bounded retries
])
def test_telegram_send_errors(errors, outcome):
    from bot.channels.base import ChannelError

    failing = _FailingTelegram(errors)

    async def scenario(url):
        channel = TelegramChannel("1:token", f"{url}/bot", retries=2)
        await channel.start()
        try:
            return await channel.send("99", "hello")
        finally:
            await channel.close()

    with failing.fake as fake:
        if outcome == "sent":
            assert asyncio.run(scenario(fake.url)).provider_message_ids
        else:
            with pytest.raises(ChannelError) as raised:
                asyncio.run(scenario(fake.url))
            assert "99" not in str(raised.value) and "hello" not in str(raised.value)
        attempts = len(fake.named("/sendMessage"))
    assert attempts == {"sent": len(errors) + 1, "blocked": 1, "gave up": 3}[outcome]


def test_a_headline_with_a_starred_phrase_is_bold_once_not_nested():
    html = to_html("*Call 999 now.* (112 also works.)\n\nIf you can, speak.")
    assert html.startswith("<b>Call 999 now. (112 also works.)</b>")
    assert "<b><b>" not in html and html.count("<b>") == html.count("</b>") == 1


# ---- the schema: Alembic migrations, applied at start ---------------------------------------------------------------
def test_migrations_make_the_schema_the_tables_declare_and_run_twice(database_url):
    import sqlalchemy

    from bot.storage.schema import metadata, migrate

    engine = sqlalchemy.create_engine(database_url, future=True)
    migrate(engine)
    migrate(engine)  # every start runs it
    inspector = sqlalchemy.inspect(engine)
    for table in metadata.tables.values():
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}, table.name
    with engine.connect() as connection:
        assert connection.exec_driver_sql("select version_num from alembic_version").scalar() is not None
    engine.dispose()


def test_a_database_made_before_migrations_is_taken_over(tmp_path):
    import sqlalchemy

    from bot.storage.schema import delivery_keys, event_counts, metadata, migrate

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'old.db'}", future=True)
    metadata.create_all(engine, tables=[event_counts, delivery_keys])  # how the schema was made before Alembic
    with engine.begin() as connection:
        connection.exec_driver_sql("insert into event_counts values ('2026-11-01', 'answered', 'sms', 'es', '-', 3)")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("select count from event_counts").scalar() == 3, "counts kept"
    engine.dispose()
