"""The supported languages, as data: locales/languages.yml plus each language's locales/<code>/_language.yml.

Used at training time by the NLU components (markers, emergency phrases, names) and at run time by the action
server (the language menu, explicit choices). Adding a language never touches this module.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

import yaml


class LanguageConfigError(ValueError):
    """locales/languages.yml or a _language.yml is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class LanguageProfile:
    """How one language is named and recognised."""

    code: str
    name: str
    endonym: str
    aliases: Tuple[str, ...]
    markers: Tuple[str, ...]
    emergency_phrases: Tuple[str, ...]
    #: the word her SMS answers tell her to send for the next detail ("MORE", "MAS"): always a follow-up
    more_words: Tuple[str, ...] = ()
    #: letters only this language writes, of those supported ("ł", "ă", "ے"): a message using one is in it
    letters: Tuple[str, ...] = ()
    #: a cry for help ("help me", "ayúdame") and a word for now ("now", "daba"): together, an emergency
    help_words: Tuple[str, ...] = ()
    now_words: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Languages:
    """The supported languages in menu order, and the default."""

    profiles: Tuple[LanguageProfile, ...]
    default: str
    #: the language list's last line, for any language (locales/languages.yml ``menu_last_line``: "SOS 999")
    menu_last_line: str = ""

    @property
    def codes(self) -> Tuple[str, ...]:
        return tuple(p.code for p in self.profiles)

    def get(self, code: str) -> Optional[LanguageProfile]:
        return next((p for p in self.profiles if p.code == code), None)

    def menu_text(self) -> str:
        """The language menu: each option in its own language, numbered, one per line, then the last line (999:
        whoever cannot read any of them can still see the emergency number)."""
        lines = [f"{i} {p.endonym}" for i, p in enumerate(self.profiles, start=1)]
        return "\n".join(lines + ([self.menu_last_line] if self.menu_last_line else []))

    def by_menu_number(self, number: int) -> Optional[str]:
        return self.profiles[number - 1].code if 1 <= number <= len(self.profiles) else None

    def marked_in(self, text: str) -> FrozenSet[str]:
        """The languages whose marker words or own letters (locales/<code>/_language.yml) a message uses:
        "hola" -> {"es"}, "zostałam" -> {"pl"} (letters are looked for before accents are stripped)."""
        words = set(normalise(text).split())
        lowered = text.lower()
        return frozenset(p.code for p in self.profiles
                         if words & _normalised(p.markers) or any(letter in lowered for letter in p.letters))

    def cries_for_help_now(self, text: str) -> bool:
        """A cry for help and a word for "now" in one message, in any of the languages, mixed or not ("help me
        now", "3awnini daba", "ayudame ya"): an emergency whatever else it says."""
        padded = f" {normalise(text)} "
        helps = (w for p in self.profiles for w in _normalised(p.help_words))
        if not any(f" {w} " in padded for w in helps):
            return False
        return any(f" {w} " in padded for p in self.profiles for w in _normalised(p.now_words))

    def asks_for_more(self, text: str) -> bool:
        """The whole message is one of the "more" words the SMS answers tell her to send, in any language."""
        norm = normalise(text)
        return bool(norm) and any(norm in _normalised(p.more_words) for p in self.profiles)

    def named_in(self, text: str) -> Optional[str]:
        """The language a short message names ("español", "in urdu please"), if exactly one is named."""
        words = normalise(text).split()
        if not words or len(words) > 6:
            return None
        joined = f" {' '.join(words)} "
        found = {p.code for p in self.profiles for alias in p.aliases if f" {normalise(alias)} " in joined}
        return found.pop() if len(found) == 1 else None


_LATIN_MARKS = re.compile(r"[\u0300-\u036f]")

#: the scripts a message can be written in; a non-Latin script narrows its language on its own
LATIN, ARABIC, BENGALI = "latin", "arabic", "bengali"
#: a letter of the Arabic script (Arabic and Urdu, with the presentation forms phones may send)
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_SCRIPTS = ((ARABIC, ARABIC_LETTER),
            (BENGALI, re.compile(r"[\u0980-\u09ff]")),
            (LATIN, re.compile(r"[A-Za-z\u00c0-\u024f]")))


def script_of(text: str) -> Optional[str]:
    """The script most of a message's letters are in (LATIN, ARABIC, BENGALI), or None (no letters, or another)."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _SCRIPTS}
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count else None


@functools.lru_cache(maxsize=64)
def _normalised(words: Tuple[str, ...]) -> FrozenSet[str]:
    return frozenset(normalise(w) for w in words if normalise(w))


def normalise(text: str) -> str:
    """Lowercase, strip Latin accents (not the vowel signs of other scripts), drop punctuation, squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = _LATIN_MARKS.sub("", decomposed)
    recomposed = unicodedata.normalize("NFKC", stripped)
    # keep letters, marks (Bengali and Urdu vowel signs are marks) and digits; everything else separates words
    kept = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in recomposed)
    return " ".join(kept.split())


def load_languages(locales_dir: Path) -> Languages:
    """Read the language list and every language's profile; fails naming the file that is wrong."""
    index = locales_dir / "languages.yml"
    try:
        config = yaml.safe_load(index.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LanguageConfigError(f"{index}: cannot read the language list ({exc.__class__.__name__}).") from exc
    codes: List[str] = list(config.get("supported") or [])
    default = config.get("default")
    if not codes or default not in codes:
        raise LanguageConfigError(f"{index}: needs 'supported' (a list of codes) and a 'default' among them.")
    return Languages(tuple(_load_profile(locales_dir, code) for code in codes), default,
                     str(config.get("menu_last_line") or "").strip())


def _load_profile(locales_dir: Path, code: str) -> LanguageProfile:
    path = locales_dir / code / "_language.yml"
    try:
        data: Dict = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return LanguageProfile(
            code=code,
            name=str(data["name"]),
            endonym=str(data["endonym"]),
            aliases=_strings(data.get("aliases", [])),
            markers=_strings(data.get("markers", [])),
            emergency_phrases=_strings(data.get("emergency_phrases", [])),
            more_words=_strings(data.get("more_words", [])),
            letters=_strings(data.get("letters", [])),
            help_words=_strings(data.get("help_words", [])),
            now_words=_strings(data.get("now_words", [])),
        )
    except FileNotFoundError:
        raise LanguageConfigError(f"{path} is missing: every supported language needs one (see docs/content.md).") from None
    except (KeyError, TypeError, yaml.YAMLError) as exc:
        raise LanguageConfigError(f"{path}: malformed or missing field ({exc}).") from exc


def _strings(values: Iterable) -> Tuple[str, ...]:
    return tuple(str(v).strip().lower() for v in values if str(v).strip())
