"""Identifying details leave message text before Rasa, the logs or anything else sees it.

The gateway calls ``Redactor.redact`` on every incoming text and passes on only ``Redacted.text``, in which each
phone number, email, UK postcode, National Insurance number, passport number, Home Office / BRP reference, UK street
address and self-introduced name is replaced by a placeholder such as ``[phone]``. The placeholders are ASCII and the
same in every language, so that Rasa sees the same token whatever the language (and can learn "my number is [phone]").

Rules, not a trained model: there is no trained spaCy pipeline for most of our languages, a model's misses cannot be
explained to the people who rely on the promise, and rules run in well under a millisecond. Names come from a blank
spaCy pipeline (``spacy.blank("xx")``) with a PhraseMatcher on the intro phrases of every language
(locales/<lang>/_redaction.yml), applied all at once because the language of a message is not known yet when
redaction runs. Numbers come from phonenumbers' matcher plus regular expressions, run on a copy of the text whose
digits in any script (Arabic-Indic, Urdu, Bengali, ...) are turned into ASCII one character for one, so that each span
found in the copy is cut from the original text at the same offsets.

It errs on the side of removal: a long run of digits is redacted as a phone number even when it is something else.
What it leaves alone on purpose: menu choices, 999 / 55 / 101 / 111, ages, dates, times, money, years, and the helpline
numbers listed in locales/numbers.yml or any UK freephone number (0800, 0808, 0500): those are the organisations'
numbers, not hers, and she asks about them. See docs/redaction.md for the measured recall and over-redaction.

Neither the text nor any part of it is ever logged, kept or put in an exception.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

from bot.privacy.details import DetailFinder, load_words

#: the kinds of identifying detail, each replaced by ``[kind]``
KINDS: Tuple[str, ...] = ("phone", "email", "postcode", "ni", "passport", "id", "address", "name", "handle", "dob")
PLACEHOLDERS: Mapping[str, str] = {kind: f"[{kind}]" for kind in KINDS}
#: when spans of different kinds overlap they are cut as one, named after the first kind here among them
_PRECEDENCE: Tuple[str, ...] = ("email", "handle", "ni", "passport", "id", "postcode", "address", "dob", "phone",
                                 "name")

#: at least this many digits make a phone number (UK numbers have 10 or 11; 999, 55, 101, 116 123 have fewer)
MIN_PHONE_DIGITS = 7
#: UK freephone prefixes: numbers of organisations, never a woman's own number
FREEPHONE_PREFIXES: Tuple[str, ...] = ("0800", "0808", "0500")
#: how far before a number a word like "passport" makes it a passport number (characters)
PASSPORT_CONTEXT = 24
#: spaCy keeps every word it has seen in its vocabulary; past this many new strings the pipeline is rebuilt, so that
#: the words of past messages are not kept for the life of the process (and memory does not grow without end)
VOCAB_LIMIT = 20_000
#: the most words a name is taken to have after an intro ("Maria da Silva Santos" is three, particles are free);
#: four when they are all capitalised, for two given names and two surnames ("Maria Jose Garcia Lopez")
MAX_NAME_WORDS = 3
#: spaCy's tokenizer strips punctuation off a token one character at a time, which is quadratic on a long run of it
#: (4,096 "{" or emoji took 3-4 s, on the event loop): names are looked for in a copy where such runs are spaces
#: and no token is longer than this
MAX_TOKEN = 48
_SYMBOL_RUN = re.compile(r"[^\w\s]{4,}")
MAX_CAPITALISED_NAME_WORDS = 4

STREET_TYPES: Tuple[str, ...] = (
    "road", "rd", "street", "st", "avenue", "ave", "lane", "ln", "close", "drive", "dr", "way", "gardens", "gdns",
    "court", "ct", "crescent", "cres", "place", "pl", "terrace", "grove", "hill", "square", "sq", "mews",
)
#: words that cannot be part of a street name: "3 days on the hill", "2 hours drive", "2 kids close by"
_NOT_STREET_WORDS: FrozenSet[str] = frozenset(
    "the a an my his her our your their this that on in at to of for and or from with by near is was are am pm "
    "kids children child hours hrs hour minutes mins min days day weeks week months month years yrs year times "
    "people men women miles mile km metres meters houses doors nights".split()
)


def tokenizable(text: str) -> str:
    """``text`` at the same length (offsets hold), with runs of 4+ symbols blanked and a space every MAX_TOKEN
    characters of a longer token: what spaCy tokenizes in linear time. Nothing a name rule needs is lost: intros
    and names are words."""
    text = _SYMBOL_RUN.sub(lambda m: " " * len(m.group()), text)
    return re.sub(rf"\S{{{MAX_TOKEN + 1},}}",
                  lambda m: "".join(" " if i % MAX_TOKEN == MAX_TOKEN - 1 else ch for i, ch in enumerate(m.group())),
                  text)


#: matcher labels: "<code>" strong intros, "<code>:weak" weak intros, "<code>:thanks" thanks before a signature
_WEAK = ":weak"
_THANKS = ":thanks"
_ARABIC_PREFIXES = frozenset("وفبلک")
_SIGNATURE_MARKS = frozenset({",", ".", "!", "-", "،", "۔", "।", ":", "\n", "...", "!!"})


class RedactionConfigError(ValueError):
    """A _redaction.yml (or the language list) is missing or malformed; the message names the file."""


class RedactionError(RuntimeError):
    """Redaction failed on a message: the caller must not pass the message on. Never carries the text."""


@dataclass(frozen=True)
class Span:
    """Where an identifying detail is in a text (offsets only: a span never holds the detail itself)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, repr=False)
