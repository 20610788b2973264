"""`python -m bot content check`: everything that must hold before locales/ is served, with file and topic named.

Errors fail the check (a missing entry, an SMS form over budget, no source, an unchecked phone number, a missing
field, a menu that does not match locales/menu.yml); warnings do not (an entry past its review_due, a translation
whose English source changed since it was translated).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import List, Optional

from bot.content.model import NO_MORE_FORM, RIGHTS_TOPICS, TOPICS, ReviewStatus
from bot.content.sms import cost
from bot.content.store import ContentStore

MAX_SMS_SEGMENTS = 3
#: a run of digits with spaces, no-break spaces, hyphens or direction marks between them (Arabic text marks
#: numbers left-to-right with U+200E so that "0808 2000 247" is not shown as "247 2000 0808")
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[\d \u00a0\u200e\u200f-]*\d)?(?![\d])")
#: a run with at least this many digits is a phone number (years, weeks and menu numbers are shorter)
_PHONE_MIN_DIGITS = 7


@dataclass
class Report:
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(store: ContentStore, today: Optional[dt.date] = None, production: bool = False) -> Report:
    """Check every entry of every supported language. ``production`` also requires vetted service strings."""
    today = today or dt.date.today()
    report = Report(errors=[f"{path}: {what}" for path, what in store.problems])
    checked = _normalised_numbers(store)
    for code in store.languages.codes:
        ui = store.ui.get(code)
        for topic in TOPICS:
            entry = store.entry(code, topic)
            if entry is None:
                continue  # reported as missing while loading
            where = f"{entry.path} [{code}/{topic}]"
            if not entry.sources:
                report.errors.append(f"{where}: no sources: every entry names where its facts come from")
            if topic in RIGHTS_TOPICS and topic not in NO_MORE_FORM and not entry.more:
                report.errors.append(f"{where}: missing required field: more (the follow-up form)")
            for form in ("sms", "more"):
                served = store.served(entry, form)
                if not served:
                    continue
                c = cost(served)
                if c.segments > MAX_SMS_SEGMENTS:
                    report.errors.append(
                        f"{where}: {form} form is {c.segments} SMS segments ({c.units} {c.encoding} units, "
                        f"budget {MAX_SMS_SEGMENTS} x {c.per_segment}); shorten it")
            for form in ("sms", "full", "more"):
                for number in _numbers_in(entry.form(form) or ""):
                    if number not in checked:
                        report.errors.append(f"{where}: phone number {number!r} in the {form} form is not in "
                                             f"locales/numbers.yml (the checked numbers)")
            if entry.status is ReviewStatus.VETTED and not (entry.reviewed_by and entry.reviewed_on):
                report.errors.append(f"{where}: vetted without reviewed_by (a role) and reviewed_on")
            if entry.review_due is None:
                report.errors.append(f"{where}: missing required field: review_due")
            elif entry.review_due < today:
                report.warnings.append(f"{where}: past review_due {entry.review_due.isoformat()}")
            if entry.status is ReviewStatus.UNREVIEWED_TRANSLATION:
                _check_translation_source(store, entry, where, report)
            if production and not entry.vetted and topic == "emergency":
                report.errors.append(f"{where}: production serves only vetted entries, and emergency must be served")
        if ui is None:
            continue
        for key in UI_KEYS:
            text = ui.get(key)
            if not text:
                report.errors.append(f"{ui.path}: missing string {key!r}")
            elif cost(text).segments > MAX_SMS_SEGMENTS:
                report.errors.append(f"{ui.path}: string {key!r} is over {MAX_SMS_SEGMENTS} SMS segments")
        neutral = ui.get("neutral_line")
        if neutral and (len(neutral) < NEUTRAL_MIN or "\n" in neutral or any(ch.isdigit() for ch in neutral)):
            report.errors.append(f"{ui.path}: neutral_line must be one line of at least {NEUTRAL_MIN} characters "
                                 "with no numbers: a lock screen shows the first 40 characters of every SMS")
        if production and ui.status is not ReviewStatus.VETTED:
            report.errors.append(f"{ui.path}: production needs vetted service strings (they answer when no vetted "
                                 f"entry exists)")
    _check_menu(store, report)
    menu_cost = cost(store.languages.menu_text())
    if menu_cost.segments > 2:
        report.errors.append(f"locales/languages.yml: the language menu is {menu_cost.segments} SMS segments")
    return report


#: the service strings every language needs (the gateway's own replies, and what an unreviewed translation carries)
UI_KEYS = ("unreviewed_note", "unavailable", "degraded", "neutral_line", "rate_limited")
#: characters a lock screen shows of an SMS: the neutral first line must fill them
NEUTRAL_MIN = 40


def _check_menu(store: ContentStore, report: Report) -> None:
    for topic in store.menu.values():
        if topic not in TOPICS:
            report.errors.append(f"locales/menu.yml: unknown topic {topic!r}")
    for code in store.languages.codes:
        entry = store.entry(code, "menu")
        if entry is None:
            continue
        for form in ("sms", "full"):
            lines = [ln.strip() for ln in (entry.form(form) or "").splitlines()]
            for number in store.menu:
                if not any(re.match(rf"^{number}(?!\d)", ln) for ln in lines):
                    report.errors.append(f"{entry.path} [{code}/menu]: {form} form has no line starting with "
                                         f"{number} (locales/menu.yml: {store.menu[number]})")


def _check_translation_source(store: ContentStore, entry, where: str, report: Report) -> None:
    source = store.entry(store.languages.default, entry.topic)
    recorded = str(entry.translated_from or "")
    if "@" in recorded and source is not None and recorded.split("@", 1)[1] != source.text_hash()[:12]:
        report.warnings.append(f"{where}: translated from an older {source.language} text; the source changed "
                               f"(re-translate, then `python -m bot content stamp`)")


def _numbers_in(text: str) -> List[str]:
    """Every phone number in ``text`` (as its digits): runs of 7 or more digits. A run of digits in another
    script (Arabic-Indic, Bengali) counts too, and will not match the list: numbers are written in Western digits.
    """
    runs = (_digits(m.group(0)) for m in _DIGIT_RUN.finditer(text))
    return [run for run in runs if len(run) >= _PHONE_MIN_DIGITS]


def _normalised_numbers(store: ContentStore) -> set:
    return {_digits(n) for n in store.numbers}


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)
