"""The per-message path in-process, with a recording fake assistant in place of Rasa and the simulator's phones as
channels: what goes first in an SMS (999 before anything when she may be in danger; the neutral line on the first
message of a reply only), the rate limit that never silences what the emergency detector flags, and the Telegram
"forget me" confirmation that does not stay in her chat."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from typing import Callable, Dict, List, Optional

import pytest

from bot.channels.base import FORGET, SMS, TELEGRAM, InboundMessage
from bot.channels.simulator import SimulatedPhone
from bot.pipeline import Pipeline
from bot.privacy.pseudonyms import Pseudonyms
from bot.privacy.routes import Routes
from bot.rasa_client import AssistantReply, RasaUnavailable
from bot.recognise import Recogniser
from bot.settings import ROOT
from bot.storage.ephemeral import MemoryEphemeral
from bot.storage.metrics import Metrics


class FakeAssistant:
    """Stands in for Rasa: records what it receives; answers with ``answer(text, metadata)`` or is down."""

    def __init__(self, answer: Callable[[str, Dict], List[AssistantReply]]) -> None:
        self.answer = answer
        self.received: List[str] = []
        self.down = False

    async def send(self, sender: str, text: str, metadata: Optional[Dict] = None) -> List[AssistantReply]:
        self.received.append(text)
        if self.down:
            raise RasaUnavailable("timeout")
        return self.answer(text, metadata or {})


def rendered(store, topic: str, language: str, channel: str = SMS) -> List[AssistantReply]:
    return [AssistantReply(r.text, r.as_payload()) for r in store.render(topic, language, channel, True)]


@pytest.fixture(scope="module")
def recogniser(model):
    from bot.languages import load_languages

    return Recogniser.load(load_languages(ROOT / "locales"), ROOT / "data" / "nlu", model)


@pytest.fixture
def make_pipeline(settings, store, recogniser, tmp_path):
    made = []

    def make(answer, **overrides):
        assistant = FakeAssistant(answer)
        ephemeral = MemoryEphemeral()
        phones = {"sim-sms": SimulatedPhone(SMS), "sim-telegram": SimulatedPhone(TELEGRAM)}
        from bot.privacy.redact import Redactor

        pipeline = Pipeline(settings=replace(settings, **overrides), pseudonyms=Pseudonyms("k" * 32),
                            redactor=Redactor.load(settings.locales_dir), recogniser=recogniser, rasa=assistant,
                            content=store, routes=Routes(ephemeral, 3600), ephemeral=ephemeral,
                            metrics=Metrics(f"sqlite:///{tmp_path / 'counts.db'}"), adapters=phones)
        made.append(pipeline)
        return pipeline, assistant, phones

    yield make


def message(channel: str, address: str, text: str = "", command: Optional[str] = None) -> InboundMessage:
    return InboundMessage(channel, secrets.token_hex(6), address, text, command=command)


def say(pipeline, phone: str, address: str, text: str = "", command: Optional[str] = None) -> List[str]:
    asyncio.run(pipeline.handle(message(phone, address, text, command)))
    return [bubble["text"] for bubble in pipeline.adapters[phone].collect(address)["replies"]]


# ---- what comes first in an SMS ----------------------------------------------------------------------------------
def test_the_neutral_line_opens_each_reply_but_not_the_later_parts_of_a_long_one(make_pipeline, store):
    pipeline, _, _ = make_pipeline(lambda text, meta: rendered(store, "greet", "en"))  # greeting, then the menu
    bodies = say(pipeline, "sim-sms", "+447700900001", "hi")
    neutral = store.ui["en"].get("neutral_line")
    assert len(bodies) == 2
    # the menu is a message of its own: a lock screen would show "1 Police and the Home Office" without the line
    assert all(body.startswith(neutral + "\n") for body in bodies)
    long = [AssistantReply("A sentence about rights that goes on for a while. " * 25, {"language": "en"})]
    pipeline, _, _ = make_pipeline(lambda text, meta: long)
    parts = say(pipeline, "sim-sms", "+447700900011", "tell me everything")
    assert len(parts) > 1 and parts[0].startswith(neutral) and not any(p.startswith(neutral) for p in parts[1:])


@pytest.mark.parametrize("language", ["en", "es", "ar", "ur", "bn", "pl"])
def test_the_emergency_answer_has_999_first_and_no_neutral_line(make_pipeline, store, language):
    pipeline, _, _ = make_pipeline(lambda text, meta: rendered(store, "emergency", language))
    [body] = say(pipeline, "sim-sms", "+447700900002", "help")
    assert "999" in body[:40], body[:40]
    assert not body.startswith(store.ui[language].get("neutral_line"))


@pytest.mark.parametrize("language", ["en", "fr", "ar", "ur", "bn"])
def test_the_degraded_reply_has_999_first(make_pipeline, store, language):
    pipeline, assistant, _ = make_pipeline(lambda text, meta: rendered(store, "police_immigration", language))
    say(pipeline, "sim-sms", "+447700900003", "question")  # the conversation's language is now known
    assistant.down = True
    [body] = say(pipeline, "sim-sms", "+447700900003", "another question")
    assert body == store.ui[language].get("degraded")
    assert "999" in body[:40]


def test_the_rate_limit_notice_has_999_first(make_pipeline, store):
    pipeline, _, _ = make_pipeline(lambda text, meta: rendered(store, "thanks", "en"), rate_limit=2)
    for _ in range(2):
        say(pipeline, "sim-sms", "+447700900004", "thanks")
    [notice] = say(pipeline, "sim-sms", "+447700900004", "thanks")
    assert notice == store.ui["en"].get("rate_limited") and "999" in notice[:40]
    assert say(pipeline, "sim-sms", "+447700900004", "thanks") == []  # silence for the rest of the minute


# ---- the rate limit never silences danger -------------------------------------------------------------------------
#: danger in words no danger phrase list has: only the emergency detector (bot.nlu.emergency) can flag them
DETECTOR_ONLY = [
    ("en", "he is coming back"),
    ("es", "ya viene para aca y esta borracho"),
    ("fr", "il arrive il va me frapper"),
    ("pl", "on wraca i mnie zabije"),
    ("ur", "woh wapis aa raha hai mujhe maarega"),
    ("ar", "راجع البيت وهيضربني"),
]


@pytest.mark.parametrize("language, text", DETECTOR_ONLY)
def test_the_rate_limit_lets_through_what_the_emergency_detector_flags(make_pipeline, store, recogniser, language,
                                                                     text):
    padded = f" {__import__('bot.languages', fromlist=['normalise']).normalise(text)} "
    assert not any(phrase in padded for phrase in recogniser._emergency), "must not be a listed danger phrase"
    assert recogniser.mentions_danger(text), "the emergency detector flags it"
    pipeline, assistant, _ = make_pipeline(
        lambda t, meta: rendered(store, "emergency" if t == text else "thanks", language), rate_limit=3)
    address = "+447700900005"
    for _ in range(4):
        say(pipeline, "sim-sms", address, "thanks")  # over the limit: the notice, then silence
    assert say(pipeline, "sim-sms", address, "thanks") == []
    bodies = say(pipeline, "sim-sms", address, text)
    assert bodies and "999" in bodies[0][:40]
    assert assistant.received[-1] == text


def test_without_the_detector_only_the_phrases_get_through(make_pipeline, store, recogniser):
    # the control for the test above: the same message is silenced when the gateway has no detector
    bare = Recogniser(recogniser._forget, recogniser._emergency, detector=None)
    assert not bare.mentions_danger("he is coming back") and bare.mentions_danger("he is hitting me")


# ---- Telegram: the forget-me confirmation does not stay in her chat ------------------------------------------------
def test_the_telegram_forget_confirmation_is_deleted_after_a_short_time(make_pipeline, store):
    pipeline, _, phones = make_pipeline(lambda text, meta: rendered(store, "forget_me", "en", TELEGRAM)
                                        if text == "/forget_me" else rendered(store, "thanks", "en", TELEGRAM),
                                        forget_confirmation_seconds=0.2)
    phone = phones["sim-telegram"]
    address = "4242"

    async def scenario():
        await pipeline.handle(message("sim-telegram", address, "thanks"))
        before = phone.collect(address)
        await pipeline.handle(message("sim-telegram", address, command=FORGET))
        now = phone.collect(address)
        await asyncio.sleep(0.5)
        later = phone.collect(address)
        return before, now, later

    before, now, later = asyncio.run(scenario())
    confirmation = now["replies"][-1]
    assert confirmation["text"].startswith("<b>Done.") or confirmation["text"].startswith("Done.")
    assert [b["id"] for b in before["replies"]][0] in now["deleted"], "her chat's messages go first"
    assert confirmation["id"] not in now["deleted"], "the confirmation is there to read"
    assert later["deleted"] == [confirmation["id"]], "then it is deleted too"


def test_a_pending_confirmation_deletion_runs_at_shutdown(make_pipeline, store):
    pipeline, _, phones = make_pipeline(lambda text, meta: rendered(store, "forget_me", "en", TELEGRAM),
                                        forget_confirmation_seconds=3600)

    async def scenario():
        await pipeline.handle(message("sim-telegram", "77", command=FORGET))
        sent = phones["sim-telegram"].collect("77")
        await pipeline.close()
        return sent, phones["sim-telegram"].collect("77")

    sent, after_close = asyncio.run(scenario())
    assert after_close["deleted"] == [sent["replies"][-1]["id"]]


@pytest.mark.parametrize("text", [" /greet", "/greet", "\t//forget_me please", "\u00a0 / emergency", "\u200b/menu",
                                  "  /x my name is Amina"])
def test_her_text_never_reaches_the_assistant_as_a_slash_command(make_pipeline, store, text):
    pipeline, assistant, _ = make_pipeline(lambda t, meta: rendered(store, "fallback", "en"))
    say(pipeline, "sim-sms", "+447700900020", text)
    [received] = assistant.received
    assert not received.lstrip().startswith("/"), repr(received)
    assert "Amina" not in received  # and it is redacted on the way