class Redacted:
    """A text with its identifying details replaced by placeholders, and the kinds that were found.

    ``kinds`` lists each kind once, in the order of its first appearance in the text. The repr shows only the kinds:
    a ``Redacted`` that ends up in a log line or a traceback shows nothing of what she wrote.
    """

    text: str
    kinds: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Redacted(kinds={self.kinds!r})"


@dataclass(frozen=True)
class NameRules:
    """One language's name data from locales/<lang>/_redaction.yml, folded for matching."""

    code: str
    intros: Tuple[str, ...]
    ends: FrozenSet[str]
    particles: FrozenSet[str]
    passport_words: Tuple[str, ...]
    #: intros that are also ordinary words ("soy", "jestem", "أنا", "ami", "my husband"): a name after one of these
    #: is a word no training example of any language uses
    weak_intros: Tuple[str, ...] = ()
    #: "thanks", "merci beaucoup": a word no training example uses that ends the message after one is a signature
    thanks: Tuple[str, ...] = ()
    #: words that close a self-introduction after the name ("main nadia hoon", "aqui")
    closers: FrozenSet[str] = frozenset()


# ---- text normalisation -----------------------------------------------------------------------------------------
#: one character for one: whatever a detector should see as the same thing
_SAME_CHAR = {
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\uff0b": "+", "\uff20": "@",
    # direction marks around numbers in Arabic and Urdu text would split a number into pieces
    "\u200e": " ", "\u200f": " ", "\u061c": " ", "\ufeff": " ",
    **{chr(c): " " for c in range(0x202A, 0x202F)}, **{chr(c): " " for c in range(0x2066, 0x206A)},
}
#: dropped when folding a word: Latin accents, Arabic harakat and tatweel, joiners, apostrophes
_FOLD_DROP = re.compile("[\u0300-\u036f\u064b-\u065f\u0670\u0640\u200c\u200d'\u2019\u02bc`]")
#: Arabic and Urdu keyboards write the same letter with different code points
_FOLD_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ه": "ہ"})


def matching_copy(text: str) -> str:
    """``text`` with digits of every script in ASCII and look-alike punctuation unified, at the same offsets.

    Every character is replaced by exactly one character, so a span found in the copy is the same span in the
    original: the detectors read the copy, the placeholders go into the original.
    """
    if text.isascii():
        return text.replace("`", "'")
    return "".join(_one_char(ch) for ch in text)


def _one_char(ch: str) -> str:
    if ch.isdecimal() and not ch.isascii():
        return str(unicodedata.decimal(ch))
    return _SAME_CHAR.get(ch, ch)


