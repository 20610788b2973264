"""Loads locales/ and renders a topic for a channel: the only place an answer's text comes from."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

from bot.content.model import NO_MORE_FORM, TOPICS, URGENT_TOPICS, Entry, ReviewStatus, entry_from_mapping
from bot.languages import Languages, load_languages

logger = logging.getLogger(__name__)

SMS = "sms"
TELEGRAM = "telegram"
CHANNELS = (SMS, TELEGRAM)

#: replies made of an entry followed by a second message: greeting and fallback show the topic menu,
#: change_language shows the language list (a separate SMS each, so each keeps its own segment budget)
FOLLOWED_BY: Mapping[str, str] = {"greet": "menu", "fallback": "menu", "change_language": "language_menu"}
MENU = "menu"
LANGUAGE_MENU = "language_menu"
NOTHING = "nothing"

#: what of an entry to serve: the answer (sms or full, by channel), the next detail, or the same in simplest words
ANSWER = "answer"
MORE = "more"
PLAIN = "plain"

#: the service strings that can close an answer: that "more" exists, or how to change a guessed language
MORE_HINT = "more_hint"
LANGUAGE_LINE = "language_line"


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
    #: the emergency answer: on SMS its "999" comes first, before any neutral line
    urgent: bool = False

    def as_payload(self) -> Dict[str, object]:
        return {"text": self.text, "topic": self.topic, "language": self.language,
                "content_id": self.content_id, "status": self.status, "urgent": self.urgent}


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
    locales_dir: Optional[Path] = None

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
                    {str(k): v for k, v in (numbers_data.get("numbers") or {}).items()}, problems, locales_dir)
        if strict and problems:
            listing = "\n".join(f"  {path}: {what}" for path, what in problems)
            raise ContentError(f"locales/ cannot be served:\n{listing}\nRun `python -m bot content check`.")
        return store

    # ---- rendering --------------------------------------------------------------------------------------------
    def render(self, topic: str, language: str, channel: str, serve_drafts: bool, variant: str = ANSWER,
               language_line: bool = False, then: Optional[str] = None) -> List[Reply]:
        """The messages that answer ``topic`` in ``language`` on ``channel``.

        ``variant``: ANSWER (the sms or full form, by channel), MORE (the next detail: "tell me more"), or PLAIN (the
        same answer in the simplest words: "I don't understand"). An entry without that form serves its answer.
        ``language_line`` closes the answer with how to change language (the language was a best guess).
        ``then``: what follows the entry (MENU, LANGUAGE_MENU or NOTHING); by default FOLLOWED_BY says.
        Entries that are not vetted are served only with ``serve_drafts``; otherwise the reply is the language's
        "no checked answer yet" string (which production requires to be vetted).
        """
        if language not in self.languages.codes:
            language = self.languages.default
        replies = [self._render_entry(topic, language, channel, serve_drafts, variant, language_line)]
        then = then or FOLLOWED_BY.get(topic, NOTHING)
        if then == MENU:
            replies.append(self._render_entry("menu", language, channel, serve_drafts, ANSWER, False))
        elif then == LANGUAGE_MENU:
            replies.append(self.language_menu())
        return replies

    def language_menu(self) -> Reply:
        """The language list, each name in its own language: shown when the language is unknown."""
        return Reply(self.languages.menu_text(), "change_language", "mul", "languages@menu", ReviewStatus.VETTED.value)

    def _render_entry(self, topic: str, language: str, channel: str, serve_drafts: bool, variant: str,
                      language_line: bool) -> Reply:
        entry = self.entries.get((language, topic)) or self.entries[(self.languages.default, topic)]
        if not entry.vetted and not serve_drafts:
            ui = self.ui[entry.language]
            return Reply(ui.get("unavailable"), topic, entry.language, f"{entry.language}/_ui@unavailable",
                         "withheld")
        form = self.form_for(entry, channel, variant)
        hint = LANGUAGE_LINE if language_line else (MORE_HINT if channel == SMS and form == "sms" and has_more(entry)
                                                    else None)
        return Reply(self.served(entry, form, hint), topic, entry.language, entry.content_id, entry.status.value,
                     urgent=topic in URGENT_TOPICS)

    @staticmethod
    def form_for(entry: Entry, channel: str, variant: str) -> str:
        if variant == MORE and entry.more:
            return "more"
        if variant == PLAIN and entry.plain:
            return "plain"
        return "sms" if channel == SMS else "full"

    def served(self, entry: Entry, form: str, hint: Optional[str] = None) -> str:
        """A form exactly as sent: the text, then the ``hint`` string if any (MORE_HINT or LANGUAGE_LINE), then for
        an unreviewed translation its language's note (the SMS budget counts all of it)."""
        text = entry.form(form) or ""
        if not text:
            return ""
        ui = self.ui.get(entry.language)
        lines = [text]
        if hint and ui and ui.get(hint):
            lines.append(ui.get(hint))
        note = ui.get("unreviewed_note") if ui else ""
        if note and entry.status is ReviewStatus.UNREVIEWED_TRANSLATION:
            lines.append(note)
        return "\n".join(lines)

    def sms_texts(self, entry: Entry) -> List[Tuple[str, str]]:
        """Every text this entry can be sent as by SMS, as (what, text): each SMS-sized form with each closing line
        it can carry. The content check holds each of them to the SMS budget."""
        texts: List[Tuple[str, str]] = []
        for form in ("sms", "more", "plain"):
            if not entry.form(form):
                continue
            # the sms form closes with "reply MORE" when a follow-up exists; any form can close with the language line
            usual = MORE_HINT if form == "sms" and has_more(entry) else None
            for hint in (usual, LANGUAGE_LINE):
                texts.append((form + (f" + {hint}" if hint else ""), self.served(entry, form, hint)))
        return texts

    def review_summary(self, serve_drafts: bool) -> str:
        """One plain sentence on what is served: how much is vetted, and what the rest is (shown by `make run` and
        on the simulator page, so no one mistakes a draft for checked advice)."""
        entries = list(self.entries.values())
        vetted = sum(e.vetted for e in entries)
        drafts = sorted({e.language for e in entries if e.status is ReviewStatus.DRAFT})
        unreviewed = sorted({e.language for e in entries if e.status is ReviewStatus.UNREVIEWED_TRANSLATION})
        parts = [f"{vetted} of {len(entries)} answers are vetted by a reviewer."]
        if drafts:
            parts.append(f"Drafts not yet reviewed: {', '.join(drafts)}.")
        if unreviewed:
            parts.append(f"Translations not checked by a person: {', '.join(unreviewed)}.")
        if vetted < len(entries):
            parts.append("They are served because ASSISTANT_SERVE_DRAFTS is on: do not use them as checked advice."
                         if serve_drafts else "Only vetted answers are served (ASSISTANT_SERVE_DRAFTS is off).")
        return " ".join(parts)

    def entry(self, language: str, topic: str) -> Optional[Entry]:
        return self.entries.get((language, topic))


def has_more(entry: Entry) -> bool:
    """A follow-up exists for this answer: its SMS says so ("reply MORE")."""
    return bool(entry.more) and entry.topic not in NO_MORE_FORM


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
