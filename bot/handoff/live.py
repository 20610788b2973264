"""Live handoff state, in the ephemeral store like the routes (memory locally, Redis with expiries when scaled):
which conversation (pseudonym) is in which case, the case's state, who owns it, the name she sees, and when each side
last wrote (the Telegram desk keeps which topic is whose case, in the same store). Nothing here is written to disk;
the database keeps only the anonymous record (``cases``). Every key expires ``ttl`` seconds after the case was last
touched.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Callable, List, Optional, Sequence, Tuple

from bot.storage.ephemeral import Ephemeral

QUEUED = "queued"
CONNECTED = "connected"
#: an offer of a person is answered within this long, or it lapses ("1" later is the menu's 1 again)
CONSENT_SECONDS = 1800


@dataclass(frozen=True)
class LiveCase:
    """An open case as the relay needs it. ``channel`` is her adapter's name (her address stays in her route)."""

    code: str
    pseudonym: str
    channel: str
    language: str
    state: str = QUEUED
    advocate_id: Optional[int] = None
    display: str = ""
    opened_at: float = 0.0
    last_her: float = 0.0
    last_advocate: float = 0.0
    answered: bool = False  # an advocate's message reached her (the record's first response is set once)
    reminded: bool = False  # she was told no one is free yet (once)
    flagged: bool = False   # its advocate was told she has not answered for a while (once per silence)
    relayed: Tuple[str, ...] = ()  # the provider's ids of the copies of her messages on the advocates' side

    def __repr__(self) -> str:  # the pseudonym links log lines; it is shown, nothing else of hers exists here
        return f"LiveCase({self.code}, {self.state}, advocate={self.advocate_id})"


@dataclass(frozen=True)
class Consent:
    """She was asked whether to connect; what the case would carry if she says yes."""

    language: str
    topics: List[str]


class LiveCases:
    def __init__(self, ephemeral: Ephemeral, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self._store = ephemeral
        self._ttl = ttl
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    # ---- consent ------------------------------------------------------------------------------------------------
    async def ask_consent(self, pseudonym: str, consent: Consent) -> None:
        await self._store.put(f"handoff:consent:{pseudonym}", json.dumps(asdict(consent)), CONSENT_SECONDS)

    async def consent(self, pseudonym: str) -> Optional[Consent]:
        raw = await self._store.get(f"handoff:consent:{pseudonym}")
        return None if raw is None else Consent(**json.loads(raw))

    async def drop_consent(self, pseudonym: str) -> None:
        await self._store.delete(f"handoff:consent:{pseudonym}")

    # ---- cases --------------------------------------------------------------------------------------------------
    async def open(self, code: str, pseudonym: str, channel: str, language: str) -> LiveCase:
        now = self.now()
        case = LiveCase(code, pseudonym, channel, language, opened_at=now, last_her=now)
        await self.save(case)
        await self.drop_consent(pseudonym)
        return case

    async def save(self, case: LiveCase) -> None:
        await self._store.put(f"handoff:case:{case.code}", json.dumps(asdict(case)), self._ttl)
        await self._store.put(f"handoff:case-of:{case.pseudonym}", case.code, self._ttl)

    async def get(self, code: str) -> Optional[LiveCase]:
        raw = await self._store.get(f"handoff:case:{code}")
        if raw is None:
            return None
        data = json.loads(raw)
        data["relayed"] = tuple(data.get("relayed") or ())
        known = LiveCase.__dataclass_fields__
        return LiveCase(**{k: v for k, v in data.items() if k in known})

    async def of(self, pseudonym: str) -> Optional[LiveCase]:
        code = await self._store.get(f"handoff:case-of:{pseudonym}")
        return None if code is None else await self.get(code)

    async def touch(self, case: LiveCase, *, her: bool = False, advocate: bool = False,
                    relayed_more: Sequence[str] = (), **changes) -> LiveCase:
        """Apply ``changes`` to the case as it is now in the store (not to the caller's older copy: an advocate may
        have taken it meanwhile). A case that has ended is never written back."""
        fresh = await self.get(case.code)
        if fresh is None or fresh.pseudonym != case.pseudonym:
            return case
        now = self.now()
        case = replace(fresh, **changes, **({"last_her": now} if her else {}),
                       **({"last_advocate": now} if advocate else {}), relayed=fresh.relayed + tuple(relayed_more))
        await self.save(case)
        return case

    async def end(self, case: LiveCase) -> None:
        await self._store.delete(f"handoff:case:{case.code}", f"handoff:case-of:{case.pseudonym}",
                                 f"handoff:consent:{case.pseudonym}")
