"""Telegram's form of a reply: HTML parse mode (the only markup whose escaping is simple and total), a bold first
paragraph as the headline, *starred* phrases in bold, bullets for lists, and messages under Telegram's
4096-character limit."""
from __future__ import annotations

import html
import re
from typing import List

LIMIT = 4096
HEADLINE_MAX = 160
#: the content marks a phrase as bold with *asterisks* (SMS shows them as typed; Telegram shows bold)
_STARRED = re.compile(r"\*([^*\n]+)\*")


def to_html(text: str) -> str:
    """Escape everything, then add the little markup the content's plain text implies."""
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    out = []
    for i, paragraph in enumerate(paragraphs):
        lines = []
        for line in paragraph.split("\n"):
            line = line.strip()
            if line.startswith("- "):
                line = "• " + line[2:]
            lines.append(_STARRED.sub(r"<b>\1</b>", html.escape(line, quote=False)))
        block = "\n".join(lines)
        if i == 0 and len(paragraphs) > 1 and len(paragraph) <= HEADLINE_MAX and "\n" not in paragraph:
            block = "<b>" + block.replace("<b>", "").replace("</b>", "") + "</b>"  # bold once, not nested
        out.append(block)
    return "\n\n".join(out)


def telegram_messages(text: str) -> List[str]:
    """One or more HTML messages, split between paragraphs so that markup never straddles two messages."""
    parts: List[str] = []
    current = ""
    for block in to_html(text).split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= LIMIT:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(block) > LIMIT:  # one paragraph longer than a message: cut on a line or space
            cut = block.rfind("\n", 0, LIMIT)
            cut = cut if cut > 0 else block.rfind(" ", 0, LIMIT)
            cut = cut if cut > 0 else LIMIT
            parts.append(block[:cut])
            block = block[cut:].lstrip()
        current = block
    if current:
        parts.append(current)
    return parts
