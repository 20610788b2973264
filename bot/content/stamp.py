"""Record in each translation which English text it was translated from (``translated_from: en@<hash>``).

Run after a translation is written or revised; the content check then warns when the English entry changes later.
"""
from __future__ import annotations

import re
from pathlib import Path

from bot.content.model import ReviewStatus
from bot.content.store import ContentStore

_FIELD = re.compile(r"^translated_from:.*$", re.MULTILINE)


def stamp(store: ContentStore) -> int:
    """Rewrite the ``translated_from`` line of every unreviewed translation; returns how many changed."""
    default = store.languages.default
    changed = 0
    for (code, topic), entry in store.entries.items():
        if code == default or entry.status is not ReviewStatus.UNREVIEWED_TRANSLATION:
            continue
        source = store.entry(default, topic)
        if source is None:
            continue
        path = Path(entry.path)
        text = path.read_text(encoding="utf-8")
        line = f"translated_from: {default}@{source.text_hash()[:12]}"
        new = _FIELD.sub(line, text, count=1) if _FIELD.search(text) else text.rstrip("\n") + f"\n{line}\n"
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    return changed
