"""Rasa graph components, named in config.yml as ``bot.nlu.components.<Name>``:

- NormalisingTokenizer: whitespace tokens whose lemmas are lowercased and stripped of Latin accents;
- LanguageDetector: adds the message's language (trained with the model on data/nlu/<lang>.yml);
- IntentEnsemble: averages DIET's intent ranking with a second, tf-idf logistic regression's (trained with the model);
- EmergencyDetector: a second, independent emergency model (trained with the model);
- SafetySignals: runs last; emergency first, then noise, menu numbers and language names.
"""
from __future__ import annotations

import pickle
from collections import Counter
import unicodedata
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.languages import Languages, load_languages, normalise
from bot.nlu import detect
from bot.nlu.emergency import ARCHIVE_FILE as _EMERGENCY_FILE
from bot.nlu.emergency import THRESHOLD as _DETECTOR_THRESHOLD
from bot.nlu.emergency import EmergencyDetector as _EmergencyModel
from bot.nlu.intents import IntentModel
from bot.settings import ROOT

LANGUAGE = "language"  # the parse-data key the detector adds: {"code", "confidence", "method", "words"}
SIGNALS = "signals"  # the parse-data key the safety component adds: {"emergency"?, "option"?, "language_choice"?}
EMERGENCY_SCORE = "emergency_score"  # the second emergency detector's probability (not in the parse output)
DIET_EMERGENCY = "diet_emergency"  # DIET's own emergency confidence, before the ensemble averages it


def _path(config: Dict[Text, Any], key: str) -> Path:
    path = Path(config[key])
    return path if path.is_absolute() else ROOT / path


def _save(model_storage: ModelStorage, resource: Resource, filename: str, obj: Any) -> None:
    with model_storage.write_to(resource) as directory:
        with open(directory / filename, "wb") as handle:
            pickle.dump(obj, handle)


def _load(model_storage: ModelStorage, resource: Resource, filename: str) -> Any:
    with model_storage.read_from(resource) as directory:
        with open(directory / filename, "rb") as handle:
            return pickle.load(handle)  # our own model archive, written by _save at training time


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class NormalisingTokenizer(WhitespaceTokenizer):
    """Rasa's whitespace tokenizer, with each token's lemma lowercased and stripped of Latin accents.

    The featurizers read lemmas, so "policía", "Policia" and "POLICIA" become one feature: users type without
    accents, in capitals, or both, and the training data cannot list every spelling.
    """

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = normalise(token.text) or token.text.lower()
        return tokens


