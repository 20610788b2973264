"""Turn one reply into the SMS bodies to send: as few segments as the text's real encoding allows.

A reply that fits ``MAX_SEGMENTS`` concatenated segments goes as one body (the handset reassembles it, so the cost
is the minimum for its encoding). A longer one is split on sentence boundaries into bodies of at most that size,
each costed in its own encoding (a GSM-7 part is not billed as UCS-2 because another part has an accent).
"""
from __future__ import annotations

from typing import List

from bot.content.sms import cost, encoding_of, segment_sizes, split_for_segments

#: the content check holds SMS forms to 3 segments; the same budget per body here
MAX_SEGMENTS = 3


def body_budget(text: str, segments: int = MAX_SEGMENTS) -> int:
    """Units that fit in ``segments`` concatenated segments in ``text``'s encoding (153 or 67 per segment)."""
    single, per_segment = segment_sizes(encoding_of(text))
    return single if segments == 1 else per_segment * segments


def sms_bodies(text: str, neutral_line: str = "", segments: int = MAX_SEGMENTS) -> List[str]:
    """The bodies for one reply. ``neutral_line`` (what a lock screen shows) opens the first body only; the
    pipeline gives none before the emergency answer, whose "999" must come first."""
    text = text.strip()
    if not text:
        return []
    with_line = f"{neutral_line}\n{text}" if neutral_line else text
    if cost(with_line).segments <= segments:
        return [with_line]
    return split_for_segments(with_line, body_budget(with_line, segments))
