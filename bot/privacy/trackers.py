"""Rasa tracker stores that forget: a conversation that ends in a restart ("forget me") is deleted, not saved.

Rasa keeps a conversation's events (the redacted messages included) in its tracker store. Its ``Restarted`` event only
resets the conversation's state: the events stay stored. These stores run inside the Rasa process (endpoints.yml,
written by bot.services) and delete the tracker when the latest turn restarted it, which is what action_answer
returns for "forget me" and nothing else does. In-memory locally; Redis with an expiry when scaled.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore
from rasa.shared.core.events import Restarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker


def restarted_this_turn(tracker: DialogueStateTracker) -> bool:
    """True when a Restarted event follows the latest user message."""
    for event in reversed(tracker.events):
        if isinstance(event, Restarted):
            return True
        if isinstance(event, UserUttered):
            return False
    return False


class ForgettingInMemoryTrackerStore(InMemoryTrackerStore):
    """The local profile's tracker store (lost when Rasa stops; deleted at once on "forget me")."""

    def __init__(self, domain: Any, host: Optional[str] = None, event_broker: Any = None, **kwargs: Any) -> None:
        super().__init__(domain, event_broker=event_broker, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if restarted_this_turn(tracker):
            self.store.pop(tracker.sender_id, None)
            return
        await super().save(tracker)


class ForgettingRedisTrackerStore(RedisTrackerStore):
    """The scaled profile's tracker store: every conversation expires (``record_exp``), and "forget me" deletes."""

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        if restarted_this_turn(tracker):
            self.red.delete(self.key_prefix + tracker.sender_id)
            return
        await super().save(tracker, timeout)
