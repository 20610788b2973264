"""Which deliveries were already handled: a provider re-delivers (Twilio after a timeout, Telegram until it gets a
200), and a captured signed request can be replayed.

A delivery is known by opaque keys its channel adapter derives with its own secret (for Twilio, one from the message
SID and one from the signature, which covers every signed parameter: a replay that shifts a boundary between two
parameters keeps the signature, so it is caught). Scaled: keys in Redis with an expiry, shared by every gateway.
Local: keys in the database, so that a restart does not forget them; a key is a keyed hash (it names no message
and no person) with the day it was first seen, and rows older than ``KEEP_DAYS`` are deleted.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol, Sequence

from sqlalchemy import delete
from sqlalchemy.engine import Engine

from bot.storage.ephemeral import Ephemeral
from bot.storage.schema import delivery_keys

#: a provider re-delivers within minutes (Twilio) or hours (Telegram): a key is kept at least a day
TTL_SECONDS = 24 * 3600
KEEP_DAYS = 2

class Deliveries(Protocol):
    async def first(self, keys: Sequence[str]) -> bool:
        """Record ``keys``; True when none of them had been seen (the delivery is new)."""


class EphemeralDeliveries:
    """Keys in the ephemeral store (Redis when scaled), each with a day's expiry."""

    def __init__(self, ephemeral: Ephemeral) -> None:
        self._ephemeral = ephemeral

    async def first(self, keys: Sequence[str]) -> bool:
        added = [await self._ephemeral.add(f"seen:{key}", TTL_SECONDS) for key in keys]
        return all(added)


class DatabaseDeliveries:
    """Keys in the database (the local profile's SQLite), kept across restarts for ``KEEP_DAYS``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._purged_on: dt.date = dt.date.min

    async def first(self, keys: Sequence[str]) -> bool:
        return await asyncio.to_thread(self._first, list(keys))

    def _first(self, keys: Sequence[str]) -> bool:
        today = dt.date.today()
        insert = _insert_ignoring_duplicates(self._engine)
        new = 0
        with self._engine.begin() as connection:
            if self._purged_on != today:
                connection.execute(delete(delivery_keys).where(delivery_keys.c.day < today - dt.timedelta(KEEP_DAYS)))
                self._purged_on = today
            for key in keys:
                new += connection.execute(insert, {"key": key, "day": today}).rowcount
        return new == len(keys)


def _insert_ignoring_duplicates(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(delivery_keys).on_conflict_do_nothing(index_elements=["key"])