def fold(word: str) -> str:
    """How intro phrases and end words are compared: case-folded ("ß" = "ss"), no accents, no apostrophes, one
    Arabic/Urdu yeh, kaf and heh ("je m'appelle" = "je mappelle", "mă numesc" = "ma numesc", "اسمي" = "اسمی")."""
    decomposed = _FOLD_DROP.sub("", unicodedata.normalize("NFKD", word.casefold()))
    return unicodedata.normalize("NFC", decomposed).translate(_FOLD_LETTERS)


# ---- number and code detectors (regular expressions on the matching copy) ---------------------------------------
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]+ ?@ ?(?:[\w-]+\.)+[A-Za-z]{2,}\b")
_NI = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?[A-Da-d](?![A-Za-z0-9])")
# without its final letter, only in capitals or written solid ("QQ 12 34 56", "qq123456"): "me 12 34 56" is not one
_NI_NO_SUFFIX = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}|[A-Za-z]{2}\d{6})(?![A-Za-z0-9])")
# outward code, optional space, inward code (whose letters are never C, I, K, M, O or V: so "3pm", "9am" are not)
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,2}\d[A-Za-z\d]?|GIR|gir) ?\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}(?![A-Za-z0-9])"
)
_ORDINAL_INWARD = re.compile(r"\d(?:st|nd|rd|th)$")
# letters and digits mixed, at least 6 digits: BRP (ZU1234567), Home Office (B1234567-0001), passports (PAA123456)
_CODE = re.compile(
    r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[A-Za-z])(?=(?:[A-Za-z]*\d){6})[A-Za-z0-9]{7,12}(?:[-/]\d{1,4})?(?![A-Za-z0-9])"
)
# a BRP number written with a space after its two capitals ("RZ 1234567")
_SPACED_BRP = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2} \d{7}(?![A-Za-z0-9])")
# digits with the separators people type in a phone number: spaces, dashes, dots, brackets (counted afterwards)
_DIGIT_RUN = re.compile(r"\+?\(?(?<!\d)\d(?:[ \t().-]{0,3}\d)+")
_PASSPORT_DIGITS = re.compile(r"(?<![A-Za-z0-9])\d(?:[ -]?\d){5,9}(?![A-Za-z0-9])")
# what a run of digits may be instead of a phone number; a candidate entirely inside one of these is left alone
_NOT_A_PHONE = (
    re.compile(r"(?<!\d)\d{1,4}[./-]\d{1,2}[./-]\d{2,4}(?!\d)"),  # dates 12.03.2019, 2019-03-12, 12/03/24
    re.compile(r"(?<!\d)(?:19|20)\d\d ?[-/] ?(?:19|20)?\d\d(?!\d)"),  # year ranges 2019-2021
    re.compile(r"[£$€]\s?\d{1,3}(?:[ ,.]\d{3})+(?:[.,]\d{1,2})?(?!\d)"),  # money £1 200 000, €1.500,00
)


def _address_pattern(types: Sequence[str]) -> "re.Pattern[str]":
    kinds = "|".join(sorted(types, key=len, reverse=True))
    return re.compile(
        r"(?<![\w])(?:(?:flat|apt|apartment|unit)\.? ?\d{1,4}[A-Za-z]?,? +)?"
        r"\d{1,4}[A-Za-z]?,? +((?:[^\W\d_][\w'-]* +){1,3}?)(?:" + kinds + r")\b\.?",
        re.IGNORECASE,
    )


_ADDRESS = _address_pattern(STREET_TYPES)


def canonical_number(number: str) -> str:
    """The digits of a phone number as dialled in the UK: "+44 808 2000 247" -> "08082000247"."""
    digits = re.sub(r"\D", "", matching_copy(number))
    international = number.lstrip().startswith("+") or digits.startswith("00")
    if digits.startswith("0044"):
        digits = digits[4:]
    elif digits.startswith("44") and international:
        digits = digits[2:]
    else:
        return digits
    return digits if digits.startswith("0") else "0" + digits


