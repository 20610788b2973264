"""What the content may never say, per language: locales/<lang>/_promises.yml.

Some sentences would be false promises to a woman deciding whether to go to the police: "the police will not check
your status", "legal aid will pay", "this service is confidential", "pressing 55 tells them where you are". Each
language lists the ways its own text could say them (content-facts §1, §3, §8 and "What the service itself may
promise"), and `python -m bot content check` fails when any entry or service string contains one. Phrases are
compared without case, accents or punctuation, on word boundaries. The same file lists spellings without their
accents that a Telegram (full) form must not use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import yaml

from bot.languages import normalise


@dataclass(frozen=True)
class Promises:
    """One language's forbidden phrases (by category) and accentless spellings."""

    language: str
    forbidden: Mapping[str, Tuple[str, ...]]
    misspellings: Tuple[str, ...]
    path: str = ""

    def broken_by(self, text: str) -> List[str]:
        """The forbidden phrases ``text`` contains."""
        padded = f" {normalise(text)} "
        return [phrase for phrases in self.forbidden.values() for phrase in phrases
                if f" {normalise(phrase)} " in padded]

    def misspelt_in(self, text: str) -> List[str]:
        """The accentless spellings ``text`` uses (compared as written, case aside: "policia" but not "policía")."""
        words = set(re.findall(r"[^\W\d_]+", text.lower()))
        return [word for word in self.misspellings if word.lower() in words]


def load_promises(locales_dir: Path, code: str) -> Promises:
    """Read locales/<code>/_promises.yml; ValueError naming the file when it is missing or malformed."""
    path = locales_dir / code / "_promises.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ValueError(f"{path}: missing: every language lists the promises its text may not make") from None
    except yaml.YAMLError:
        raise ValueError(f"{path}: is not valid YAML") from None
    forbidden: Dict[str, Tuple[str, ...]] = {}
    for category, phrases in (data.get("forbidden") or {}).items():
        forbidden[str(category)] = tuple(str(p).strip() for p in (phrases or []) if normalise(str(p)))
    misspellings = tuple(str(w).strip() for w in (data.get("telegram_misspellings") or []) if str(w).strip())
    return Promises(code, forbidden, misspellings, str(path))
