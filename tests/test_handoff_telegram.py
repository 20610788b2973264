"""The Telegram desk (issue 9): the advocates' supergroup with a topic per case, through python-telegram-bot's Bot
pointed at the fake Bot API, and the real pipeline (the assistant is a stand-in that answers by topic). Her side is
Telegram (her messages copied into the topic) or SMS through twilio's client and the recording Twilio server.

Covered: the topic and its summary with a Take button; copies, never forwards; Take by button and by /take; the claim
race by button; relay both ways; danger flagged; commands in the topic; General and strangers ignored; a topic
deleted by hand recreated; retention; forget deleting the topic; her blocking the bot, her SMS opt-out and flood
control shown to the advocate (a flood delays, never drops).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest
import sqlalchemy

from bot.channels.base import FORGET, SMS, TELEGRAM, DeskMessage, InboundMessage
from bot.channels.telegram import TelegramChannel
from bot.handoff.advocates import Advocates
from bot.handoff.cases import Cases
from bot.handoff.live import LiveCases
from bot.handoff.model import DeskKind, Outcome
from bot.handoff.service import Handoff
from bot.handoff.telegram_desk import BotForum, TelegramDesk
from bot.pipeline import Pipeline
from bot.privacy.pseudonyms import Pseudonyms
from bot.privacy.routes import Routes
from bot.storage.ephemeral import MemoryEphemeral
from bot.storage.metrics import Metrics
from bot.storage.schema import migrate
from tests.fakes import FakeAssistant, FakeTelegram, FakeTwilio, desk_update, rendered, take_press, telegram_update

DESK = -1001234567890
HER = 55501
ANA, BEA, STRANGER = 4201, 4202, 4299
HER_PHONE = "+447700900077"
RETENTION = 600


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        yield server


class World:
    """Her pipeline with a Telegram desk (and an SMS channel when Twilio is given), a clock the test moves."""

    def __init__(self, store, settings, recogniser, fake, tmp_path, twilio=None) -> None:
        self.fake, self.twilio, self.store = fake, twilio, store
        self.clock = [10_000.0]
        self.engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'tg.db'}", future=True)
        migrate(self.engine)
        self.registry = Advocates(self.engine, store.languages.codes)
        self.registry.add(DeskKind.TELEGRAM, str(ANA), "Ana", ["en", "es"])
        self.registry.add(DeskKind.TELEGRAM, str(BEA), "Bea", ["en"])
        self.cases = Cases(self.engine)
        self._settings, self._recogniser, self._tmp = settings, recogniser, tmp_path

    async def __aenter__(self) -> "World":
        # the channel waits out flood control up to 1.5 s here (60 s by default), twice before it gives up
        self.channel = TelegramChannel("7000001:desk-token", f"{self.fake.url}/bot", desk_chat=DESK, max_wait=1.5)
        await self.channel.start()
        adapters = {TELEGRAM: self.channel}
        if self.twilio is not None:
            from bot.channels.twilio_sms import TwilioSms

            adapters[SMS] = TwilioSms("AC" + "0" * 32, "auth-token", "+447700900000", "http://127.0.0.1/twilio/sms",
                                      self.twilio.url)
        ephemeral = self.ephemeral = MemoryEphemeral()
        clock = lambda: self.clock[0]  # noqa: E731
        self.desk = TelegramDesk(BotForum(self.channel.bot, DESK), ephemeral, 3600, RETENTION, clock=clock)
        self.handoff = Handoff(content=self.store, cases=self.cases, advocates=self.registry,
                               live=LiveCases(ephemeral, 3600, clock=clock), desks={DeskKind.TELEGRAM: self.desk})

        def answer(text, meta):
            topic = {"i want to talk to a real person": "talk_to_person",
                     "will the police tell the home office": "police_immigration"}.get(text, "thanks")
            return rendered(self.store, "emergency" if "hitting" in text else topic, "en", meta.get("channel", SMS))

        self.assistant = FakeAssistant(answer)
        from bot.privacy.redact import Redactor

        from bot.storage.deliveries import DatabaseDeliveries

        self.pipeline = Pipeline(settings=replace(self._settings, rate_limit=1000), pseudonyms=Pseudonyms("k" * 32),
                                 deliveries=DatabaseDeliveries(self.engine),  # local: they outlive a restart
                                 redactor=Redactor.load(self._settings.locales_dir), recogniser=self._recogniser,
                                 rasa=self.assistant, content=self.store, routes=Routes(ephemeral, 3600),
                                 ephemeral=ephemeral, metrics=Metrics(f"sqlite:///{self._tmp / 'counts.db'}"),
                                 adapters=adapters, handoff=self.handoff)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.pipeline.close()
        for adapter in self.pipeline.adapters.values():
            await adapter.close()
        self.engine.dispose()

    # ---- her side, and the advocates' -------------------------------------------------------------------------
    async def she_says(self, text: str, command=None):
        update = telegram_update(HER, text)
        parsed = self.channel.parse(update)
        if command is not None:
            parsed = replace(parsed, command=command, text="")
        await self.pipeline.handle(parsed)
        return parsed

    async def she_texts(self, text: str) -> None:
        await self.pipeline.handle(InboundMessage(SMS, f"SM{self.clock[0]}{text[:3]}", HER_PHONE, text))

    async def group(self, update) -> None:
        parsed = self.channel.parse(update)
        assert isinstance(parsed, DeskMessage), "a message in the advocates' group is the desk's"
        await self.pipeline.from_desk(parsed)

    def to_her(self):
        return [c["text"] for c in self.fake.sent(HER)]

    def topic(self) -> int:
        [topic] = list(self.fake.topics)
        return topic

    def in_topic(self, topic=None):
        return [c.get("text", "<copy>") for c in self.fake.in_topic(topic or self.topic())]

    async def open_case(self, sms: bool = False) -> str:
        say = self.she_texts if sms else self.she_says
        await say("will the police tell the home office")
        await say("i want to talk to a real person")
        await say("1")
        return self.fake.topics[self.topic()].split(" · ")[0]


async def eventually(condition, seconds: float = 5.0) -> None:
    """Background work (the danger flag to the advocates goes after her 999): wait until ``condition()``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