# ---- the redactor -----------------------------------------------------------------------------------------------
class Redactor:
    """Finds identifying details in a message and replaces them; built once at start-up from locales/.

    Not safe for concurrent use from several threads (the gateway's event loop calls it from one).
    """

    def __init__(self, rules: Sequence[NameRules], shared_ends: FrozenSet[str], helplines: FrozenSet[str],
                 details: Optional[DetailFinder] = None, known_words: FrozenSet[str] = frozenset()) -> None:
        if not rules:
            raise ValueError("at least one language's name rules are needed")
        self._rules = {r.code: r for r in rules}
        self._details = details
        self._known = known_words
        self._closers = frozenset(w for r in rules for w in r.closers)
        self._shared_ends = shared_ends
        self._helplines = helplines
        words = sorted({w for r in rules for w in r.passport_words}, key=len, reverse=True)
        # a passport word starts a word; its endings vary ("paszportu", "pașaportul", "passports")
        self._passport_pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + ")" if words else r"(?!)")
        self._build_pipeline()

    @classmethod
    def load(cls, locales_dir: Path) -> "Redactor":
        """Read locales/languages.yml ('supported', 'default'), every locales/<lang>/_redaction.yml and the helpline
        numbers in locales/numbers.yml (optional); fails naming the file that is wrong. The words of the training
        examples (data/nlu/<lang>.yml beside locales/, when there) are the known words weak intros need."""
        index = locales_dir / "languages.yml"
        config = _read_yaml(index)
        codes = [str(c) for c in (config.get("supported") or [])]
        if not codes:
            raise RedactionConfigError(f"{index}: needs 'supported' (a list of language codes).")
        data = {code: _read_yaml(locales_dir / code / "_redaction.yml") for code in codes}
        rules = [_load_rules(locales_dir / code / "_redaction.yml", code) for code in codes]
        default = str(config.get("default") or codes[0])
        # the default language's end words apply after every intro: its words are mixed into messages in all languages
        shared = next((r.ends for r in rules if r.code == default), frozenset())
        numbers_path = locales_dir / "numbers.yml"
        helplines: FrozenSet[str] = frozenset()
        if numbers_path.exists():
            numbers = _read_yaml(numbers_path).get("numbers") or {}
            helplines = frozenset(canonical_number(str(n)) for n in numbers)
        details = DetailFinder(load_words(data, fold), fold)
        return cls(rules, shared, helplines, details, known_words(locales_dir.parent / "data" / "nlu", codes))

    # ---- the work ---------------------------------------------------------------------------------------------
    def redact(self, text: str) -> Redacted:
        """``text`` with every identifying span replaced by its placeholder, and the kinds found."""
        spans = self.find(text)
        if not spans:
            return Redacted(text, ())
        pieces: List[str] = []
        position = 0
        for span in spans:
            pieces.append(text[position:span.start])
            pieces.append(PLACEHOLDERS[span.kind])
            position = span.end
        pieces.append(text[position:])
        kinds = tuple(dict.fromkeys(span.kind for span in spans))
        return Redacted("".join(pieces), kinds)

    def find(self, text: str) -> Tuple[Span, ...]:
        """The identifying spans of ``text``: sorted, not overlapping (what ``redact`` replaces; used to measure)."""
        if not isinstance(text, str):
            raise TypeError(f"redact() takes a str, not {type(text).__name__}")
        if not text.strip():
            return ()
        try:
            copy = matching_copy(text)
            numbers = DetailFinder.zeros(copy)  # "O77OO 9OO 456": the letter O as zero inside digit words
            candidates = list(self._numbers_and_codes(numbers)) + list(self._names(copy))
            if self._details is not None:
                candidates += [Span(start, end, kind) for start, end, kind in self._details.find(numbers)]
            spans = _merge(candidates)
        except Exception as exc:  # never let a detector's exception carry the text into a log
            raise RedactionError(f"redaction failed ({exc.__class__.__name__}); do not pass the message on") from None
        if len(self._nlp.vocab.strings) > self._vocab_base + VOCAB_LIMIT:
            self._build_pipeline()
        return spans

    # ---- numbers, emails, codes, postcodes, addresses --------------------------------------------------------
    def _numbers_and_codes(self, copy: str) -> Iterator[Span]:
        for match in _EMAIL.finditer(copy):
            yield Span(match.start(), match.end(), "email")
        for match in _NI.finditer(copy):
            yield Span(match.start(), match.end(), "ni")
        for match in _NI_NO_SUFFIX.finditer(copy):  # two letters and six digits is also a passport number (CB123456)
            passport = self._after_passport_word(copy, match.start())
            yield Span(match.start(), match.end(), "passport" if passport else "ni")
        for match in _POSTCODE.finditer(copy):
            if not (_ORDINAL_INWARD.search(match.group()) and not match.group().isupper()):
                yield Span(match.start(), match.end(), "postcode")
        for pattern in (_CODE, _SPACED_BRP):
            for match in pattern.finditer(copy):
                passport = self._after_passport_word(copy, match.start())
                yield Span(match.start(), match.end(), "passport" if passport else "id")
        for match in _PASSPORT_DIGITS.finditer(copy):
            if self._after_passport_word(copy, match.start()):
                yield Span(match.start(), match.end(), "passport")
        for match in _ADDRESS.finditer(copy):
            if not any(word.lower() in _NOT_STREET_WORDS for word in match.group(1).split()):
                yield Span(match.start(), match.end(), "address")
        yield from self._phones(copy)

    def _phones(self, copy: str) -> Iterator[Span]:
        """Phone numbers: phonenumbers' matcher (UK by default, any +country), and any run of 7 or more digits."""
        import phonenumbers

        if sum(ch.isdigit() for ch in copy) < MIN_PHONE_DIGITS:
            return
        found = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(copy, "GB", phonenumbers.Leniency.POSSIBLE)]
        found += [(m.start(), m.end()) for m in _DIGIT_RUN.finditer(copy)]
        if not found:
            return
        protected = [(m.start(), m.end()) for pattern in _NOT_A_PHONE for m in pattern.finditer(copy)]
        for start, end in found:
            number = copy[start:end]
            if sum(ch.isdigit() for ch in number) < MIN_PHONE_DIGITS:
                continue
            if any(p_start <= start and end <= p_end for p_start, p_end in protected):
                continue
            canonical = canonical_number(number)
            if canonical in self._helplines or canonical.startswith(FREEPHONE_PREFIXES):
                continue
            kind = "passport" if self._after_passport_word(copy, start) else "phone"
            yield Span(start, end, kind)

    def _after_passport_word(self, copy: str, start: int) -> bool:
        """A word like "passport" shortly before ``start``, with no other number in between ("passport no 925076473",
        not "passport 925076473, call 07700 900123"); a number written with + is a phone number whatever precedes it."""
        if copy[start:start + 1] == "+":
            return False
        window = fold(copy[max(0, start - PASSPORT_CONTEXT):start])
        found = None
        for found in self._passport_pattern.finditer(window):
            pass
        return found is not None and not any(ch.isdigit() for ch in window[found.end():])

    # ---- names ------------------------------------------------------------------------------------------------
    def _build_pipeline(self) -> None:
        """A blank multilingual spaCy pipeline and a PhraseMatcher on the folded intro phrases of every language."""
        import spacy
        from spacy.matcher import PhraseMatcher

        nlp = spacy.blank("xx")
        matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        for rules in self._rules.values():
            for label, phrases in ((rules.code, rules.intros), (f"{rules.code}{_WEAK}", rules.weak_intros),
                                   (f"{rules.code}{_THANKS}", rules.thanks)):
                patterns = [self._folded_doc(nlp, phrase) for phrase in phrases]
                if any(len(p) for p in patterns):
                    matcher.add(label, [p for p in patterns if len(p)])
        self._nlp, self._matcher = nlp, matcher
        self._vocab_base = len(nlp.vocab.strings)

    @staticmethod
    def _folded_doc(nlp, text: str):  # -> spacy.tokens.Doc
        doc = nlp.make_doc(text)
        for token in doc:
            token.norm_ = fold(token.text)
        return doc

    def _names(self, copy: str) -> Iterator[Span]:
        """The 1-3 words after an intro phrase ("my name is", "me llamo", "اسمي", "amar naam"...)."""
        doc = self._folded_doc(self._nlp, tokenizable(copy))
        intros: Dict[Tuple[int, int], Set[str]] = {}
        for match_id, start, end in self._matcher(doc):
            intros.setdefault((start, end), set()).add(self._nlp.vocab.strings[match_id])
        last_end = -1
        for (start, end), labels in sorted(intros.items(), key=lambda item: (item[0][0], -item[0][1])):
            if start < last_end:  # "name is" inside "my name is": the longest intro wins
                continue
            last_end = end
            strong = {label for label in labels if label in self._rules}
            if strong:
                span = self._name_after(doc, end, strong)
            elif any(label.endswith(_WEAK) for label in labels):
                span = self._name_after(doc, end, {label.split(":")[0] for label in labels}, unknown_only=True)
            else:
                span = self._signature_after(doc, end, {label.split(":")[0] for label in labels})
            if span is not None:
                yield span

    def _signature_after(self, doc, i: int, codes: Set[str]) -> Optional[Span]:
        """"thanks, Maria" / "merci beaucoup. Amal": after thanks (and known words), a punctuation mark, then a name
        of unknown words that ends the message."""
        while i < len(doc) and (self._is_known(doc[i].norm_) or _is_blank(doc[i])) and _is_word(doc[i].text):
            i += 1
        if i >= len(doc) or _is_word(doc[i].text) or doc[i].text not in _SIGNATURE_MARKS:
            return None
        span = self._name_after(doc, i + 1, codes, unknown_only=True)
        if span is None:
            return None
        rest = doc.text[span.end:]
        return span if not any(unicodedata.category(ch)[0] in "LN" for ch in rest) else None

    def _name_after(self, doc, i: int, codes: Iterable[str], unknown_only: bool = False) -> Optional[Span]:
        """The name that follows an intro ending at token ``i``, by the rules of the languages ``codes``; with
        ``unknown_only``, of words no training example uses."""
        ends = set(self._shared_ends)
        particles: Set[str] = set()
        for code in codes:
            ends |= self._rules[code].ends
            particles |= self._rules[code].particles
        n = len(doc)
        while i < n and (doc[i].text in (":", "-", "=", "ঃ") or _is_blank(doc[i])):
            i += 1
        words = 0
        first: Optional[int] = None
        last: Optional[int] = None
        mode: Optional[str] = None
        while i < n and words < (MAX_CAPITALISED_NAME_WORDS if mode == "upper" else MAX_NAME_WORDS):
            token = doc[i]
            if _is_blank(token):
                i += 1
                continue
            if first is not None and token.norm_ in particles:
                following = self._after_particles(doc, i, particles, ends, mode)
                if following is None:
                    break
                i = following
                continue
            if not _is_word(token.text) or token.norm_ in ends or (unknown_only and self._is_known(token.norm_)):
                break
            case = _case_of(token.text)
            if first is None:
                mode = case
            elif not _case_continues(mode, case):
                break
            first = i if first is None else first
            last = i
            words += 1
            i += 1
            # "Mary-Jane", "O'Connor": a hyphen or apostrophe with no space around it joins two parts of one word
            while (i + 1 < n and doc[i].text in ("-", "'") and not doc[i - 1].whitespace_ and not doc[i].whitespace_
                   and _is_word(doc[i + 1].text)):
                last = i + 1
                i += 2
        if first is None or last is None:
            return None
        if unknown_only and mode != "upper" and not self._closed(doc, last + 1, words):
            return None
        return Span(doc[first].idx, doc[last].idx + len(doc[last].text), "name")

    def _is_known(self, word: str) -> bool:
        """A word of the training examples, also with an Arabic conjunction or preposition joined to its front
        ("وعيالي" is "and my children")."""
        return word in self._known or (word[:1] in _ARABIC_PREFIXES and word[1:] in self._known)

    def _closed(self, doc, i: int, words: int) -> bool:
        """After a weak intro, a name that is not capitalised ("আমি রুমা,", "main nadia hoon") is taken only when
        it is one or two words and a punctuation mark or a closing word ("hoon", "ہوں") follows it. Not the end of
        the message: "woh mujhe maarega" and "আমি মরবো" end in a verb the examples may not have, and a danger
        message must reach the assistant whole."""
        while i < len(doc) and _is_blank(doc[i]):
            i += 1
        if words > 2 or i >= len(doc):
            return False
        return doc[i].norm_ in self._closers or (
            not _is_word(doc[i].text) and not doc[i].is_space and not any(ch.isdigit() for ch in doc[i].text))

    @staticmethod
    def _after_particles(doc, i: int, particles: Set[str], ends: Set[str], mode: Optional[str]) -> Optional[int]:
        """Where the name goes on after particles ("da", "de la"), or None when no name word follows them."""
        j = i
        while j < len(doc) and (doc[j].norm_ in particles or _is_blank(doc[j])):
            j += 1
        if j >= len(doc) or not _is_word(doc[j].text) or doc[j].norm_ in ends:
            return None
        return j if _case_continues(mode, _case_of(doc[j].text)) else None


