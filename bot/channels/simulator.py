"""The local simulator's two phones: an SMS phone and a Telegram client, in a web page on localhost.

They go through the same pipeline as the real channels (pseudonyms, redaction, Rasa, the channel's splitting and
formatting); only the last step differs: what would be sent is kept in an in-memory outbox for the page to show,
with the SMS cost (encoding, units, segments) the real send would have. Nothing here is written anywhere.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Sequence

from bot.channels.base import SMS, TELEGRAM, Sent
from bot.channels.sms_format import sms_bodies
from bot.channels.telegram_format import telegram_messages
from bot.content.sms import cost

SIM_SMS = "sim-sms"
SIM_TELEGRAM = "sim-telegram"


@dataclass(frozen=True)
class Bubble:
    """One message on the simulated phone."""

    id: str
    text: str
    form: str

    def as_json(self) -> Dict[str, object]:
        data: Dict[str, object] = {"id": self.id, "text": self.text}
        if self.form == SMS:
            c = cost(self.text)
            data["sms"] = {"encoding": c.encoding, "units": c.units, "segments": c.segments}
        else:
            data["html"] = True
        return data


class SimulatedPhone:
    """An adapter whose ``send`` puts the message in the page's outbox and whose ``forget`` removes bubbles."""

    def __init__(self, form: str, name: str = "") -> None:
        self.form = form
        self.name = name or (SIM_SMS if form == SMS else SIM_TELEGRAM)
        self._outbox: Dict[str, List[Bubble]] = defaultdict(list)
        self._deleted: Dict[str, List[str]] = defaultdict(list)
        self._ids = itertools.count(1_000)

    def next_id(self) -> str:
        return str(next(self._ids))

    def bodies(self, text: str, neutral_line: str = "") -> List[str]:
        return sms_bodies(text, neutral_line) if self.form == SMS else telegram_messages(text)

    async def send(self, address: str, text: str) -> Sent:
        bubble = Bubble(self.next_id(), text, self.form)
        self._outbox[address].append(bubble)
        return Sent([bubble.id])

    async def forget(self, address: str, provider_message_ids: Sequence[str]) -> int:
        """Telegram's deleteMessages on the page: these bubbles disappear (SMS threads stay: she deletes them)."""
        if self.form == TELEGRAM:
            self._deleted[address].extend(provider_message_ids)
            return len(provider_message_ids)
        return 0

    def collect(self, address: str) -> Dict[str, list]:
        """What the page shows next: new bubbles and ids to remove. Taking them empties the outbox."""
        replies = [b.as_json() for b in self._outbox.pop(address, [])]
        deleted = self._deleted.pop(address, [])
        return {"replies": replies, "deleted": deleted}

    async def close(self) -> None:
        self._outbox.clear()
        self._deleted.clear()
