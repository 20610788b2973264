"""SMS encoding and segment arithmetic: what a text really costs to send.

A text that fits GSM-7 (the GSM 03.38 alphabet) goes 160 characters in one segment, 153 per segment when split;
a single character outside it (an accent like "á", any Arabic or Bengali letter, a curly quote) turns the whole
message into UCS-2: 70 in one segment, 67 per segment when split, counted in UTF-16 code units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: characters sent as an escape plus a second septet: each counts twice
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"


def segment_sizes(encoding: str) -> "tuple[int, int]":
    """Units in a single-segment message, and per segment of a concatenated one (the UDH takes the rest)."""
    return (160, 153) if encoding == GSM7 else (70, 67)


@dataclass(frozen=True)
class SmsCost:
    """What a text costs as one SMS message: its encoding, its length in that encoding's units, and segments."""

    encoding: str
    units: int
    segments: int

    @property
    def per_segment(self) -> int:
        single, multi = segment_sizes(self.encoding)
        return single if self.segments <= 1 else multi


def encoding_of(text: str) -> str:
    """GSM-7 when every character is in the GSM 03.38 alphabet (basic or extension table), else UCS-2."""
    return GSM7 if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text) else UCS2


def units(text: str, encoding: str) -> int:
    """Length in septets (GSM-7, extension characters count two) or UTF-16 code units (UCS-2)."""
    if encoding == GSM7:
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


def cost(text: str) -> SmsCost:
    """The encoding, length and number of segments a carrier will bill for ``text``."""
    encoding = encoding_of(text)
    n = units(text, encoding)
    single, multi = segment_sizes(encoding)
    segments = 1 if n <= single else math.ceil(n / multi)
    return SmsCost(encoding, n, segments)


#: characters that end a sentence in the supported scripts: Latin . ! ?, the Arabic question mark U+061F, the Urdu
#: full stop U+06D4, the Bengali danda U+0964 (and the double danda U+0965)
SENTENCE_ENDS = ".!?\u061f\u06d4\u0964\u0965"
#: a closing line this short (the "reply MORE" hint, the "translation not checked" note) never starts a part: it
#: stays with the sentence before it, so no message is only a note
CLOSING_LINE_MAX = 60


def split_for_segments(text: str, max_units: int) -> List[str]:
    """Split on sentence or line boundaries into parts of at most ``max_units`` (in ``text``'s own encoding).

    Used when one reply must go as several separate messages; a sentence longer than a part is cut on spaces.
    Short closing lines at the end are kept with the sentence before them.
    """
    encoding = encoding_of(text)
    pieces: List[str] = []
    for line in text.split("\n"):
        pieces.extend(_sentences(line) or [""])
        pieces[-1] = pieces[-1].rstrip(" ") + "\n"
    pieces = _glue_closing_lines(pieces, encoding, max_units)
    parts: List[str] = []
    current = ""
    for piece in pieces:
        candidate = current + piece if current else piece.lstrip()
        if units(candidate.rstrip(), encoding) <= max_units:
            current = candidate
            continue
        if current.strip():
            parts.append(current.rstrip())
        current = piece.lstrip()
        while units(current.rstrip(), encoding) > max_units:
            cut = _cut(current, max_units, encoding)
            parts.append(current[:cut].rstrip())
            current = current[cut:].lstrip()
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _glue_closing_lines(pieces: List[str], encoding: str, max_units: int) -> List[str]:
    """Join the short whole lines at the end (a hint, a note) to the piece before them, when that still fits."""
    pieces = [p for p in pieces if p.strip()]
    tail: List[str] = []
    while len(pieces) >= 2 and pieces[-2].endswith("\n") and units(pieces[-1].strip(), encoding) <= CLOSING_LINE_MAX:
        tail.insert(0, pieces.pop())
    if tail and units((pieces[-1] + "".join(tail)).strip(), encoding) <= max_units:
        return pieces[:-1] + [pieces[-1] + "".join(tail)]
    return pieces + tail


def _sentences(line: str) -> List[str]:
    """A line's sentences, each with one trailing space (the space it was followed by)."""
    out, start = [], 0
    for i, ch in enumerate(line):
        if ch in SENTENCE_ENDS and (i + 1 == len(line) or line[i + 1] == " "):
            out.append(line[start : i + 1].strip() + " ")
            start = i + 1
    if line[start:].strip():
        out.append(line[start:].strip())
    return [s for s in out if s.strip()]


def _cut(text: str, max_units: int, encoding: str) -> int:
    """The last space before ``max_units`` (or a hard cut there when there is none)."""
    end = 0
    for i in range(1, len(text) + 1):
        if units(text[:i], encoding) > max_units:
            break
        end = i
    space = text.rfind(" ", 0, end)
    return space if space > 0 else max(end, 1)
