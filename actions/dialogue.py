"""What to answer, given the turn and the conversation so far: pure functions, no Rasa, no I/O.

Order of precedence, fixed because safety depends on it:
1. emergency, in whatever language is known (else the best guess, else the default), before anything else;
2. "forget me", always (it wipes the conversation, so no language is needed);
3. an explicit language choice (a language named, a number while the language menu is open);
4. Telegram's /start: the greeting (what the service is, 999), then the language list;
5. the first message's language: her phone's setting (Telegram), else what the message's script or words decide
   ("hola", Bengali script); a short message that decides nothing stays in the default language; a longer one is
   answered in the best guess when its topic is clear. A guess always ends with one line on how to change language
   ("Other language? Reply 0."). Only an unclear message in an unclear language gets the language list;
6. the topic: menu numbers, "more" and "I don't understand" on the last topic, the controls, low confidence ->
   fallback.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import FrozenSet, Mapping, Optional, Tuple

from bot.content.model import CONTROL_TOPICS, RIGHTS_TOPICS
from bot.content.store import ANSWER, LANGUAGE_MENU as THEN_LANGUAGE_MENU, MORE, PLAIN
from bot.languages import Languages, script_of

#: a message may set the language of a new conversation when the detector is at least this sure
FIRST_MESSAGE_MIN_CONFIDENCE = 0.4
#: a message may change the language of an ongoing conversation only when long and detected with confidence
SWITCH_MIN_CONFIDENCE = 0.8
SWITCH_MIN_WORDS = 4
#: up to this many words a message is too short for the detector: only its script or its words decide
SHORT_MAX_WORDS = 3
#: a first message in an unclear language is answered (in the best guess) when its topic is at least this sure
CLEAR_TOPIC_MIN_CONFIDENCE = 0.5

TOPIC_MENU = "topics"
LANGUAGE_MENU = "languages"
LANGUAGE_MENU_TOPIC = "language_menu"  # not a topic with an entry: the language list on its own
#: Telegram's /start, passed by the gateway as the ``command`` metadata
START = "start"
#: what the language detector says of a script or language the service does not speak (bot.nlu.detect)
UNSUPPORTED = frozenset({"unsupported-script", "unsupported-language"})

#: intents that are answered by the topic of the same name
_DIRECT = set(RIGHTS_TOPICS) | {"greet", "about_service", "goodbye", "thanks", "menu", "change_language"}
#: intents that say what she needs clearly enough to answer in a guessed language
_CLEAR = set(RIGHTS_TOPICS) | {"about_service"}


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
    #: the languages whose marker words or own letters the message uses ("hola" -> {"es"}, "zostałam" -> {"pl"})
    marked_languages: FrozenSet[str] = field(default_factory=frozenset)
    #: per language, how many of its words only that language's training examples use ("ayuda" -> {"es": 1})
    language_votes: Mapping[str, int] = field(default_factory=dict)
    #: the script of its letters (bot.languages LATIN, ARABIC, BENGALI) or None
    script: Optional[str] = None
    #: a gateway command (START) rather than her words
    command: Optional[str] = None
    #: how the detector decided: "char-ngrams", or "unsupported-script" / "unsupported-language" for a language the
    #: service does not speak
    detection_method: Optional[str] = None


@dataclass(frozen=True)
class Decision:
    """The answer to give and the state after it. ``topic`` is a topic id or LANGUAGE_MENU_TOPIC.

    ``variant`` is what of the entry to serve (ANSWER, MORE or PLAIN); ``language_line`` closes the answer with how
    to change language (the language was guessed); ``then`` overrides what follows the entry (the language list
    after /start's greeting).
    """

    topic: str
    language: str
    state: State
    variant: str = ANSWER
    forget: bool = False
    language_line: bool = False
    then: Optional[str] = None

    @property
    def follow_up(self) -> bool:
        return self.variant != ANSWER


def decide(turn: Turn, state: State, languages: Languages, topic_menu: Mapping[int, str]) -> Decision:
    """The one decision per user turn (see the module docstring for the order)."""
    language, guessed = _language_after(turn, state, languages)

    if turn.intent == "emergency":
        spoken = language or languages.default
        return Decision("emergency", spoken, replace(state, language=spoken, menu=TOPIC_MENU),
                        language_line=guessed or language is None)

    if turn.intent == "forget_me":  # always honoured, even before a language is known
        return Decision("forget_me", language or languages.default, State(), forget=True)

    chosen = _explicit_choice(turn, state, languages)
    if chosen:
        return Decision("greet", chosen, State(language=chosen, last_topic=state.last_topic, menu=TOPIC_MENU))

    if turn.command == START:
        hinted = turn.language_hint if turn.language_hint in languages.codes else state.language
        return Decision("greet", hinted or languages.default,
                        State(language=hinted, last_topic="greet", menu=LANGUAGE_MENU), then=THEN_LANGUAGE_MENU)

    if language is None:
        if not (turn.intent in _CLEAR and turn.confidence >= CLEAR_TOPIC_MIN_CONFIDENCE):
            return Decision(LANGUAGE_MENU_TOPIC, languages.default, replace(state, menu=LANGUAGE_MENU))
        # a clear question in a language we cannot tell for sure: the detector's best guess, else the default
        detected = turn.detected_language if turn.detected_language in languages.codes else None
        language, guessed = detected or languages.default, True

    topic, variant = _topic(turn, state, topic_menu)
    if topic == "forget_me":
        return Decision(topic, language, State(), forget=True)
    menu = LANGUAGE_MENU if topic == "change_language" else TOPIC_MENU
    return Decision(topic, language, State(language=language, last_topic=topic, menu=menu), variant,
                    language_line=guessed and topic != "change_language")


def _language_after(turn: Turn, state: State, languages: Languages) -> Tuple[Optional[str], bool]:
    """The conversation's language after this message (explicit choices aside), and whether it is a guess."""
    detected = turn.detected_language if turn.detected_language in languages.codes else None
    if state.language is not None:
        if (detected and detected != state.language and turn.detected_confidence >= SWITCH_MIN_CONFIDENCE
                and turn.words >= SWITCH_MIN_WORDS):
            return detected, False
        return state.language, False
    if turn.language_hint in languages.codes:
        # her phone's language setting counts as the conversation's language so far: a message overrides it
        # only on the bar a language switch has to clear ("hi" must not turn a Spanish phone's chat to Urdu)
        confident = (detected and turn.detected_confidence >= SWITCH_MIN_CONFIDENCE
                     and turn.words >= SWITCH_MIN_WORDS)
        return (detected if confident else turn.language_hint), False
    if turn.words <= SHORT_MAX_WORDS:
        return _short_first_message(turn, detected, languages)
    if detected and turn.detected_confidence >= SWITCH_MIN_CONFIDENCE:
        return detected, False
    if detected and turn.detected_confidence >= FIRST_MESSAGE_MIN_CONFIDENCE:
        return detected, True
    return None, True


def _short_first_message(turn: Turn, detected: Optional[str], languages: Languages) -> Tuple[Optional[str], bool]:
    """"hi", "ok", "help me": too short for the detector ("hi" reads as Urdu to it). Its words decide ("hola",
    "madad chahiye", "zostałam"), or its script ("আমি" can only be Bengali; Arabic script is Arabic or Urdu, and
    there the detector chooses between the two); otherwise the default language, as a guess."""
    decided = _decided_by_words(turn, languages)
    if decided:
        return decided, False
    if turn.detection_method in UNSUPPORTED:
        return None, True  # a language the service does not speak: the language list (it carries 999)
    default_profile = languages.get(languages.default)
    if turn.script and default_profile and turn.script != script_of(default_profile.endonym):
        same_script = [p.code for p in languages.profiles if script_of(p.endonym) == turn.script]
        if len(same_script) == 1:
            return same_script[0], False
        if detected in same_script and turn.detected_confidence >= FIRST_MESSAGE_MIN_CONFIDENCE:
            return detected, False
        if same_script:
            return None, True
    if detected in turn.marked_languages:  # words of two languages, the detector siding with one
        return detected, True
    return languages.default, True


def _decided_by_words(turn: Turn, languages: Languages) -> Optional[str]:
    """The one language her words point to: a marker word or a letter of its own counts one, and so does each word
    only that language's training examples use; a tie ("obrigada gracias") decides nothing."""
    votes = Counter({code: n for code, n in turn.language_votes.items() if code in languages.codes})
    votes.update(code for code in turn.marked_languages if code in languages.codes)
    ranked = votes.most_common(2)
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    return None


def _explicit_choice(turn: Turn, state: State, languages: Languages) -> Optional[str]:
    if turn.language_choice in languages.codes:
        return turn.language_choice
    if turn.intent == "choose_option" and state.menu == LANGUAGE_MENU and turn.option is not None:
        return languages.by_menu_number(turn.option)
    return None


def _topic(turn: Turn, state: State, topic_menu: Mapping[int, str]) -> Tuple[str, str]:
    """The topic to answer and what of it (ANSWER, MORE, PLAIN)."""
    intent = turn.intent
    last = state.last_topic
    if intent == "choose_option":
        return (topic_menu.get(turn.option, "fallback") if turn.option is not None else "menu"), ANSWER
    if intent == "follow_up":
        if last in RIGHTS_TOPICS and last != "forget_me":
            return last, MORE
        return "menu", ANSWER
    if intent == "simpler":
        # "I don't understand": the same answer in the simplest words, never the longer one
        if last in RIGHTS_TOPICS and last != "forget_me" or last in CONTROL_TOPICS:
            return last, PLAIN
        return "about_service", ANSWER
    if intent == "affirm":
        # "yes" after "I'm not sure... would you like a person?" means the person
        return ("talk_to_person" if last == "fallback" else "menu"), ANSWER
    if intent == "deny":
        return "goodbye", ANSWER
    if intent in _DIRECT:
        return intent, ANSWER
    return "fallback", ANSWER  # nlu_fallback, out_of_scope, anything unknown
