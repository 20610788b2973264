"""``action_answer``: turns the NLU result and the slots into a decision (actions.dialogue) and the decision into
replies from locales/ (bot.content). It never composes answer text itself.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import LANGUAGE_MENU_TOPIC, State, Turn, decide
from bot.content.store import CHANNELS, SMS, ContentStore
from bot.languages import Languages, script_of
from bot.settings import Settings

logger = logging.getLogger(__name__)


class ActionAnswer(Action):
    """The one action: every user turn is answered here."""

    def __init__(self, store: ContentStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        latest = tracker.latest_message or {}
        turn = turn_from_parse_data(latest, self._store.languages)
        state = State(tracker.get_slot("language"), tracker.get_slot("last_topic"), tracker.get_slot("menu"))
        decision = decide(turn, state, self._store.languages, self._store.menu)
        channel = (latest.get("metadata") or {}).get("channel")
        channel = channel if channel in CHANNELS else SMS

        if decision.topic == LANGUAGE_MENU_TOPIC:
            replies = [self._store.language_menu()]
        else:
            replies = self._store.render(decision.topic, decision.language, channel, self._settings.serve_drafts,
                                         variant=decision.variant, language_line=decision.language_line,
                                         then=decision.then)
        for reply in replies:
            dispatcher.utter_message(json_message={**reply.as_payload(), "intent": turn.intent,
                                                   "confidence": round(turn.confidence, 4),
                                                   "follow_up": decision.follow_up})
        logger.info("answered topic=%s language=%s channel=%s variant=%s language_line=%s", decision.topic,
                    decision.language, channel, decision.variant, decision.language_line)
        if decision.forget:
            return [Restarted()]
        return [SlotSet("language", decision.state.language), SlotSet("last_topic", decision.state.last_topic),
                SlotSet("menu", decision.state.menu)]


def turn_from_parse_data(latest: Dict[Text, Any], languages: Languages) -> Turn:
    """Read what the NLU pipeline (and our components' ``language`` and ``signals`` keys) said of the message, and
    which languages its words and script point to (the text Rasa holds is already redacted by the gateway)."""
    intent = latest.get("intent") or {}
    language = latest.get("language") or {}
    signals = latest.get("signals") or {}
    metadata = latest.get("metadata") or {}
    text = str(latest.get("text") or "")
    command = metadata.get("command")
    return Turn(
        intent=str(intent.get("name") or "nlu_fallback"),
        confidence=float(intent.get("confidence") or 0.0),
        detected_language=language.get("code"),
        detected_confidence=float(language.get("confidence") or 0.0),
        words=int(language.get("words") or 0),
        option=signals.get("option"),
        language_choice=signals.get("language_choice"),
        language_hint=metadata.get("language_hint"),
        marked_languages=languages.marked_in(text),
        script=script_of(text),
        command=str(command) if command else None,
        detection_method=language.get("method"),
        language_votes={str(k): int(v) for k, v in (language.get("votes") or {}).items()},
    )
