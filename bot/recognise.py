"""The two things the gateway recognises by itself, without Rasa: "forget me" and danger.

Both must work when Rasa is down or when she is being rate-limited. "Forget me" is a phrase match over the
``forget_me`` examples of data/nlu/<lang>.yml (a whole message that is one of them is a forget command). Danger is
what the assistant itself would call an emergency without its DIET classifier: a per-language danger phrase
(``emergency_phrases`` of locales/<lang>/_language.yml) or the independent emergency detector trained with the model
(bot.nlu.emergency, read from the model archive). A message either flags is let through any rate limit. New
languages add to both by adding data.
"""
from __future__ import annotations

import logging
import tarfile
from pathlib import Path
from typing import FrozenSet, Optional, Tuple

import yaml

from bot.languages import Languages, normalise
from bot.nlu.emergency import EmergencyDetector, load_from_model

logger = logging.getLogger(__name__)


class Recogniser:
    def __init__(self, forget_phrases: FrozenSet[str], emergency_phrases: Tuple[str, ...],
                 detector: Optional[EmergencyDetector] = None, languages: Optional[Languages] = None) -> None:
        self._forget = forget_phrases
        self._emergency = emergency_phrases
        self._detector = detector
        self._languages = languages

    @classmethod
    def load(cls, languages: Languages, nlu_dir: Path, model: Optional[Path] = None) -> "Recogniser":
        forget = set()
        for code in languages.codes:
            path = nlu_dir / f"{code}.yml"
            if not path.exists():
                continue
            for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
                if block.get("intent") == "forget_me":
                    for line in str(block.get("examples", "")).splitlines():
                        phrase = normalise(line.strip().lstrip("-").strip())
                        if phrase:
                            forget.add(phrase)
        emergency = tuple(sorted({f" {normalise(p)} " for profile in languages.profiles
                                  for p in profile.emergency_phrases if normalise(p)}))
        detector = None
        if model is not None:
            try:
                detector = load_from_model(model)
            except (OSError, tarfile.TarError) as exc:  # no model, or a damaged archive
                logger.warning("event=danger_detector_missing error=%s: only the danger phrases exempt a message "
                               "from the rate limit; train the model (python -m bot train)", exc.__class__.__name__)
        return cls(frozenset(forget), emergency, detector, languages)

    def is_forget(self, text: str) -> bool:
        """The whole message is a way of saying "forget me" (any supported language, accents and case ignored)."""
        return normalise(text) in self._forget

    def mentions_danger(self, text: str) -> bool:
        """A danger phrase ("he is hitting me", "me está pegando"), a cry for help with "now" ("3awnini daba"), or
        the emergency detector flags the message ("he is coming back")."""
        padded = f" {normalise(text)} "
        if any(phrase in padded for phrase in self._emergency):
            return True
        if self._languages is not None and self._languages.cries_for_help_now(text):
            return True
        return self._detector is not None and self._detector.flags(text)

    @property
    def forget_phrase_count(self) -> int:
        return len(self._forget)
