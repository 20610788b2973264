"""What one content entry is: a topic in one language, with its forms and its review record."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

#: the rights topics: each has sms, full, more (the next detail) and plain (the same answer in the simplest words)
RIGHTS_TOPICS: Tuple[str, ...] = (
    "police_immigration", "report_safely", "emergency", "domestic_abuse", "domestic_abuse_visa", "status_worry",
    "no_recourse_funds", "trafficking", "healthcare", "sexual_violence", "victims_rights", "legal_advice",
    "helplines", "talk_to_person", "privacy", "forget_me",
)
#: dialogue controls that have content (sms and full only)
CONTROL_TOPICS: Tuple[str, ...] = ("greet", "about_service", "goodbye", "thanks", "menu", "change_language",
                                   "fallback")
TOPICS: Tuple[str, ...] = RIGHTS_TOPICS + CONTROL_TOPICS
#: topics whose entry is a short reply that does not need a follow-up form or a plain form
NO_MORE_FORM = frozenset(CONTROL_TOPICS) | {"forget_me"}
#: the answer that must reach her first: on SMS nothing (not even the neutral first line) goes before its "999"
URGENT_TOPICS = frozenset({"emergency"})
#: forms of an entry: sms, more and plain are SMS-sized (plain is served on both channels); full is Telegram's
FORMS: Tuple[str, ...] = ("sms", "more", "plain", "full")

REQUIRED_FIELDS = ("topic", "language", "status", "reviewed_by", "reviewed_on", "review_due", "sources", "sms", "full")


class ReviewStatus(str, enum.Enum):
    """Where an entry stands. Only a named reviewing role can make an entry vetted."""

    DRAFT = "draft"
    UNREVIEWED_TRANSLATION = "unreviewed-translation"
    VETTED = "vetted"


@dataclass(frozen=True)
class Entry:
    """One topic in one language, as loaded from ``locales/<language>/<topic>.yml``."""

    topic: str
    language: str
    status: ReviewStatus
    sources: Tuple[str, ...]
    sms: str
    full: str
    more: Optional[str]
    plain: Optional[str]
    reviewed_by: Optional[str]
    reviewed_on: Optional[dt.date]
    review_due: Optional[dt.date]
    translated_from: Optional[str]
    path: str

    @property
    def content_id(self) -> str:
        """A stable id for exactly this text: ``<language>/<topic>@<first 8 hex of its hash>``."""
        return f"{self.language}/{self.topic}@{self.text_hash()[:8]}"

    def text_hash(self) -> str:
        """Hash of the served texts: a translation records its source's hash to notice when the source changed."""
        digest = hashlib.sha256()
        for form in (self.sms, self.full, self.more or ""):
            digest.update(form.encode("utf-8") + b"\0")
        if self.plain:  # entries without a plain form keep the hash they had before plain forms existed
            digest.update(b"plain\0" + self.plain.encode("utf-8") + b"\0")
        return digest.hexdigest()

    def form(self, name: str) -> Optional[str]:
        return {"sms": self.sms, "full": self.full, "more": self.more, "plain": self.plain}[name]

    @property
    def vetted(self) -> bool:
        return self.status is ReviewStatus.VETTED


def entry_from_mapping(data: Mapping, path: str) -> Entry:
    """Build an Entry; raises KeyError/ValueError naming the field (the check turns that into a finding)."""
    missing = [name for name in REQUIRED_FIELDS if name not in data]
    if missing:
        raise KeyError(", ".join(missing))
    return Entry(
        topic=str(data["topic"]),
        language=str(data["language"]),
        status=ReviewStatus(data["status"]),
        sources=tuple(str(s) for s in (data.get("sources") or ())),
        sms=str(data["sms"] or "").strip(),
        full=str(data["full"] or "").strip(),
        more=str(data["more"]).strip() if data.get("more") else None,
        plain=str(data["plain"]).strip() if data.get("plain") else None,
        reviewed_by=data.get("reviewed_by"),
        reviewed_on=_date(data.get("reviewed_on"), "reviewed_on"),
        review_due=_date(data.get("review_due"), "review_due"),
        translated_from=data.get("translated_from"),
        path=path,
    )


def _date(value, name: str) -> Optional[dt.date]:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None
