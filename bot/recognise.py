"""The two things the gateway recognises by itself, without Rasa: "forget me" and danger.

Both must work when Rasa is down or when she is being rate-limited, so they are plain phrase matches over data the
project already keeps: the ``forget_me`` examples of data/nlu/<lang>.yml (a whole message that is one of them is a
forget command) and the ``emergency_phrases`` of locales/<lang>/_language.yml (a message containing one is let
through any rate limit). New languages add to both by adding data.
"""
from __future__ import annotations

from pathlib import Path
from typing import FrozenSet, Tuple

import yaml

from bot.languages import Languages, normalise


class Recogniser:
    def __init__(self, forget_phrases: FrozenSet[str], emergency_phrases: Tuple[str, ...]) -> None:
        self._forget = forget_phrases
        self._emergency = emergency_phrases

    @classmethod
    def load(cls, languages: Languages, nlu_dir: Path) -> "Recogniser":
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
        return cls(frozenset(forget), emergency)

    def is_forget(self, text: str) -> bool:
        """The whole message is a way of saying "forget me" (any supported language, accents and case ignored)."""
        return normalise(text) in self._forget

    def mentions_danger(self, text: str) -> bool:
        """The message contains one of the per-language danger phrases ("he is hitting me", "me está pegando")."""
        padded = f" {normalise(text)} "
        return any(phrase in padded for phrase in self._emergency)

    @property
    def forget_phrase_count(self) -> int:
        return len(self._forget)
