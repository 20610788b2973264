"""What an advocate's message means: her words (SMS) or a command in a case's Telegram topic, parsed into a typed
action. Pure: no I/O, table-tested.

SMS (the case code names the case, since one phone serves many):
    TAKE 7F3K                 take the case
    7F3K <text>               send <text> to her
    CLOSE 7F3K [outcome]      close it (outcome: advice, referred, callback, no_reply, other)
    BACK 7F3K                 hand it back to the queue
    NAME 7F3K <name>          the name or role she sees from now on
In a Telegram topic the topic names the case, so the same words come without a code (/take, /close [outcome],
/back, /name <name>), and any other message is text for her.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from bot.handoff.model import Outcome, parse_code

MAX_NAME = 32


@dataclass(frozen=True)
class Take:
    code: str


@dataclass(frozen=True)
class Reply:
    code: str
    text: str


@dataclass(frozen=True)
class Close:
    code: str
    outcome: Outcome


@dataclass(frozen=True)
class Back:
    code: str


@dataclass(frozen=True)
class Rename:
    code: str
    name: str


@dataclass(frozen=True)
class Unclear:
    """Not a command we know: the advocate is told how to write one (``hint``), nothing is delivered. ``code``: the
    case it was written about, when known (a Telegram topic), so the hint goes there."""

    hint: str
    code: Optional[str] = None


Action = Union[Take, Reply, Close, Back, Rename, Unclear]

SMS_HINT = "Write TAKE 7F3K, 7F3K your message, CLOSE 7F3K outcome, BACK 7F3K or NAME 7F3K name."
OUTCOME_HINT = "Outcomes: " + ", ".join(o.value for o in Outcome if o not in (Outcome.FORGOTTEN, Outcome.TIMED_OUT,
                                                                             Outcome.SHE_LEFT))


def parse_sms(text: str) -> Action:
    """An SMS advocate's message."""
    words = text.strip().split(maxsplit=2)
    if not words:
        return Unclear(SMS_HINT)
    verb = words[0].upper().strip(".:")
    code = parse_code(words[1]) if len(words) > 1 else None
    rest = words[2] if len(words) > 2 else ""
    if verb in ("TAKE", "CLOSE", "BACK", "NAME"):
        if code is None:
            return Unclear(SMS_HINT)
        return _verb(verb, code, rest)
    first = parse_code(words[0])
    if first is not None:
        body = text.strip()[len(words[0]):].strip()
        return Reply(first, body) if body else Unclear(SMS_HINT)
    return Unclear(SMS_HINT)


def parse_topic(text: str, code: str) -> Action:
    """A message in the Telegram topic of case ``code``: a command, or text for her."""
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, rest = stripped[1:].partition(" ")
        verb = head.split("@")[0].upper()
        if verb in ("TAKE", "CLOSE", "BACK", "NAME"):
            return _verb(verb, code, rest.strip())
        return Unclear("Commands here: /take, /close outcome, /back, /name name. Anything else goes to her.", code)
    return Reply(code, stripped) if stripped else Unclear("An empty message is not sent.", code)



def _verb(verb: str, code: str, rest: str) -> Action:
    if verb == "TAKE":
        return Take(code)
    if verb == "BACK":
        return Back(code)
    if verb == "CLOSE":
        if not rest:
            return Close(code, Outcome.OTHER)
        outcome = Outcome.parse(rest.split()[0])
        return Close(code, outcome) if outcome is not None else Unclear(OUTCOME_HINT, code)
    name = " ".join(rest.split())
    if not name or len(name) > MAX_NAME:
        return Unclear(f"Give the name or role she sees, 1-{MAX_NAME} characters.", code)
    return Rename(code, name)