def run(world: World, scenario):
    async def main():
        async with world:
            return await scenario(world)

    return asyncio.run(main())


def test_a_whole_handoff_in_a_forum_topic(store, settings, recogniser, fake, tmp_path, caplog):
    caplog.set_level(logging.INFO)

    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        assert w.fake.topics[topic] == f"{code} · en · police_immigration", "named by code, language and topic"
        [summary] = [c for c in w.fake.in_topic(topic) if c.get("reply_markup")]
        assert summary["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"take:{code}"
        assert "Asked about: police_immigration" in summary["text"] and "Her channel: Telegram" in summary["text"]

        her_words = await w.she_says("I am at 5 Luna Street, flat 2")
        [copy] = w.fake.named("/copyMessage")
        assert int(copy.params["from_chat_id"]) == HER and int(copy.params["message_thread_id"]) == topic
        assert int(copy.params["message_id"]) == int(her_words.provider_message_ids[0])
        assert not w.fake.named("/forwardMessage"), "copied, never forwarded (no name, no id)"
        assert "I am at 5 Luna Street" not in summary["text"]

        # strangers, General, and a button that is not this case's: nothing reaches her
        before = w.to_her()
        await w.group(desk_update(DESK, STRANGER, "hello from someone else", topic))
        await w.group(desk_update(DESK, ANA, "a note in General", None))
        await w.group(take_press(DESK, ANA, topic, "take:AAAA"))
        assert w.to_her() == before and w.cases.get(code).advocate_id is None

        await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
        assert "Ana from this service has joined" in w.to_her()[-1]
        assert w.fake.named("/answerCallbackQuery"), "the button stops spinning"
        assert any("is yours (Ana)" in t for t in w.in_topic())

        await w.group(desk_update(DESK, ANA, "Hello, I am Ana. Are you safe now?", topic))
        assert w.to_her()[-1] == "Hello, I am Ana. Are you safe now?"
        await w.group(desk_update(DESK, BEA, "I can help too", topic))
        assert w.to_her()[-1] != "I can help too" and any("another advocate's case" in t for t in w.in_topic())

        await w.she_says("he is hitting me now")
        assert "999" in w.to_her()[-1][:60], "the assistant's emergency answer at once"
        await eventually(lambda: any(t.startswith("⚠️ DANGER") for t in w.in_topic()))
        assert any(t.startswith("⚠️ DANGER") for t in w.in_topic()), "and the advocate is told, after it"

        await w.group(desk_update(DESK, ANA, "/name Ana (advocate)", topic))
        await w.group(desk_update(DESK, ANA, "/close referred", topic))
        assert "has ended" in w.to_her()[-1] and "Ana (advocate)" in w.to_her()[-1]
        assert w.cases.get(code).outcome is Outcome.REFERRED and w.cases.get(code).advocate_id is not None
        await w.she_says("thanks")
        assert w.assistant.received[-1] == "thanks", "the assistant is back"

        # the topic stays for the retention time, then goes
        w.clock[0] += RETENTION - 1
        await w.pipeline.handoff_timers()
        assert topic in w.fake.topics
        w.clock[0] += 2
        await w.pipeline.handoff_timers()
        assert w.fake.deleted_topics == [topic]
        return code

    run(World(store, settings, recogniser, fake, tmp_path), scenario)
    logged = caplog.text
    assert "event=handoff_not_an_advocate" in logged and "event=desk_general_ignored" in logged
    assert "Luna" not in logged and "hello from someone else" not in logged and str(HER) not in logged


def test_two_advocates_press_take_at_once_and_exactly_one_owns_the_case(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await asyncio.gather(w.group(take_press(DESK, ANA, topic, f"take:{code}")),
                             w.group(take_press(DESK, BEA, topic, f"take:{code}")))
        notices = w.in_topic()
        assert sum("is yours" in t for t in notices) == 1
        assert sum("was taken by another advocate" in t for t in notices) == 1
        assert sum("has joined" in t for t in w.to_her()) == 1, "she is told once"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_a_topic_deleted_by_hand_is_recreated_with_the_next_message(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        first = w.topic()
        await w.group(desk_update(DESK, ANA, "/take", first))
        w.fake.delete_topic_by_hand(first)
        await w.she_says("are you still there?")
        second = w.topic()
        assert second != first and w.fake.topics[second].startswith(code)
        assert w.fake.in_topic(second)[-1].get("from_chat_id") is not None, "her message is in the new topic"
        await w.group(desk_update(DESK, ANA, "Yes, I am here.", second))
        assert w.to_her()[-1] == "Yes, I am here."
        await w.group(desk_update(DESK, ANA, "anyone?", first))
        assert w.to_her()[-1] == "Yes, I am here.", "the old topic is no case's any more"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_forget_me_during_a_handoff_deletes_the_case_topic(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await w.she_says("my address is 5 Luna Street")
        await w.she_says("", command=FORGET)
        assert w.fake.deleted_topics == [topic], "every copy of her messages goes with the topic"
        assert w.cases.get(code).outcome is Outcome.FORGOTTEN
        await w.group(desk_update(DESK, ANA, "hello?", topic))
        assert not any(t == "hello?" for t in w.to_her())

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_the_advocate_is_told_when_she_blocked_the_bot(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
        w.fake.blocked.add(HER)
        await w.group(desk_update(DESK, ANA, "Are you there?", topic))
        assert any("did not reach her: she has blocked the bot" in t for t in w.in_topic())

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_flood_control_delays_a_message_to_her_and_never_drops_it(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
        w.fake.flood_chats[HER] = [1, 1, 1]  # still under flood control after the waits the channel sits out
        await w.group(desk_update(DESK, ANA, "This will arrive.", topic))
        assert any("delayed by flood control" in t for t in w.in_topic()), "the advocate is told"
        assert "This will arrive." not in w.to_her()
        for _ in range(40):
            await asyncio.sleep(0.1)
            if "This will arrive." in w.to_her():
                break
        assert w.to_her()[-1] == "This will arrive.", "sent again after the wait Telegram gave"
        # and the desk itself waits out flood control on the group
        w.fake.flood["copyMessage"] = [1]
        await w.she_says("one more thing")
        calls = w.fake.named("/copyMessage")
        assert [c.params.get("_failed") for c in calls] == [429, None], "waited out, then copied"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_her_sms_opt_out_is_shown_and_her_sms_is_posted_as_text(store, settings, recogniser, fake, tmp_path):
    with FakeTwilio() as twilio:
        async def scenario(w: World):
            code = await w.open_case(sms=True)
            topic = w.topic()
            [summary] = [c for c in w.fake.in_topic(topic) if c.get("reply_markup")]
            assert "Her channel: SMS" in summary["text"]
            await w.she_texts("I am at 5 Luna Street")
            assert "I am at 5 Luna Street" in w.in_topic(), "an SMS has no Telegram message to copy: its text"
            await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
            twilio.opted_out.add(HER_PHONE)
            await w.group(desk_update(DESK, ANA, "Hello?", topic))
            assert any("opted out of SMS" in t for t in w.in_topic())

        run(World(store, settings, recogniser, fake, tmp_path, twilio=twilio), scenario)


def test_the_adapter_tells_her_messages_from_the_desks(fake):
    channel = TelegramChannel("7000001:t", f"{fake.url}/bot", desk_chat=DESK)
    assert isinstance(channel.parse(telegram_update(HER, "hi")), InboundMessage)
    in_topic = channel.parse(desk_update(DESK, ANA, "hello", 201))
    assert isinstance(in_topic, DeskMessage) and in_topic.topic == 201 and in_topic.sender == str(ANA)
    assert channel.parse(desk_update(DESK, ANA, "hello", None)).topic is None, "General"
    assert channel.parse(desk_update(-100999, ANA, "hello", 201)) is None, "another group is ignored"
    own = desk_update(DESK, ANA, "", 201)
    own["message"]["from"] = dict(FakeTelegram.BOT)
    assert channel.parse(own) is None, "the bot's own and service messages"
    press = channel.parse(take_press(DESK, ANA, 201, "take:7F3K"))
    assert isinstance(press, DeskMessage) and press.button == "take:7F3K" and press.callback_id
    assert channel.parse(take_press(-100999, ANA, 201, "take:7F3K")) is None
    broken = take_press(DESK, ANA, 201, "take:7F3K")
    broken["callback_query"]["message"]["message_thread_id"] = "201"
    assert channel.parse(broken) is None, "a wrong type is ignored, not raised"
    assert TelegramChannel("7000001:t", f"{fake.url}/bot").parse(desk_update(DESK, ANA, "x", 201)) is None, \
        "without a desk chat configured, no group is served"


# ---- what an independent review found (each reproduced first, then fixed) ----------------------------------------
def test_a_desk_that_is_down_never_costs_her_the_999_answer(store, settings, recogniser, fake, tmp_path):
    from bot.handoff.telegram_desk import DeskUnavailable

    async def scenario(w: World):
        await w.she_says("i want to talk to a real person")

        async def down(name):
            raise DeskUnavailable("telegram desk: Forbidden")

        w.desk.forum.create_topic = down  # the bot lost its admin rights in the group
        await w.she_says("1")
        assert "not connected to a person" in w.to_her()[-1], "told, instead of waiting for no one"
        pseudonym = w.pipeline._pseudonyms.of("telegram", str(HER))
        assert await w.handoff._live.of(pseudonym) is None
        await w.she_says("he is hitting me now")
        assert "999" in w.to_her()[-1][:60]

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_the_999_answer_does_not_wait_for_the_advocates_group(store, settings, recogniser, fake, tmp_path):
    import time

    async def scenario(w: World):
        await w.open_case()
        fake.flood_chats[DESK] = [3]  # the group is under flood control for 3 s: the DANGER post waits
        started = time.monotonic()
        await w.she_says("he is hitting me now")
        assert time.monotonic() - started < 2.0 and "999" in w.to_her()[-1][:60]
        await eventually(lambda: any(t.startswith("⚠️ DANGER") for t in w.in_topic()))
        assert any(t.startswith("⚠️ DANGER") for t in w.in_topic()), "the advocates are still told, after it"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_her_emergency_answer_under_flood_control_is_sent_after_the_wait_never_dropped(store, settings, recogniser,
                                                                                     fake, tmp_path):
    async def scenario(w: World):
        fake.flood_chats[HER] = [1, 1]  # Telegram asks for 1 s, twice
        await w.she_says("he is hitting me now")
        assert "999" in w.to_her()[-1][:60]

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_an_advocate_taking_the_case_while_she_writes_keeps_it(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        fake.flood["copyMessage"] = [1]  # her message's relay is slow: the take lands in the middle of it
        await asyncio.gather(w.she_says("hello? anyone?"), w.group(take_press(DESK, ANA, topic, f"take:{code}")))
        assert (await w.handoff._live.get(code)).advocate_id == w.cases.get(code).advocate_id is not None
        await w.group(desk_update(DESK, ANA, "Hi, I am Ana", topic))
        assert w.to_her()[-1] == "Hi, I am Ana"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_a_case_closed_while_her_message_is_relayed_stays_closed(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
        fake.flood["copyMessage"] = [1]
        await asyncio.gather(w.she_says("are you there"), w.group(desk_update(DESK, ANA, "/close advice", topic)))
        assert await w.handoff._live.get(code) is None, "not written back by the relay that was under way"
        await w.she_says("will the police tell the home office")
        assert w.assistant.received[-1] == "will the police tell the home office", "the assistant answers her"
        await w.group(desk_update(DESK, ANA, "still here after close", topic))
        assert "still here after close" not in w.to_her()

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_an_advocate_message_delayed_by_flood_control_is_dropped_after_forget_me(store, settings, recogniser, fake,
                                                                                 tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        topic = w.topic()
        await w.group(take_press(DESK, ANA, topic, f"take:{code}"))
        fake.flood_chats[HER] = [1, 1, 1]
        await w.group(desk_update(DESK, ANA, "SECRET advocate text", topic))
        await w.she_says("", command=FORGET)
        await w.she_says("hi")
        await asyncio.sleep(1.8)
        assert "SECRET advocate text" not in w.to_her()

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_after_a_local_restart_the_group_sees_the_open_case_marked_disconnected(store, settings, recogniser, fake,
                                                                                tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        await w.group(take_press(DESK, ANA, w.topic(), f"take:{code}"))
        w.ephemeral._data.clear()  # the local profile restarted: what was in memory is gone
        await w.pipeline.handoff_timers()
        assert w.cases.get(code).outcome is Outcome.DISCONNECTED
        general = [c["text"] for c in w.fake.sent(DESK) if c.get("message_thread_id") is None]
        assert any(f"{code} was disconnected" in t for t in general), general

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_a_telegram_command_during_a_handoff_ends_it_and_the_assistant_answers_again(store, settings, recogniser,
                                                                                     fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        await w.group(take_press(DESK, ANA, w.topic(), f"take:{code}"))
        await w.she_says("", command="menu")
        assert "has ended" in w.to_her()[-1] and w.cases.get(code).outcome is Outcome.SHE_LEFT
        await w.she_says("", command="menu")
        assert w.assistant.received[-1] == "/menu", "the next /menu is the assistant's"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_when_no_desk_takes_her_message_she_is_told_it_was_not_passed_on(store, settings, recogniser, fake, tmp_path):
    from bot.handoff.telegram_desk import DeskUnavailable

    async def scenario(w: World):
        code = await w.open_case()
        await w.group(take_press(DESK, ANA, w.topic(), f"take:{code}"))

        async def down(*args, **kwargs):
            raise DeskUnavailable("telegram desk: Forbidden")

        w.desk.forum.post = down
        w.desk.forum.copy = down
        await w.she_says("are you still there?")
        assert "could not be passed on to a person" in w.to_her()[-1], "she must not believe a person read it"
        await w.she_says("he is hitting me now")
        assert "999" in w.to_her()[-1][:60]

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_an_advocates_photo_is_not_sent_and_she_is_told_why_in_the_topic(store, settings, recogniser, fake, tmp_path):
    async def scenario(w: World):
        code = await w.open_case()
        await w.group(take_press(DESK, ANA, w.topic(), f"take:{code}"))
        before = w.to_her()
        photo = desk_update(DESK, ANA, "", w.topic())
        del photo["message"]["text"]
        photo["message"]["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]
        await w.group(photo)
        assert w.to_her() == before
        assert "Only text reaches her: write your message." in w.in_topic()

    run(World(store, settings, recogniser, fake, tmp_path), scenario)


def test_a_desk_message_without_provider_keys_is_a_duplicate_only_within_one_run(store, settings, recogniser, fake,
                                                                                 tmp_path):
    """The simulator's desk messages carry no provider keys and restart their ids with the gateway: after a restart
    (a new pseudonym key locally) the same id is a new message, not a duplicate; within a run it is a duplicate."""
    async def scenario(w: World):
        code = await w.open_case()
        press = DeskMessage("telegram", "1000", str(ANA), w.topic(), "", button=f"take:{code}")
        assert (await w.pipeline.from_desk(press)).event == "advocate_message"
        assert (await w.pipeline.from_desk(press)).event == "duplicate"
        w.pipeline._pseudonyms = Pseudonyms.with_random_key()  # the local profile restarted
        again = DeskMessage("telegram", "1000", str(ANA), w.topic(), "/name Ana")
        assert (await w.pipeline.from_desk(again)).event == "advocate_message"

    run(World(store, settings, recogniser, fake, tmp_path), scenario)
