"""Loads locales/ and renders a topic for a channel: the only place an answer's text comes from."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

from bot.content.model import TOPICS, Entry, ReviewStatus, entry_from_mapping
from bot.languages import Languages, load_languages

logger = logging.getLogger(__name__)

SMS = "sms"
TELEGRAM = "telegram"
CHANNELS = (SMS, TELEGRAM)

#: replies made of an entry followed by a second message: greeting and fallback show the topic menu,
#: change_language shows the language list (a separate SMS each, so each keeps its own segment budget)
FOLLOWED_BY: Mapping[str, str] = {"greet": "menu", "fallback": "menu", "change_language": "language_menu"}


class ContentError(RuntimeError):
    """locales/ cannot serve: the message lists the files and what to fix (``python -m bot content check``)."""


@dataclass(frozen=True)
class Reply:
    """One outgoing message with the machine-readable metadata the gateway strips before sending."""

    text: str
    topic: str
    language: str
    content_id: str
    status: str

    def as_payload(self) -> Dict[str, str]:
        return {"text": self.text, "topic": self.topic, "language": self.language,
                "content_id": self.content_id, "status": self.status}


@dataclass(frozen=True)
class UiStrings:
    """The few service strings of one language (locales/<lang>/_ui.yml), with their own review record."""

    language: str
    status: ReviewStatus
    strings: Mapping[str, str]
    path: str

    def get(self, key: str) -> str:
        return str(self.strings.get(key, "")).strip()


@dataclass
class ContentStore:
    """Every entry of every supported language, the menu order and the checked numbers."""

    languages: Languages
    entries: Dict[Tuple[str, str], Entry]
    ui: Dict[str, UiStrings]
    menu: Dict[int, str]
    numbers: Dict[str, Mapping]
    problems: List[Tuple[str, str]]  # (file, what is wrong) found while loading

    # ---- loading ----------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, locales_dir: Path, strict: bool = True) -> "ContentStore":
        """Load everything; with ``strict`` a broken file stops start-up with the list of what to fix."""
        languages = load_languages(locales_dir)
        problems: List[Tuple[str, str]] = []
        entries: Dict[Tuple[str, str], Entry] = {}
        ui: Dict[str, UiStrings] = {}
        for code in languages.codes:
            for topic in TOPICS:
                path = locales_dir / code / f"{topic}.yml"
                data = _read(path, problems)
                if data is None:
                    continue
                try:
                    entry = entry_from_mapping(data, str(path))
                except KeyError as exc:
                    problems.append((str(path), f"missing required field(s): {exc.args[0]}"))
                    continue
                except ValueError as exc:
                    problems.append((str(path), str(exc)))
                    continue
                if entry.topic != topic or entry.language != code:
                    problems.append((str(path), f"says topic={entry.topic!r} language={entry.language!r}; "
                                                f"the file name says {topic!r} in {code!r}"))
                    continue
                entries[(code, topic)] = entry
            ui_path = locales_dir / code / "_ui.yml"
            data = _read(ui_path, problems)
            if data is not None:
                try:
                    ui[code] = UiStrings(code, ReviewStatus(data.get("status")), dict(data.get("strings") or {}),
                                         str(ui_path))
                except ValueError:
                    problems.append((str(ui_path), f"status {data.get('status')!r} is not one of "
                                                   f"{[s.value for s in ReviewStatus]}"))
        menu_data = _read(locales_dir / "menu.yml", problems) or {}
        numbers_data = _read(locales_dir / "numbers.yml", problems) or {}
        store = cls(languages, entries, ui,
                    {int(k): str(v) for k, v in (menu_data.get("topics") or {}).items()},
                    {str(k): v for k, v in (numbers_data.get("numbers") or {}).items()}, problems)
        if strict and problems:
            listing = "\n".join(f"  {path}: {what}" for path, what in problems)
            raise ContentError(f"locales/ cannot be served:\n{listing}\nRun `python -m bot content check`.")
        return store

    # ---- rendering --------------------------------------------------------------------------------------------
    def render(self, topic: str, language: str, channel: str, serve_drafts: bool,
               follow_up: bool = False) -> List[Reply]:
        """The messages that answer ``topic`` in ``language`` on ``channel``.

        ``follow_up`` serves the entry's ``more`` form: the next detail ("what does that mean?", "and my children?").
        Entries that are not vetted are served only with ``serve_drafts``; otherwise the reply is the language's
        "no checked answer yet" string (which production requires to be vetted).
        """
        if language not in self.languages.codes:
            language = self.languages.default
        replies = [self._render_entry(topic, language, channel, serve_drafts, follow_up)]
        then = FOLLOWED_BY.get(topic)
        if then == "menu":
            replies.append(self._render_entry("menu", language, channel, serve_drafts, False))
        elif then == "language_menu":
            replies.append(self.language_menu())
        return replies

    def language_menu(self) -> Reply:
        """The language list, each name in its own language: shown when the language is unknown."""
        return Reply(self.languages.menu_text(), "change_language", "mul", "languages@menu", ReviewStatus.VETTED.value)

    def _render_entry(self, topic: str, language: str, channel: str, serve_drafts: bool, follow_up: bool) -> Reply:
        entry = self.entries.get((language, topic)) or self.entries[(self.languages.default, topic)]
        if not entry.vetted and not serve_drafts:
            ui = self.ui[entry.language]
            return Reply(ui.get("unavailable"), topic, entry.language, f"{entry.language}/_ui@unavailable",
                         "withheld")
        return Reply(self._text(entry, channel, follow_up), topic, entry.language, entry.content_id,
                     entry.status.value)

    def _text(self, entry: Entry, channel: str, follow_up: bool) -> str:
        if follow_up and entry.more:
            return self.served(entry, "more")
        return self.served(entry, "sms" if channel == SMS else "full")

    def served(self, entry: Entry, form: str) -> str:
        """A form exactly as sent: an unreviewed translation carries its language's note (the SMS budget counts it)."""
        text = entry.form(form) or ""
        ui = self.ui.get(entry.language)
        note = ui.get("unreviewed_note") if ui else ""
        if text and note and entry.status is ReviewStatus.UNREVIEWED_TRANSLATION:
            return f"{text}\n{note}"
        return text

    def entry(self, language: str, topic: str) -> Optional[Entry]:
        return self.entries.get((language, topic))


def _read(path: Path, problems: List[Tuple[str, str]]) -> Optional[Mapping]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append((str(path), "missing"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problems.append((str(path), f"is not valid YAML{where}"))
        return None
    if not isinstance(data, dict):
        problems.append((str(path), "is not a mapping of fields"))
        return None
    return data
