"""The simulator's advocates' side: a Telegram supergroup with topics and an SMS advocate's phone, on the local page.

The handoff runs as it does for real: the same service, the same Telegram desk (``TelegramDesk``) over a forum held in
memory here (``SimulatedForum``), the same SMS desk over a simulated phone. Two advocates, held in memory (never
registered in the database): one in the group, one by SMS. They start off duty, as the local default has no
advocates (a request for a person gets the helplines); the page puts them on duty. Nothing here is written anywhere.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from bot.channels.base import SMS
from bot.channels.simulator import SimulatedPhone
from bot.handoff.model import Advocate, DeskKind
from bot.handoff.service import SmsDesk
from bot.handoff.telegram_desk import DeskUnavailable, TelegramDesk, TopicGone

#: the simulated SMS advocate's phone (an adapter of its own: her texts reach the pipeline like an advocate's SMS)
SIM_ADVOCATE_SMS = "sim-advocate-sms"
#: the simulated advocates: Telegram user id 1 in the group, and a number from Ofcom's range for drama
TELEGRAM_ADVOCATE = "1"
SMS_ADVOCATE = "+447700900001"


def simulated_advocates(languages: Sequence[str]) -> List[Advocate]:
    """Ana in the group and Bea by SMS, both speaking every language the service has (``locales/``)."""
    return [Advocate(-1, DeskKind.TELEGRAM, TELEGRAM_ADVOCATE, "Ana (simulated advocate)", tuple(languages)),
            Advocate(-2, DeskKind.SMS, SMS_ADVOCATE, "Bea (simulated advocate)", tuple(languages))]


@dataclass
class Topic:
    id: int
    name: str
    messages: List[Dict[str, object]] = field(default_factory=list)


class SimulatedForum:
    """``Forum`` in memory: topics and their messages, as the page shows the advocates' group."""

    def __init__(self) -> None:
        self.topics: Dict[int, Topic] = {}
        self.general: List[Dict[str, object]] = []
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(10_000)

    async def create_topic(self, name: str) -> int:
        topic = Topic(next(self._ids), name)
        self.topics[topic.id] = topic
        return topic.id

    async def delete_topic(self, topic: int) -> None:
        self.topics.pop(topic, None)

    async def post(self, topic: Optional[int], text: str, take: Optional[str] = None) -> str:
        return self._add(topic, {"from": "bot", "text": text, "take": take})

    async def copy(self, topic: int, from_chat: str, message_id: str) -> str:
        raise DeskUnavailable("the simulator's phones are not Telegram chats")  # never called: no source here

    async def answer(self, callback_id: str, text: str = "") -> None:
        pass

    def written(self, topic: Optional[int], text: str) -> str:
        """What the simulated advocate wrote in the group (the page shows it where she wrote it)."""
        return self._add(topic, {"from": "advocate", "text": text, "take": None}, must_exist=False)

    def _add(self, topic: Optional[int], message: Dict[str, object], must_exist: bool = True) -> str:
        message_id = str(next(self._message_ids))
        message["id"] = message_id
        if topic is None:
            self.general.append(message)
        elif topic in self.topics:
            self.topics[topic].messages.append(message)
        elif must_exist:
            raise TopicGone("deleted")
        return message_id

    def delete_by_hand(self, topic: int) -> bool:
        """The page's "delete topic" (what an admin can do in Telegram)."""
        return self.topics.pop(topic, None) is not None

    def as_json(self) -> Dict[str, object]:
        return {"topics": [{"id": t.id, "name": t.name, "messages": t.messages} for t in self.topics.values()],
                "general": self.general}


def simulated_desks(ephemeral, keep_seconds: int, retention_seconds: int,
                    adapters: Dict[str, object]) -> Dict[DeskKind, object]:
    """The simulator's two desks; the SMS advocate's phone joins the adapters."""
    phone = SimulatedPhone(SMS, name=SIM_ADVOCATE_SMS)
    adapters[SIM_ADVOCATE_SMS] = phone
    desks = {DeskKind.TELEGRAM: TelegramDesk(SimulatedForum(), ephemeral, keep_seconds, retention_seconds),
             DeskKind.SMS: SmsDesk(phone)}
    return desks
