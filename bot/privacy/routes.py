"""The route: what the gateway must remember to answer her, keyed by pseudonym and expiring with inactivity.

A route holds the address (needed to reply), the language last answered in (so that a reply the gateway makes
itself, when Rasa is down, is in her language) and the provider ids of this conversation's messages (so that
"forget me" can delete them on Telegram, or delete the records at Twilio). It lives in the ephemeral store only:
memory, or Redis without persistence. Nothing else in the gateway sees the address.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import List, Optional, Sequence

from bot.storage.ephemeral import Ephemeral

#: at most this many message ids are remembered per conversation (Telegram deletes up to 100 per call)
MAX_IDS = 500
MAX_TOPICS = 5


@dataclass(frozen=True)
class Route:
    channel: str
    address: str = field(repr=False)
    language: Optional[str] = None
    message_ids: List[str] = field(default_factory=list, repr=False)
    #: the topics she was answered on (topic names, nothing of hers): the summary an advocate sees on a handoff
    topics: List[str] = field(default_factory=list)

    def with_ids(self, ids: Sequence[str]) -> "Route":
        return replace(self, message_ids=(self.message_ids + [i for i in ids if i])[-MAX_IDS:])

    def with_topic(self, topic: str) -> "Route":
        return self if topic in self.topics else replace(self, topics=(self.topics + [topic])[-MAX_TOPICS:])


class Routes:
    """Routes in an ephemeral store; every write renews the expiry."""

    def __init__(self, store: Ephemeral, ttl: int) -> None:
        self._store = store
        self._ttl = ttl

    @staticmethod
    def _key(pseudonym: str) -> str:
        return f"route:{pseudonym}"

    async def get(self, pseudonym: str) -> Optional[Route]:
        raw = await self._store.get(self._key(pseudonym))
        return Route(**json.loads(raw)) if raw else None

    async def put(self, pseudonym: str, route: Route) -> None:
        await self._store.put(self._key(pseudonym), json.dumps(asdict(route)), self._ttl)

    async def renew(self, pseudonym: str, ttl: int) -> None:
        """Keep a route ``ttl`` seconds from now (an open handoff must still reach her when an advocate answers
        after the office's closed hours)."""
        raw = await self._store.get(self._key(pseudonym))
        if raw:
            await self._store.put(self._key(pseudonym), raw, ttl)

    async def delete(self, pseudonym: str) -> None:
        await self._store.delete(self._key(pseudonym))