class _TrainedComponent(GraphComponent):
    """A component whose state is one model of ours, fitted at training time and pickled into the Rasa model's
    storage under ``FILE``; subclasses say how to ``fit`` it and how to ``process`` with it."""

    FILE = ""

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "_TrainedComponent":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "_TrainedComponent":
        return cls(config, model_storage, resource, _load(model_storage, resource, cls.FILE))

    def train(self, training_data: TrainingData) -> Resource:
        self._model = self.fit(training_data)
        _save(self._model_storage, self._resource, self.FILE, self._model)
        return self._resource

    def fit(self, training_data: TrainingData) -> Any:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.process_one(message)
        return messages

    def process_one(self, message: Message) -> None:
        raise NotImplementedError

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _intent_examples(training_data: TrainingData) -> List[Message]:
    return [m for m in training_data.intent_examples if m.get(TEXT)]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class LanguageDetector(_TrainedComponent):
    """Adds the message's language to the parse data; trained on data/nlu/<lang>.yml (file = language)."""

    FILE = "language_detector.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"nlu_dir": "data/nlu", "locales_dir": "locales"}

    def fit(self, training_data: TrainingData) -> detect.LanguageDetector:
        languages = load_languages(_path(self._config, "locales_dir"))
        texts, labels = detect.examples_by_language(_path(self._config, "nlu_dir"), languages.codes)
        return detect.LanguageDetector.fit(texts, labels, languages.codes)

    def process_one(self, message: Message) -> None:
        result = self._model.detect(message.get(TEXT) or "") if self._model else None
        message.set(LANGUAGE, result.as_dict() if result else {"code": None, "confidence": 0.0},
                    add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class IntentEnsemble(_TrainedComponent):
    """Runs after DIET: the intent becomes the best of the equal-weight average of DIET's ranking and an independent
    tf-idf logistic regression's (bot.nlu.intents). DIET's own emergency confidence is kept for SafetySignals, so
    averaging can never hide an emergency DIET saw."""

    FILE = "intent_model.pkl"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"weight": 0.5, "ranking_length": 10}

    def fit(self, training_data: TrainingData) -> IntentModel:
        examples = _intent_examples(training_data)
        return IntentModel.fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])

    def process_one(self, message: Message) -> None:
        weight, length = float(self._config["weight"]), int(self._config["ranking_length"])
        diet = {r["name"]: float(r.get("confidence") or 0.0) for r in message.get(INTENT_RANKING_KEY) or []}
        message.set(DIET_EMERGENCY, diet.get("emergency", 0.0))
        other = self._model.probabilities(message.get(TEXT) or "") if self._model else {}
        if not other:
            return
        combined = {name: (1 - weight) * diet.get(name, 0.0) + weight * other.get(name, 0.0)
                    for name in set(diet) | set(other)}
        ranking = sorted(combined.items(), key=lambda item: item[1], reverse=True)[:length]
        message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking], add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class EmergencyDetector(_TrainedComponent):
    """Scores each message with an independent emergency-vs-rest model trained on the same examples."""

    FILE = _EMERGENCY_FILE

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def fit(self, training_data: TrainingData) -> _EmergencyModel:
        examples = _intent_examples(training_data)
        return _EmergencyModel.fit([m.get(TEXT) for m in examples], [m.get(INTENT) == "emergency" for m in examples])

    def process_one(self, message: Message) -> None:
        message.set(EMERGENCY_SCORE, self._model.score(message.get(TEXT) or "") if self._model else 0.0)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetySignals(GraphComponent):
    """Runs last. Emergency first: a danger phrase in any supported language, enough emergency probability from
    DIET, or the independent EmergencyDetector's vote makes the intent ``emergency`` whatever else was predicted.
    Then noise becomes the fallback, and the cheap exact signals apply: a bare menu number ("3", "৩", "option 3"),
    0 for the language list, the word the SMS answers give for more ("MORE", "MAS"), and a short message that names
    a language ("español", "urdu mein").
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"locales_dir": "locales", "emergency_threshold": 0.3, "detector_threshold": _DETECTOR_THRESHOLD,
                "max_option": 20}

    def __init__(self, config: Dict[Text, Any], languages: Languages) -> None:
        self._threshold = float(config["emergency_threshold"])
        self._detector_threshold = float(config["detector_threshold"])
        self._max_option = int(config["max_option"])
        self._languages = languages
        self._phrases = sorted({normalise(p) for prof in languages.profiles for p in prof.emergency_phrases
                                if normalise(p)})

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SafetySignals":
        return cls(config, load_languages(_path(config, "locales_dir")))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        norm = normalise(text)
        signals: Dict[str, Any] = {}
        intent = message.get(INTENT) or {}
        ranking = message.get(INTENT_RANKING_KEY) or []
        emergency_confidence = max([r.get("confidence", 0.0) for r in ranking if r.get("name") == "emergency"]
                                   + [float(message.get(DIET_EMERGENCY) or 0.0)])
        phrase = self.emergency_phrase(norm) or ("help-now" if self._languages.cries_for_help_now(text) else None)
        detector = float(message.get(EMERGENCY_SCORE) or 0.0)
        by_model = intent.get("name") == "emergency" or emergency_confidence >= self._threshold
        if phrase or by_model or detector >= self._detector_threshold:
            signals["emergency"] = "phrase" if phrase else "model" if by_model else "detector"
            confidence = 1.0 if phrase else max(emergency_confidence, detector)
            message.set(INTENT, {"name": "emergency", "confidence": confidence}, add_to_output=True)
        elif looks_like_noise(norm):
            signals["noise"] = True
            message.set(INTENT, {"name": "nlu_fallback", "confidence": 0.0}, add_to_output=True)
        else:
            option = menu_option(norm)
            # a language named in a short message is a choice ("español", "urdu mein"), or in a request to change
            # language; not in "who won the polski match?"
            words = len(norm.split())
            choice = (self._languages.named_in(text)
                      if words <= 2 or (words <= 5 and intent.get("name") == "change_language") else None)
            if option == 0:  # "Other language? Reply 0." (the line under an answer in a guessed language)
                signals["language_menu"] = True
                message.set(INTENT, {"name": "change_language", "confidence": 1.0}, add_to_output=True)
            elif option is not None and 1 <= option <= self._max_option:
                signals["option"] = option
                message.set(INTENT, {"name": "choose_option", "confidence": 1.0}, add_to_output=True)
            elif self._languages.asks_for_more(text):  # "Reply MORE for details." in her language
                signals["more"] = True
                message.set(INTENT, {"name": "follow_up", "confidence": 1.0}, add_to_output=True)
            elif choice:
                signals["language_choice"] = choice
                message.set(INTENT, {"name": "change_language", "confidence": 1.0}, add_to_output=True)
        message.set(SIGNALS, signals, add_to_output=True)

    def emergency_phrase(self, norm: str) -> Optional[str]:
        padded = f" {norm} "
        return next((p for p in self._phrases if f" {p} " in padded), None)


def looks_like_noise(norm: str) -> bool:
    """Keyboard mashing, one character held down, a pasted blob: no word of a plausible length, or one character
    making up most of a long text. Answered with "I'm not sure" rather than whatever topic its n-grams resemble.
    """
    letters = [ch for ch in norm if ch.isalpha()]
    if len(letters) < 12:
        return False
    if not any(2 <= len(word) <= 25 for word in norm.split()):
        return True
    most_common = Counter(letters).most_common(1)[0][1]
    return most_common / len(letters) > 0.5


def menu_option(norm: str) -> Optional[int]:
    """The number in a short reply that is a menu choice: "3", "٣", "৩", "option 3", "no. 3 pls"."""
    words = norm.split()
    if not words or len(words) > 3:
        return None
    numbers = [w for w in words if w.isdigit()]
    if len(numbers) != 1 or len(numbers[0]) > 2:
        return None
    return int("".join(str(unicodedata.digit(ch)) for ch in numbers[0]))
