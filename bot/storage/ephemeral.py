"""Short-lived state with an expiry: in this process's memory (local) or in Redis (scaled, no persistence).

Everything the gateway must remember about a person for a while lives here and nowhere else: the route (the address
needed to reply), duplicate markers and rate counters. Every key expires; nothing is written to disk by this module.
"""
from __future__ import annotations

import time
from typing import Dict, Optional, Protocol, Tuple


class Ephemeral(Protocol):
    """A key-value store whose every key has an expiry (seconds)."""

    async def get(self, key: str) -> Optional[str]: ...

    async def put(self, key: str, value: str, ttl: int) -> None: ...

    async def add(self, key: str, ttl: int) -> bool:
        """Set ``key`` only if it is absent; True if this call set it (a duplicate check in one step)."""

    async def incr(self, key: str, ttl: int) -> int:
        """Count up; the expiry starts at the first count (a fixed rate window)."""

    async def delete(self, *keys: str) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryEphemeral:
    """The local profile's store: a dict of (expires_at, value), swept as it is used."""

    def __init__(self, clock=time.monotonic) -> None:
        self._data: Dict[str, Tuple[float, str]] = {}
        self._clock = clock
        self._writes = 0

    def _live(self, key: str) -> Optional[Tuple[float, str]]:
        item = self._data.get(key)
        if item is not None and item[0] <= self._clock():
            del self._data[key]
            return None
        return item

    def _set(self, key: str, value: str, ttl: int) -> None:
        self._data[key] = (self._clock() + ttl, value)
        self._writes += 1
        if self._writes % 1000 == 0:
            self.sweep()

    def sweep(self) -> None:
        """Drop every expired key (so expired addresses do not linger in memory until they are next read)."""
        now = self._clock()
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]

    async def get(self, key: str) -> Optional[str]:
        item = self._live(key)
        return None if item is None else item[1]

    async def put(self, key: str, value: str, ttl: int) -> None:
        self._set(key, value, ttl)

    async def add(self, key: str, ttl: int) -> bool:
        if self._live(key) is not None:
            return False
        self._set(key, "1", ttl)
        return True

    async def incr(self, key: str, ttl: int) -> int:
        item = self._live(key)
        if item is None:
            self._set(key, "1", ttl)
            return 1
        count = int(item[1]) + 1
        self._data[key] = (item[0], str(count))
        return count

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class RedisEphemeral:
    """The scaled profile's store, shared by every gateway instance. Run Redis with ``--save "" --appendonly no``."""

    def __init__(self, url: str, prefix: str = "assistant:") -> None:
        from redis import asyncio as redis_asyncio  # imported here: the local profile never needs Redis

        self._redis = redis_asyncio.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> Optional[str]:
        return await self._redis.get(self._k(key))

    async def put(self, key: str, value: str, ttl: int) -> None:
        await self._redis.set(self._k(key), value, ex=ttl)

    async def add(self, key: str, ttl: int) -> bool:
        return bool(await self._redis.set(self._k(key), "1", ex=ttl, nx=True))

    async def incr(self, key: str, ttl: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._k(key))
            pipe.expire(self._k(key), ttl, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._k(k) for k in keys))

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            return False

    async def close(self) -> None:
        await self._redis.close()


def ephemeral_from_url(url: str) -> Ephemeral:
    return RedisEphemeral(url) if url else MemoryEphemeral()
