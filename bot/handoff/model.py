"""The handoff's vocabulary, with no I/O: case codes, outcomes, the case record, advocates and the errors.

A case code is what an advocate and the record know a case by ("7F3K"): 4 characters from an alphabet without
look-alikes (no 0/O, 1/I/L, 5/S, 2/Z, 8/B), random, so a code says nothing about when or from where a case came.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Tuple

CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 4
_CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


class HandoffError(Exception):
    """Base of the handoff's errors; messages name the problem and what to do, never a person's details."""


class UnknownCase(HandoffError):
    """No open case has this code (a typo, or a case already closed)."""


class NotYours(HandoffError):
    """The case is owned by another advocate: nothing is delivered, the sender is told."""


class AlreadyClaimed(HandoffError):
    """Another advocate took the case first."""


class NotAnAdvocate(HandoffError):
    """Someone who is not a registered advocate tried to act on a case (logged as an event, no content)."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def parse_code(text: str) -> Optional[str]:
    """A case code as an advocate typed it ("7f3k", " 7F3K."), or None."""
    code = text.strip().strip(".,:;!").upper()
    return code if _CODE.match(code) else None


class Outcome(str, Enum):
    """How a case ended (the record keeps the code only)."""

    ADVICE_GIVEN = "advice"
    REFERRED = "referred"
    CALLBACK_ARRANGED = "callback"
    NO_REPLY = "no_reply"
    SHE_LEFT = "she_left"
    FORGOTTEN = "forgotten"
    TIMED_OUT = "timed_out"
    DISCONNECTED = "disconnected"  # the live state was lost (a restart of the local profile)
    OTHER = "other"

    @classmethod
    def parse(cls, word: str) -> Optional["Outcome"]:
        word = word.strip().lower()
        return next((o for o in cls if o.value == word or o.name.lower() == word), None)


class DeskKind(str, Enum):
    """Where an advocate works: the Telegram supergroup, or her own phone by SMS."""

    TELEGRAM = "telegram"
    SMS = "sms"


@dataclass(frozen=True)
class Advocate:
    """A registered advocate. ``address`` is hers (a Telegram user id or a phone number), given by the operator who
    registered her: staff contact details, never a woman's. ``display`` is the name or role shown to women."""

    id: int
    desk: DeskKind
    address: str
    display: str
    languages: Tuple[str, ...]
    active: bool = True

    def __repr__(self) -> str:  # the address stays out of logs and tracebacks
        return f"Advocate(id={self.id}, desk={self.desk.value}, languages={self.languages})"


@dataclass(frozen=True)
class CaseRecord:
    """What the database keeps of a case: nothing that identifies her (no pseudonym, no address, no text, no time
    finer than the day)."""

    code: str
    language: str
    topics: Tuple[str, ...]
    channel: str  # her channel's kind: "sms" or "telegram"
    opened_on: dt.date
    advocate_id: Optional[int] = None
    seconds_to_first_response: Optional[int] = None
    seconds_handled: Optional[int] = None
    outcome: Optional[Outcome] = None
