"""The contract between a channel adapter and the pipeline.

An adapter verifies a delivery (fail closed), parses it into a frozen ``InboundMessage`` or says to ignore it, and
sends text back. It never imports Rasa, the stores or the pipeline. The address and the text are excluded from
``repr`` so that an InboundMessage that ends up in a log line or a traceback shows neither.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import List, Optional, Protocol, Sequence

SMS = "sms"
TELEGRAM = "telegram"

#: the gateway's own command: wipe this conversation (Telegram /forget; on SMS her language's forget words)
FORGET = "forget"
#: Telegram's /start: a greeting
START = "start"


#: why a message could not be delivered, when the provider says (shown to an advocate whose message it was)
BLOCKED = "she has blocked the bot"
OPTED_OUT = "she has opted out of SMS from this number (STOP)"


class ChannelError(RuntimeError):
    """Sending failed after bounded retries; the message names the channel and the HTTP status, never content.
    ``reason``: BLOCKED or OPTED_OUT when the provider said so; ``retry_after``: seconds the provider asked us to wait
    (flood control) before sending again."""

    def __init__(self, message: str, reason: Optional[str] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class VerificationFailed(Exception):
    """A delivery did not prove it came from the provider (bad signature or secret): answered 403."""


@dataclass(frozen=True)
class InboundMessage:
    """One message from a user, as the pipeline sees it before pseudonymisation."""

    channel: str
    message_id: str  # the provider's id of this delivery: duplicates share it
    address: str = field(repr=False)  # phone number or chat id: only adapters and privacy/ read it
    text: str = field(repr=False)
    command: Optional[str] = None  # FORGET or START when she used a command
    language_hint: Optional[str] = None  # Telegram's language_code, e.g. "pt-br"
    provider_message_ids: Sequence[str] = ()  # her message's id in her chat (Telegram), to delete on "forget me"
    #: opaque keys, derived by the adapter with its own secret, that a re-delivery or replay of this delivery shares
    delivery_keys: Sequence[str] = field(default=(), repr=False)


@dataclass(frozen=True)
class DeskMessage:
    """A message or a button press in the advocates' Telegram group (never hers): the desk turns it into an action on
    a case (``bot/handoff/telegram_desk``). ``topic`` is the forum topic it was written in; None is the General topic,
    which is never taken for a case."""

    channel: str
    message_id: str  # the update's id: duplicates share it
    sender: str = field(repr=False)  # the advocate's Telegram user id
    topic: Optional[int]
    text: str = field(repr=False)
    button: Optional[str] = None  # the callback data of a button she pressed ("take:7F3K")
    callback_id: Optional[str] = None  # answered, so her client stops waiting
    delivery_keys: Sequence[str] = field(default=(), repr=False)


def delivery_key(secret: str, kind: str, value: str) -> str:
    """A keyed hash naming one delivery (see storage.deliveries): stable across restarts, meaningless without the
    channel's secret."""
    return hmac.new(secret.encode("utf-8"), f"{kind}\x1f{value}".encode("utf-8", "replace"),
                    hashlib.sha256).hexdigest()[:48]


@dataclass(frozen=True)
class Sent:
    """What an adapter reports after sending: the provider's ids of the messages now in her chat."""

    provider_message_ids: List[str]


class Adapter(Protocol):
    """Sends to one channel. ``name`` keys the pipeline's adapters and namespaces pseudonyms; ``form`` is the content
    form it takes (SMS or TELEGRAM): the simulator's phones take the same forms as the real channels."""

    name: str
    form: str

    def bodies(self, text: str, neutral_line: str) -> List[str]:
        """One reply as the messages this channel sends (split, formatted)."""

    async def send(self, address: str, text: str) -> Sent: ...

    async def forget(self, address: str, provider_message_ids: Sequence[str]) -> int:
        """Delete what the provider lets us delete of this conversation; returns how many were deleted."""

    async def close(self) -> None: ...
