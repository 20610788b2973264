"""`python -m bot content check`: everything that must hold before locales/ is served, with file and topic named.

Errors fail the check (a missing entry or form, an SMS over budget as it is really sent, no source, an unchecked
phone number, a promise the service may not make, an emergency answer whose "999" is not first, Arabic-script text
whose numbers or brackets would display in the wrong order, a menu that does not match locales/menu.yml); warnings
do not (an entry past its review_due, a translation whose English source changed since it was translated).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import List, Optional

from bot.content.model import FORMS, NO_MORE_FORM, RIGHTS_TOPICS, TOPICS, URGENT_TOPICS, ReviewStatus
from bot.content.promises import Promises, load_promises
from bot.content.sms import cost
from bot.content.store import ContentStore
from bot.languages import ARABIC_LETTER

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
        neutral = ui.get("neutral_line") if ui else ""
        promises = _promises(store, code, report)
        for topic in TOPICS:
            entry = store.entry(code, topic)
            if entry is None:
                continue  # reported as missing while loading
            where = f"{entry.path} [{code}/{topic}]"
            if not entry.sources:
                report.errors.append(f"{where}: no sources: every entry names where its facts come from")
            if topic in RIGHTS_TOPICS and topic not in NO_MORE_FORM:
                for form in ("more", "plain"):
                    if not entry.form(form):
                        report.errors.append(f"{where}: missing required field: {form} "
                                             f"({'the follow-up form' if form == 'more' else 'the simplest words'})")
            for what, served in store.sms_texts(entry):
                # as really sent by SMS: the neutral first line, except before the emergency answer
                sent = served if topic in URGENT_TOPICS or not neutral else f"{neutral}\n{served}"
                c = cost(sent)
                if c.segments > MAX_SMS_SEGMENTS:
                    report.errors.append(
                        f"{where}: {what} is {c.segments} SMS segments as sent ({c.units} {c.encoding} units "
                        f"with the neutral line and notes, budget {MAX_SMS_SEGMENTS} x {c.per_segment}); shorten it")
            for form in FORMS:
                text = entry.form(form) or ""
                for number in _numbers_in(text):
                    if number not in checked:
                        report.errors.append(f"{where}: phone number {number!r} in the {form} form is not in "
                                             f"locales/numbers.yml (the checked numbers)")
                for phrase in promises.broken_by(text):
                    report.errors.append(f"{where}: the {form} form promises what the service may not: {phrase!r} "
                                         f"(locales/{code}/_promises.yml)")
                if form == "full":
                    for word in promises.misspelt_in(text):
                        report.errors.append(f"{where}: the full (Telegram) form writes {word!r} without its "
                                             f"accents: Telegram forms use correct spelling")
                for problem in _bidi_problems(text):
                    report.errors.append(f"{where}: {form} form: {problem}")
                if topic in URGENT_TOPICS and text and not _urgent_first(text):
                    report.errors.append(f"{where}: the {form} form must have 999 in its first {PREVIEW} characters")
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
                continue
            if cost(text).segments > MAX_SMS_SEGMENTS:
                report.errors.append(f"{ui.path}: string {key!r} is over {MAX_SMS_SEGMENTS} SMS segments")
            for phrase in promises.broken_by(text):
                report.errors.append(f"{ui.path}: string {key!r} promises what the service may not: {phrase!r}")
            for problem in _bidi_problems(text):
                report.errors.append(f"{ui.path}: string {key!r}: {problem}")
        _check_handoff_strings(store, ui, report)
        for key in URGENT_UI_KEYS:
            if ui.get(key) and not _urgent_first(ui.get(key)):
                report.errors.append(f"{ui.path}: string {key!r} must have 999 in its first {PREVIEW} characters "
                                     f"(it is sent when she may be in danger)")
        for key in CLOSING_UI_KEYS:
            if len(ui.get(key)) > CLOSING_MAX:
                report.errors.append(f"{ui.path}: string {key!r} is over {CLOSING_MAX} characters (it closes "
                                     f"SMS answers and counts against their budget)")
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


#: the service strings every language needs (the gateway's own replies, and what closes or marks an answer)
UI_KEYS = ("unreviewed_note", "unavailable", "degraded", "neutral_line", "rate_limited", "more_hint",
           "language_line")
#: service strings sent when she may be in danger: their "999" must show on a lock screen
URGENT_UI_KEYS = ("degraded", "rate_limited")
#: the lines that close an SMS answer ("reply MORE", "other language? reply 0")
CLOSING_UI_KEYS = ("more_hint", "language_line")
CLOSING_MAX = 40
#: characters a lock screen shows of an SMS: the neutral first line must fill them, and "999" must be within them
NEUTRAL_MIN = 40
PREVIEW = 40


#: the handoff's strings (issue 9) and the placeholders each must keep, exactly (the service fills them in)
HANDOFF_UI_KEYS = {
    "handoff_leave_word": set(), "handoff_consent": {"when"}, "handoff_when_open": {"minutes"},
    "handoff_when_closed": {"hours"}, "handoff_hours_weekdays": {"start", "end"},
    "handoff_hours_everyday": {"start", "end"}, "handoff_queued": {"leave"}, "handoff_still_waiting": set(),
    "handoff_connected": {"name", "leave"}, "handoff_ended": {"name"}, "handoff_ended_idle": set(),
    "handoff_left_queue": set(), "handoff_requeued": set(), "handoff_not_connected": set(),
    "handoff_not_passed_on": set(),
}
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
#: the longest values the service fills in (a name or role is at most 32 characters)
_FILL = {"minutes": "30", "start": "09:00", "end": "17:00", "name": "x" * 32}


def _check_handoff_strings(store: ContentStore, ui, report: Report) -> None:
    """Every handoff string present, with exactly its placeholders; the leave word not one Twilio reserves; each
    string as sent (the neutral line first, the longest fill) within the SMS budget."""
    from bot.channels.twilio_sms import is_reserved

    for key, placeholders in HANDOFF_UI_KEYS.items():
        text = ui.get(key)
        if not text:
            report.errors.append(f"{ui.path}: missing string {key!r}")
            continue
        found = _PLACEHOLDER.findall(text)
        if sorted(found) != sorted(placeholders):
            report.errors.append(f"{ui.path}: string {key!r} must hold the placeholders "
                                 f"{sorted(placeholders) or 'none'} once each, not {found}")
            return
    leave = ui.get("handoff_leave_word")
    if is_reserved(leave) or len(leave.split()) != 1:
        report.errors.append(f"{ui.path}: handoff_leave_word must be one word Twilio does not reserve")
    hours = max(ui.get("handoff_hours_weekdays"), ui.get("handoff_hours_everyday"), key=len).format(**_FILL)
    when = max(ui.get("handoff_when_open").format(**_FILL), ui.get("handoff_when_closed").format(hours=hours), key=len)
    fill = dict(_FILL, leave=leave, hours=hours, when=when)
    neutral = ui.get("neutral_line")
    for key in HANDOFF_UI_KEYS:
        if cost(f"{neutral}\n{ui.get(key).format(**fill)}").segments > MAX_SMS_SEGMENTS:
            report.errors.append(f"{ui.path}: string {key!r}, as sent, is over {MAX_SMS_SEGMENTS} SMS segments")
        for problem in _bidi_problems(ui.get(key)):
            report.errors.append(f"{ui.path}: string {key!r}: {problem}")


def _urgent_first(text: str) -> bool:
    return "999" in text.replace("*", "")[:PREVIEW]


def _promises(store: ContentStore, code: str, report: Report) -> Promises:
    if store.locales_dir is None:
        return Promises(code, {}, ())
    try:
        promises = load_promises(store.locales_dir, code)
    except ValueError as exc:
        report.errors.append(str(exc))
        return Promises(code, {}, ())
    for category in REQUIRED_PROMISE_CATEGORIES:
        if not promises.forbidden.get(category):
            report.errors.append(f"{promises.path}: no phrases for {category!r}: every language lists the ways its "
                                 f"text could say it")
    return promises


#: what each language's _promises.yml must cover (content-facts §1, §3, §8 and "What the service itself may promise")
REQUIRED_PROMISE_CATEGORIES = ("police_will_not_check", "police_will_not_share", "legal_aid_will_pay",
                               "service_confidential", "all_details_removed", "location_by_55",
                               "text_999_for_everyone", "protected_by_protocol")

#: a number written in parts ("0808 2000 247"): in right-to-left text its parts show in reverse order unless a
#: left-to-right mark (U+200E) or isolate (U+2066) comes first
_SPACED_NUMBER = re.compile(r"([\u200e\u2066]?)(\d+(?:[ \u00a0]\d+)+)")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")


def _bidi_problems(text: str) -> List[str]:
    """In Arabic-script text: spaced numbers without a left-to-right mark, and brackets around Latin or digits
    (a right-to-left phone shows "(Home Office)" or "(24/7)" with its brackets turned round or moved)."""
    if not ARABIC_LETTER.search(text):
        return []
    problems = [f"the number {m.group(2)!r} needs U+200E before it (else it shows in reverse order)"
                for m in _SPACED_NUMBER.finditer(text) if not m.group(1)]
    problems += [f"brackets around {m.group(1)!r}: write it without brackets (or use bidi marks) so it displays "
                 f"in the right order" for m in _BRACKETED.finditer(text) if _LATIN_OR_DIGIT.search(m.group(1))]
    problems += [f"{m.group(0)!r} shows as \"+{m.group(0)[:-1]}\" in right-to-left text: write it in words "
                 f"(e.g. \"16 or over\")" for m in re.finditer(r"\d+\+(?!\u200e)", text)]
    # a phone lays out each line by its first strong letter: a line opening with a Latin word is shown left to right
    problems += [f"the line {line[:30]!r} starts with a Latin word: start it with a word in the language's script "
                 f"(or U+200F) so it displays right to left" for line in text.splitlines()
                 if ARABIC_LETTER.search(line) and _first_strong_is_latin(line)]
    return problems


def _first_strong_is_latin(line: str) -> bool:
    for ch in line:
        if ch in "\u200f\u061c" or ARABIC_LETTER.match(ch):
            return False
        if ch == "\u200e" or ("A" <= ch <= "Z" or "a" <= ch <= "z"):
            return True
    return False


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