def _merge(candidates: List[Span]) -> Tuple[Span, ...]:
    """Overlapping candidates become one span (their union: removal errs on the side of more), named by precedence."""
    merged: List[Span] = []
    for span in sorted(candidates, key=lambda s: (s.start, -s.end)):
        if span.end <= span.start:
            continue
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=_PRECEDENCE.index)
            merged[-1] = Span(last.start, max(last.end, span.end), kind)
        else:
            merged.append(span)
    return tuple(merged)


def _is_blank(token) -> bool:
    return token.is_space and "\n" not in token.text


def _is_word(text: str) -> bool:
    """A possible part of a name: has a letter, no digit, no @ (punctuation, numbers and emails end a name)."""
    return (any(unicodedata.category(ch).startswith("L") for ch in text)
            and not any(ch.isdigit() for ch in text) and "@" not in text and "/" not in text)


def _case_of(word: str) -> Optional[str]:
    """"upper" (capitalised), "lower", or None for scripts without case (Arabic, Urdu, Bengali)."""
    first = next((ch for ch in word if unicodedata.category(ch).startswith("L")), "")
    return "upper" if first.isupper() else "lower" if first.islower() else None


def _case_continues(mode: Optional[str], case: Optional[str]) -> bool:
    """After a capitalised first word only capitalised words follow ("Amina Begum pls"); after a lower-case one, any
    cased word (SMS often has no capitals: "amina begum"); after an uncased script, only that script."""
    if mode == "upper":
        return case == "upper"
    if mode == "lower":
        return case in ("upper", "lower")
    return case is None


