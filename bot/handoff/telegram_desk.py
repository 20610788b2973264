"""The Telegram desk: one supergroup with topics, a forum topic per case.

A case's topic is named by its code, language and first topic ("7F3K · es · police_immigration") and opens with a
summary (language, what she asked about, her channel's kind, minutes waiting; nothing she wrote) and a Take button.
Her messages are copied into the topic (never forwarded: no name, no id); an advocate's message in the topic goes to
her; /take, /close, /back and /name are commands there. Messages in the General topic are never taken for a case. A
topic deleted by hand is recreated with the next message. A closed case's topic is deleted after the retention time
the operator sets; "forget me" deletes it at once (deleting a topic deletes every message in it).

The desk talks to Telegram through ``Forum`` (``BotForum``: python-telegram-bot's Bot; the simulator has its own), and
keeps which topic belongs to which case in the ephemeral store, like the rest of the live state.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.channels.base import DeskMessage
from bot.handoff.commands import Action, Take, Unclear, parse_topic
from bot.handoff.live import LiveCase
from bot.handoff.model import Advocate, DeskKind, HandoffError, parse_code
from bot.storage.ephemeral import Ephemeral

logger = logging.getLogger(__name__)

#: Telegram's limit on a topic's name
TOPIC_NAME_MAX = 128
#: the callback data of a case's Take button
TAKE_PREFIX = "take:"
#: a Bot API call under flood control is retried after the wait Telegram gives, this many times (never dropped
#: silently: after the last, the error is logged and the caller is told)
FLOOD_ATTEMPTS = 6
#: what Telegram answers when a topic no longer exists (deleted by hand)
_TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid", "topic not found")


class TopicGone(HandoffError):
    """The case's topic was deleted (by hand): the desk makes a new one."""


class DeskUnavailable(HandoffError):
    """Telegram refused or failed after retries; the message names the Bot API error class only."""


class Forum(Protocol):
    """The Bot API methods the desk needs, on the advocates' supergroup."""

    async def create_topic(self, name: str) -> int: ...

    async def delete_topic(self, topic: int) -> None: ...

    async def post(self, topic: Optional[int], text: str, take: Optional[str] = None) -> str:
        """Post ``text`` in ``topic`` (None: General), with a Take button carrying ``take`` as callback data."""

    async def copy(self, topic: int, from_chat: str, message_id: str) -> str:
        """Copy her message into the topic (copyMessage: no "forwarded from", no name)."""

    async def answer(self, callback_id: str, text: str = "") -> None: ...


