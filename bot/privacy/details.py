"""Identifying details written around the usual forms: numbers spoken in words, emails spelt out, social media
handles and dates of birth (issue 8, finding 7).

Each detector reads the redactor's matching copy (digits of every script in ASCII, one character for one) and yields
spans; the words they need are data, per language, in locales/<lang>/_redaction.yml, and the words of every language
apply to every message (its language is not known when redaction runs):

- ``number_words``: a word for each digit ("siete": 7, "sifar": 0), "double"/"triple" (value ``x2``/``x3``), "plus"
  (value ``+``). A run of number words and digit groups holding at least MIN_PHONE_DIGITS digits is a phone number
  ("zero seven seven double oh nine...", "07 siete siete 00 900 357", "plus 44 7700 900 321").
- ``email_at_words`` / ``email_dot_words``: "arroba", "kropka"... An email spelt with them, or with spaces around
  "@" and ".", or "(at)" / "[dot]", ending in a known top-level domain, is an email.
- ``platform_words``: "insta", "tg", "الفيس"... The handle-like word (``@ana_85``, ``fatou.d``) or the capitalised name
  with a number ("Amina Khan 92") a few words after one is a handle; so is any ``@word`` and any ``t.me/...`` link.
- ``birth_words`` and ``months``: a date (numeric, or with a month name) within a few words of "born", "nací",
  "urodzona", "پیدائش", "জন্ম"... is a date of birth. Other dates stay: "he hit me on 12 March" is what she needs help
  with, not who she is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterator, List, Mapping, Sequence, Tuple

#: a phone number has at least this many digits (the redactor's MIN_PHONE_DIGITS)
MIN_DIGITS = 7
#: how far around a date a birth word may be (characters): "born on the", "5 march 1988 ko paida hui"
BIRTH_BEFORE = 32
BIRTH_AFTER = 24
#: how many words after a platform word its handle may start ("sur fb je suis Mariam Kone 88")
HANDLE_WINDOW = 4
TOP_LEVEL_DOMAINS = ("com", "org", "net", "co", "uk", "fr", "es", "pl", "pt", "ro", "de", "it", "ie", "eu", "info",
                     "edu", "gov", "me", "io", "pk", "bd", "in", "ma", "dz", "tn", "eg", "br", "mx", "ar", "be", "ch",
                     "nl", "ng", "gh", "ke", "ua", "ru", "tr", "sa", "ae", "jo", "lb", "sy", "iq", "af", "ir", "lk",
                     "np", "ph", "cn", "online", "email", "mail")

_TOKEN = re.compile(r"[^\s]+")
_EDGE_PUNCTUATION = ".,;:!?()[]{}\"'،۔।-/"
_DIGIT_GROUP = re.compile(r"^\+?[\d().\-/]*\d[\d().\-/]*$")
#: a word of digits and letter O standing for zero ("O77OO", "9OO")
_O_FOR_ZERO = re.compile(r"(?<![^\W\d_])(?=[0-9Oo]*\d)(?=[0-9Oo]*[Oo])[0-9Oo]{2,}(?![^\W\d_])")
_AT_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")
_LINK = re.compile(r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t\.me|instagram\.com|facebook\.com|fb\.com|tiktok\.com"
                   r"|snapchat\.com/add)/@?[\w.]+", re.IGNORECASE)
_HANDLE_LIKE = re.compile(r"^@?(?=[\w.]*[^\W\d_])(?=[\w.]*(?:[._]|\d))[\w.]{3,}$")
_NUMERIC_DATE = re.compile(r"(?<![\d.])\d{1,4} ?[./-] ?\d{1,2} ?[./-] ?\d{2,4}(?![\d])")


@dataclass(frozen=True)
class DetailWords:
    """The words the detectors need, every language's together, folded (see ``bot.privacy.redact.fold``)."""

    number_words: Mapping[str, str]  # word -> its digits, "x2"/"x3" (double, triple) or "+" (plus)
    email_at: Tuple[str, ...]
    email_dot: Tuple[str, ...]
    platforms: FrozenSet[str]
    birth_words: Tuple[str, ...]
    months: Tuple[str, ...]