# ---- loading ----------------------------------------------------------------------------------------------------
def _read_yaml(path: Path) -> Dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RedactionConfigError(f"{path} is missing (every supported language needs a _redaction.yml: "
                                   f"see docs/redaction.md).") from None
    except (OSError, yaml.YAMLError) as exc:
        raise RedactionConfigError(f"{path}: cannot be read ({exc.__class__.__name__}).") from exc
    if not isinstance(data, dict):
        raise RedactionConfigError(f"{path}: expected a mapping of fields.")
    return data


def _load_rules(path: Path, code: str) -> NameRules:
    data = _read_yaml(path)
    if data.get("language", code) != code:
        raise RedactionConfigError(f"{path}: says language={data.get('language')!r}; the folder says {code!r}.")
    intros = _words(path, data, "name_intros")
    if not intros:
        raise RedactionConfigError(f"{path}: 'name_intros' must list at least one phrase.")
    return NameRules(
        code=code,
        intros=intros,
        ends=frozenset(fold(w) for w in _words(path, data, "name_ends")),
        particles=frozenset(fold(w) for w in _words(path, data, "name_particles")),
        passport_words=tuple(fold(w) for w in _words(path, data, "passport_words")),
        weak_intros=_words(path, data, "weak_name_intros"),
        thanks=_words(path, data, "thanks_words"),
        closers=frozenset(fold(w) for w in _words(path, data, "name_closers")),
    )


def known_words(nlu_dir: Path, codes: Sequence[str]) -> FrozenSet[str]:
    """Every word (folded) of the training examples of ``codes``: ordinary words, never taken for a name after a
    weak intro. The examples hold no names (placeholders stand in for them)."""
    words: Set[str] = set()
    for code in codes:
        path = nlu_dir / f"{code}.yml"
        if not path.exists():
            continue
        for block in (_read_yaml(path).get("nlu") or []):
            for line in str(block.get("examples", "")).splitlines():
                words.update(fold(w) for w in re.findall(r"[^\W\d_]+", line.lstrip(" -")))
    return frozenset(words)


def _words(path: Path, data: Mapping, key: str) -> Tuple[str, ...]:
    values = data.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RedactionConfigError(f"{path}: '{key}' must be a list of strings (quote yes, no, on, off, y, n and "
                                   f"phrases ending in ':').")
    return tuple(v.strip() for v in values if v.strip())