class BotForum:
    """``Forum`` on python-telegram-bot's Bot (its ``base_url`` points at a fake Bot API in tests). Flood control is
    waited out as long as Telegram says, and retried; a deleted topic raises TopicGone."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self._bot = bot
        self._chat = chat_id

    async def create_topic(self, name: str) -> int:
        topic = await self._call(self._bot.create_forum_topic, self._chat, name[:TOPIC_NAME_MAX])
        return int(topic.message_thread_id)

    async def delete_topic(self, topic: int) -> None:
        try:
            await self._call(self._bot.delete_forum_topic, self._chat, topic)
        except TopicGone:
            pass  # deleted by hand already

    async def post(self, topic: Optional[int], text: str, take: Optional[str] = None) -> str:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Take", callback_data=f"{TAKE_PREFIX}{take}")]]) \
            if take else None
        message = await self._call(self._bot.send_message, self._chat, text, message_thread_id=topic,
                                   reply_markup=markup, disable_web_page_preview=True)
        return str(message.message_id)

    async def copy(self, topic: int, from_chat: str, message_id: str) -> str:
        copied = await self._call(self._bot.copy_message, self._chat, int(from_chat), int(message_id),
                                  message_thread_id=topic)
        return str(copied.message_id)

    async def answer(self, callback_id: str, text: str = "") -> None:
        try:
            await self._call(self._bot.answer_callback_query, callback_id, text=text or None)
        except (DeskUnavailable, TopicGone):
            pass  # an unanswered button only spins a little longer on the advocate's screen

    async def _call(self, method, *args, **kwargs):
        for attempt in range(FLOOD_ATTEMPTS):
            try:
                return await method(*args, **kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after
                wait = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                logger.warning("event=desk_flood_control wait=%.0f attempt=%d", wait, attempt + 1)
                await asyncio.sleep(wait)
            except BadRequest as exc:
                if any(marker in str(exc).lower() for marker in _TOPIC_GONE):
                    raise TopicGone("the case's topic was deleted") from None
                raise DeskUnavailable(f"telegram desk: {exc.__class__.__name__}") from None
            except Forbidden:
                raise DeskUnavailable("telegram desk: the bot is not an admin of the advocates' group (it needs "
                                      "'Manage topics' and 'Delete messages')") from None
            except TelegramError as exc:
                if attempt >= 2:
                    raise DeskUnavailable(f"telegram desk: {exc.__class__.__name__}") from None
                await asyncio.sleep(0.5 * (attempt + 1))
        raise DeskUnavailable("telegram desk: still under flood control after every retry")


class TelegramDesk:
    """The handoff's ``Desk`` for advocates in a Telegram supergroup with topics."""

    kind = DeskKind.TELEGRAM

    def __init__(self, forum: Forum, ephemeral: Ephemeral, keep_seconds: int, retention_seconds: int = 24 * 3600,
                 clock=None) -> None:
        self._forum = forum
        self._store = ephemeral
        self._keep = keep_seconds + retention_seconds
        self._retention = retention_seconds
        self._clock = clock or time.time
        self._lock = asyncio.Lock()  # one topic per case, even when two of her messages arrive at once

    @property
    def forum(self) -> Forum:
        return self._forum

    # ---- the Desk protocol --------------------------------------------------------------------------------------
    async def announce(self, case: LiveCase, topics: Sequence[str], advocates: Sequence[Advocate]) -> None:
        """Open the case's topic (once) and post its summary with a Take button; again when it is re-announced."""
        await self._topic(case, topics)
        await self._post(case, self._summary(case, topics), take=case.code)

    async def to_advocates(self, case: LiveCase, advocates: Sequence[Advocate], text: str, emergency: bool = False,
                           source: Optional[Tuple[str, str]] = None) -> List[str]:
        """Her message into the case's topic: copied from her Telegram chat when it came from there (photos and
        voice notes too), else posted as text. The topic is shared by the advocates: one copy."""
        ids: List[str] = []
        if emergency:
            ids.append(await self._post(case, "⚠️ DANGER: she was sent the emergency answer (999) now."))
        if source is not None:
            try:
                ids.append(await self._with_topic(case, lambda t: self._forum.copy(t, *source)))
                return ids
            except DeskUnavailable:
                logger.warning("event=desk_copy_failed case=%s", case.code)
        ids.append(await self._post(case, text))
        return ids

    async def tell(self, advocate: Advocate, text: str, code: Optional[str] = None) -> None:
        """A notice for the advocates, in the case's topic (the group sees it; it names no one). When the topic is
        no longer known (the local profile restarted and lost the live state), in General, so that a case marked
        disconnected is seen."""
        if code is None:
            return
        topic = await self._store.get(f"handoff:tg-topic-of:{code}")
        try:
            await self._forum.post(int(topic) if topic is not None else None,
                                   text if topic is not None else f"{text} (Its topic, if it is still there, is "
                                                                  "not deleted by the service: delete it by hand.)")
        except (TopicGone, DeskUnavailable) as exc:
            logger.warning("event=desk_notice_failed case=%s error=%s", code, exc.__class__.__name__)

    async def closed(self, case: LiveCase) -> None:
        """The case is closed: its topic is deleted after the retention time (the sweep does it)."""
        topic = await self._store.get(f"handoff:tg-topic-of:{case.code}")
        if topic is not None:
            await self._retire(int(topic), self._clock() + self._retention)

    async def forget(self, case: LiveCase) -> None:
        """"Forget me": the topic goes now, with every copy of her messages and every answer in it."""
        topic = await self._store.get(f"handoff:tg-topic-of:{case.code}")
        if topic is not None:
            await self._delete(int(topic), case.code)

    async def sweep(self) -> None:
        """Delete the topics whose retention time has passed."""
        due = [t for t, when in (await self._retiring()).items() if when <= self._clock()]
        for topic in due:
            code = await self._store.get(f"handoff:tg-topic:{topic}")
            await self._delete(int(topic), code)

    # ---- the inbound side ---------------------------------------------------------------------------------------
    async def action(self, message: DeskMessage) -> Optional[Action]:
        """What an advocate's message or button press in the group means, or None: the General topic, a topic that is
        no case's, a button that is not this case's Take. Whether she may act is the handoff's to decide."""
        if message.topic is None:
            logger.info("event=desk_general_ignored")
            return None
        code = await self._store.get(f"handoff:tg-topic:{message.topic}")
        if code is None:
            logger.info("event=desk_unknown_topic")
            return None
        if message.button is not None:
            pressed = parse_code(message.button[len(TAKE_PREFIX):]) if message.button.startswith(TAKE_PREFIX) else None
            return Take(code) if pressed == code else None
        if not message.text.strip():
            return Unclear("Only text reaches her: write your message.", code)
        return parse_topic(message.text, code)

    async def answer(self, message: DeskMessage) -> None:
        if message.callback_id:
            await self._forum.answer(message.callback_id)

    # ---- topics -------------------------------------------------------------------------------------------------
    async def _topic(self, case: LiveCase, topics: Sequence[str] = ()) -> int:
        async with self._lock:
            known = await self._store.get(f"handoff:tg-topic-of:{case.code}")
            if known is not None:
                return int(known)
            return await self._new_topic(case, topics)

    async def _new_topic(self, case: LiveCase, topics: Sequence[str] = ()) -> int:
        about = topics[0] if topics else "no topic"
        topic = await self._forum.create_topic(f"{case.code} · {case.language} · {about}")
        await self._store.put(f"handoff:tg-topic-of:{case.code}", str(topic), self._keep)
        await self._store.put(f"handoff:tg-topic:{topic}", case.code, self._keep)
        logger.info("event=desk_topic_opened case=%s", case.code)
        return topic

    async def _post(self, case: LiveCase, text: str, take: Optional[str] = None) -> str:
        return await self._with_topic(case, lambda t: self._forum.post(t, text, take))

    async def _with_topic(self, case: LiveCase, send) -> str:
        """Send into the case's topic; if it was deleted by hand, make a new one and send there (nothing lost)."""
        topic = await self._topic(case)
        try:
            return await send(topic)
        except TopicGone:
            async with self._lock:
                now = await self._store.get(f"handoff:tg-topic-of:{case.code}")
                if now is not None and int(now) != topic:  # another message made the new topic meanwhile
                    return await send(int(now))
                await self._store.delete(f"handoff:tg-topic:{topic}", f"handoff:tg-topic-of:{case.code}")
                fresh = await self._new_topic(case)
            logger.info("event=desk_topic_recreated case=%s", case.code)
            await self._forum.post(fresh, f"{case.code}: this case's topic was deleted; it goes on here. "
                                          "Earlier messages were in the deleted topic.", None)
            return await send(fresh)

    def _summary(self, case: LiveCase, topics: Sequence[str]) -> str:
        waiting = int(max(0.0, self._clock() - case.opened_at) // 60)
        about = ", ".join(topics) if topics else "not said"
        channel = "SMS" if case.channel.endswith("sms") else "Telegram"
        return (f"Request {case.code}\nLanguage: {case.language}\nAsked about: {about}\nHer channel: {channel}\n"
                f"Waiting: {waiting} min\nPress Take (or write /take) to answer her. Then write here to reach her; "
                "/close outcome, /back, /name name.")

    async def _delete(self, topic: int, code: Optional[str]) -> None:
        try:
            await self._forum.delete_topic(topic)
        except DeskUnavailable as exc:
            logger.warning("event=desk_topic_delete_failed error=%s", exc.__class__.__name__)
            await self._retire(topic, self._clock())  # due now: every sweep tries again
            return
        keys = [f"handoff:tg-topic:{topic}"] + ([f"handoff:tg-topic-of:{code}"] if code else [])
        await self._store.delete(*keys)
        await self._retire(topic, None)
        logger.info("event=desk_topic_deleted")

    async def _retiring(self) -> Dict[str, float]:
        raw = await self._store.get("handoff:tg-retiring")
        return json.loads(raw) if raw else {}

    async def _retire(self, topic: int, when: Optional[float]) -> None:
        """Add a topic to (or, with None, take it off) the list of topics to delete."""
        async with self._lock:
            retiring = await self._retiring()
            if when is None:
                retiring.pop(str(topic), None)
            else:
                retiring[str(topic)] = when
            await self._store.put("handoff:tg-retiring", json.dumps(retiring), self._keep)
