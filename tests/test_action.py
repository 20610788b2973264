"""action_answer on its own: reads parse data and slots, answers from locales/, returns the new slots."""
import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionAnswer
from bot.settings import Settings


def _tracker(text, intent, slots=None, language=None, signals=None, metadata=None, confidence=0.95):
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": [],
              "language": language or {}, "signals": signals or {}, "metadata": metadata or {}}
    return Tracker("test-sender", slots or {}, latest, [], False, None, {}, "action_listen")


def _run(store, tracker, serve_drafts=True):
    action = ActionAnswer(store, Settings(serve_drafts=serve_drafts))
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return [m["custom"] for m in dispatcher.messages], events


def test_answers_from_locales_with_metadata(store):
    payloads, events = _run(store, _tracker("si llamo a la policia", "police_immigration",
                                           language={"code": "es", "confidence": 0.97, "words": 5}))
    [payload] = payloads
    entry = store.entry("es", "police_immigration")
    assert payload["text"].startswith(entry.sms)
    assert payload["topic"] == "police_immigration" and payload["language"] == "es"
    assert payload["content_id"] == entry.content_id and payload["status"] == "unreviewed-translation"
    assert payload["confidence"] == pytest.approx(0.95)
    assert SlotSet("language", "es") in events and SlotSet("last_topic", "police_immigration") in events


def test_telegram_metadata_selects_the_full_form(store):
    [payload], _ = _run(store, _tracker("trafficking?", "trafficking", slots={"language": "en"},
                                        metadata={"channel": "telegram"}))
    assert payload["text"] == store.entry("en", "trafficking").full


def test_forget_me_restarts_the_conversation(store):
    payloads, events = _run(store, _tracker("forget me", "forget_me", slots={"language": "en", "menu": "topics"}))
    assert payloads[0]["topic"] == "forget_me"
    assert events == [Restarted()]


def test_production_withholds_unvetted_answers(store):
    [payload], _ = _run(store, _tracker("x", "healthcare", slots={"language": "en"}), serve_drafts=False)
    assert payload["status"] == "withheld" and "999" in payload["text"]


def test_unknown_first_language_gets_the_multilingual_menu(store):
    [payload], events = _run(store, _tracker("привет", "greet", language={"code": None, "confidence": 0.0,
                                                                          "method": "unsupported-script"}))
    assert payload["text"] == store.languages.menu_text()
    assert SlotSet("menu", "languages") in events