class DetailFinder:
    """Yields spans (start, end, kind) of the four kinds of detail above in a matching copy."""

    def __init__(self, words: DetailWords, fold: Callable[[str], str]) -> None:
        self._words = words
        self._fold = fold
        at = "|".join(map(re.escape, sorted(words.email_at, key=len, reverse=True))) or "(?!)"
        dot = "|".join(map(re.escape, sorted(words.email_dot, key=len, reverse=True))) or "(?!)"
        tlds = "|".join(TOP_LEVEL_DOMAINS)
        at_sign = rf"(?:\s*@\s*|\s*[(\[]\s*at\s*[)\]]\s*|\s+(?:{at})\s+)"
        dot_sign = rf"(?:\s*\.\s*|\s*[(\[]\s*dot\s*[)\]]\s*|\s+(?:{dot})\s+)"
        self._email = re.compile(
            rf"(?<![\w.+-])[\w.+-]*\w{at_sign}[\w-]+(?:{dot_sign}[\w-]+)*?{dot_sign}(?:{tlds})(?![\w])",
            re.IGNORECASE)
        months = "|".join(map(re.escape, sorted(words.months, key=len, reverse=True))) or "(?!)"
        self._textual_date = re.compile(
            rf"(?<!\w)(?:\d{{1,2}}(?:st|nd|rd|th|er|eme|º)?\.?\s+(?:(?:de|of|d')\s*)?)?(?:{months})\.?,?\s+"
            rf"(?:(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)|(?:(?:de|of)\s+))?\d{{2,4}}(?!\d)", re.IGNORECASE)
        births = "|".join(map(re.escape, sorted(words.birth_words, key=len, reverse=True))) or "(?!)"
        self._birth = re.compile(rf"(?<!\w)(?:{births})")

    def find(self, copy: str) -> Iterator[Tuple[int, int, str]]:
        yield from self._emails(copy)
        yield from self._handles(copy)
        yield from self._births(copy)
        yield from self._spoken_phones(copy)

    @staticmethod
    def zeros(copy: str) -> str:
        """The copy with the letter O read as zero inside digit words ("O77OO 9OO 456"), at the same length."""
        return _O_FOR_ZERO.sub(lambda m: re.sub("[Oo]", "0", m.group()), copy)

    # ---- emails spelt out ---------------------------------------------------------------------------------------
    def _emails(self, copy: str) -> Iterator[Tuple[int, int, str]]:
        for match in self._email.finditer(copy):
            yield match.start(), match.end(), "email"

    # ---- handles ------------------------------------------------------------------------------------------------
    def _handles(self, copy: str) -> Iterator[Tuple[int, int, str]]:
        for pattern in (_AT_HANDLE, _LINK):
            for match in pattern.finditer(copy):
                if len(match.group()) > 3:
                    yield match.start(), match.end(), "handle"
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(copy)]
        for i, (_, _, raw) in enumerate(tokens):
            if self._fold(raw.strip(_EDGE_PUNCTUATION)) not in self._words.platforms:
                continue
            span = self._handle_after(tokens, i + 1)
            if span is not None:
                yield span[0], span[1], "handle"

    def _handle_after(self, tokens: Sequence[Tuple[int, int, str]], i: int) -> "Tuple[int, int] | None":
        """A handle-like word, or one to three capitalised words and an optional number, within HANDLE_WINDOW."""
        for j in range(i, min(i + HANDLE_WINDOW, len(tokens))):
            start, end, raw = tokens[j]
            word = raw.strip(_EDGE_PUNCTUATION.replace(".", "").replace("-", ""))
            if not word:
                continue
            if _HANDLE_LIKE.match(word.rstrip(".")) and not word.isdigit():
                offset = raw.find(word)
                return start + offset, start + offset + len(word.rstrip("."))
            if word[:1].isupper() and word.isalpha():
                last = j
                while last + 1 < len(tokens) and last - j < 2 and tokens[last + 1][2][:1].isupper() \
                        and tokens[last + 1][2].strip(_EDGE_PUNCTUATION).isalpha():
                    last += 1
                if last + 1 < len(tokens) and tokens[last + 1][2].strip(_EDGE_PUNCTUATION).isdigit():
                    last += 1
                elif last == j:
                    continue  # one capitalised word alone may be an ordinary word ("Hi", "Je")
                return start, tokens[last][0] + len(tokens[last][2].rstrip(_EDGE_PUNCTUATION))
        return None

    # ---- dates of birth -----------------------------------------------------------------------------------------
    def _births(self, copy: str) -> Iterator[Tuple[int, int, str]]:
        for pattern in (_NUMERIC_DATE, self._textual_date):
            for match in pattern.finditer(copy):
                before = self._fold(copy[max(0, match.start() - BIRTH_BEFORE):match.start()])
                after = self._fold(copy[match.end():match.end() + BIRTH_AFTER])
                if self._birth.search(before) or self._birth.search(after):
                    yield match.start(), match.end(), "dob"

    # ---- phone numbers in words ---------------------------------------------------------------------------------
    def _spoken_phones(self, copy: str) -> Iterator[Tuple[int, int, str]]:
        run: List[Tuple[int, int]] = []
        digits = 0
        worded = False
        repeat = 1
        for match in _TOKEN.finditer(copy):
            raw = match.group()
            word = raw.strip(_EDGE_PUNCTUATION)
            value = self._words.number_words.get(self._fold(word)) if word else None
            if word and _DIGIT_GROUP.match(word):
                digits += sum(ch.isdigit() for ch in word) * repeat
                repeat = 1
            elif value is not None:
                worded = True
                if value.startswith("x"):  # "double oh": the next digit twice
                    repeat = int(value[1:])
                elif value != "+":
                    digits += len(value) * repeat
                    repeat = 1
            elif not word and run:  # a lone "/" or "-" between groups
                continue
            else:
                if worded and digits >= MIN_DIGITS and run:
                    yield run[0][0], run[-1][1], "phone"
                run, digits, worded, repeat = [], 0, False, 1
                continue
            start = match.start() + raw.find(word) if word else match.start()
            run.append((start, start + len(word)))
        if worded and digits >= MIN_DIGITS and run:
            yield run[0][0], run[-1][1], "phone"


def load_words(data_by_language: Mapping[str, Mapping], fold: Callable[[str], str]) -> DetailWords:
    """Every language's detail words together (``data_by_language``: code -> its _redaction.yml)."""
    number_words: Dict[str, str] = {}
    at: List[str] = []
    dot: List[str] = []
    platforms: set = set()
    births: List[str] = []
    months: List[str] = []
    for data in data_by_language.values():
        for word, value in (data.get("number_words") or {}).items():
            number_words[fold(str(word))] = str(value)
        at += [str(w) for w in data.get("email_at_words") or []]
        dot += [str(w) for w in data.get("email_dot_words") or []]
        platforms |= {fold(str(w)) for w in data.get("platform_words") or []}
        births += [fold(str(w)) for w in data.get("birth_words") or []]
        months += [str(w) for w in data.get("months") or []]
    return DetailWords(number_words, tuple(sorted(set(at))), tuple(sorted(set(dot))), frozenset(platforms),
                       tuple(sorted(set(births))), tuple(sorted(set(months))))
