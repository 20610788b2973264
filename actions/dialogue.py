"""What to answer, given the turn and the conversation so far: pure functions, no Rasa, no I/O.

Order of precedence, fixed because safety depends on it:
1. emergency, in whatever language is known (else the default), before anything else;
2. "forget me", always (it wipes the conversation, so no language is needed);
3. an explicit language choice (a language named, or a number while the language menu is open);
4. an unknown language on the first message: the language menu (a Telegram client language hint is used first);
5. the topic: menu numbers, follow-ups on the last topic, the controls, low confidence -> fallback.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Optional

from bot.content.model import RIGHTS_TOPICS
from bot.languages import Languages

#: a message may set the language of a new conversation when the detector is at least this sure
FIRST_MESSAGE_MIN_CONFIDENCE = 0.4
#: a message may change the language of an ongoing conversation only when long and detected with confidence
SWITCH_MIN_CONFIDENCE = 0.8
SWITCH_MIN_WORDS = 4

TOPIC_MENU = "topics"
LANGUAGE_MENU = "languages"
LANGUAGE_MENU_TOPIC = "language_menu"  # not a topic with an entry: the language list on its own

#: intents that are answered by the topic of the same name
_DIRECT = set(RIGHTS_TOPICS) | {"greet", "goodbye", "thanks", "menu", "change_language"}


@dataclass(frozen=True)
class State:
    """The slots action_answer keeps."""

    language: Optional[str] = None
    last_topic: Optional[str] = None
    menu: Optional[str] = None


@dataclass(frozen=True)
class Turn:
    """What NLU made of one message."""

    intent: str
    confidence: float
    detected_language: Optional[str] = None
    detected_confidence: float = 0.0
    words: int = 0
    option: Optional[int] = None
    language_choice: Optional[str] = None
    language_hint: Optional[str] = None


@dataclass(frozen=True)
class Decision:
    """The answer to give and the state after it. ``topic`` is a topic id or LANGUAGE_MENU_TOPIC."""

    topic: str
    language: str
    state: State
    follow_up: bool = False
    forget: bool = False


def decide(turn: Turn, state: State, languages: Languages, topic_menu: Mapping[int, str]) -> Decision:
    """The one decision per user turn (see the module docstring for the order)."""
    language = _language_after(turn, state, languages)

    if turn.intent == "emergency":
        spoken = language or languages.default
        return Decision("emergency", spoken, replace(state, language=spoken, menu=TOPIC_MENU))

    if turn.intent == "forget_me":  # always honoured, even before a language is known
        return Decision("forget_me", language or languages.default, State(), forget=True)

    chosen = _explicit_choice(turn, state, languages)
    if chosen:
        return Decision("greet", chosen, State(language=chosen, last_topic=state.last_topic, menu=TOPIC_MENU))

    if language is None:
        return Decision(LANGUAGE_MENU_TOPIC, languages.default, replace(state, menu=LANGUAGE_MENU))

    topic, follow_up = _topic(turn, state, topic_menu)
    if topic == "forget_me":
        return Decision(topic, language, State(), forget=True)
    menu = LANGUAGE_MENU if topic == "change_language" else TOPIC_MENU
    return Decision(topic, language, State(language=language, last_topic=topic, menu=menu), follow_up)


def _language_after(turn: Turn, state: State, languages: Languages) -> Optional[str]:
    """The conversation's language after this message, ignoring explicit choices (handled separately)."""
    detected = turn.detected_language if turn.detected_language in languages.codes else None
    if state.language is None:
        if turn.language_hint in languages.codes:
            # her phone's language setting counts as the conversation's language so far: a message overrides it
            # only on the bar a language switch has to clear ("hi" must not turn a Spanish phone's chat to Urdu)
            confident = (detected and turn.detected_confidence >= SWITCH_MIN_CONFIDENCE
                         and turn.words >= SWITCH_MIN_WORDS)
            return detected if confident else turn.language_hint
        if detected and turn.detected_confidence >= FIRST_MESSAGE_MIN_CONFIDENCE:
            return detected
        return None
    if (detected and detected != state.language and turn.detected_confidence >= SWITCH_MIN_CONFIDENCE
            and turn.words >= SWITCH_MIN_WORDS):
        return detected
    return state.language


def _explicit_choice(turn: Turn, state: State, languages: Languages) -> Optional[str]:
    if turn.language_choice in languages.codes:
        return turn.language_choice
    if turn.intent == "choose_option" and state.menu == LANGUAGE_MENU and turn.option is not None:
        return languages.by_menu_number(turn.option)
    return None


def _topic(turn: Turn, state: State, topic_menu: Mapping[int, str]) -> "tuple[str, bool]":
    intent = turn.intent
    if intent == "choose_option":
        return (topic_menu.get(turn.option, "fallback") if turn.option is not None else "menu"), False
    if intent == "follow_up":
        if state.last_topic in RIGHTS_TOPICS and state.last_topic not in ("forget_me", "emergency"):
            return state.last_topic, True
        if state.last_topic == "emergency":
            return "emergency", True
        return "menu", False
    if intent == "affirm":
        # "yes" after "I'm not sure... would you like a person?" means the person
        return ("talk_to_person" if state.last_topic == "fallback" else "menu"), False
    if intent == "deny":
        return "goodbye", False
    if intent in _DIRECT:
        return intent, False
    return "fallback", False  # nlu_fallback, out_of_scope, anything unknown
