"""Telegram through python-telegram-bot's ``Bot``: webhook (secret token checked) or long polling, send, delete.

Private chats are hers; the advocates' supergroup (``desk_chat``, with a forum topic per case) is the Telegram desk
of the handoff: its messages and button presses are parsed into ``DeskMessage``; every other group is ignored. Her
client's ``language_code`` becomes a language hint. Commands: /start (greeting), /forget (wipe this conversation and
delete its messages), /menu, /language.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any, Awaitable, Callable, Mapping, Optional, Sequence, Union

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.base import (BLOCKED, FORGET, START, TELEGRAM, ChannelError, DeskMessage, InboundMessage, Sent,
                              VerificationFailed, delivery_key)
from bot.channels.telegram_format import telegram_messages

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram commands -> the gateway's command or the intent Rasa is asked for directly
COMMANDS = {"/start": START, "/forget": FORGET, "/menu": "menu", "/language": "change_language", "/help": "menu"}
#: deleteMessages takes 1-100 ids per call
DELETE_BATCH = 100
#: the updates the gateway asks Telegram for: messages (hers, and the advocates' in their group) and button presses
ALLOWED_UPDATES = ["message", "callback_query"]
#: what ``parse`` makes of an update
Parsed = Union[InboundMessage, DeskMessage, None]
#: flood control asking for at most this long is waited out before sending again (an emergency answer is never
#: dropped for being the twentieth message of a minute); longer, the caller is told how long (``retry_after``)
FLOOD_WAIT_MAX = 60.0


def verify_secret(expected: str, received: Optional[str]) -> None:
    """Constant-time comparison of the secret token Telegram sends with every webhook delivery (fail closed)."""
    # a header may hold anything (aiohttp keeps undecodable bytes as surrogates): compared as bytes, never decoded
    if not expected or not received or not hmac.compare_digest(expected.encode(),
                                                               received.encode("utf-8", "surrogateescape")):
        raise VerificationFailed("telegram secret token")


class TelegramChannel:
    """The Telegram adapter around one ``telegram.Bot`` (its ``base_url`` points at a fake Bot API in tests)."""

    name = TELEGRAM
    form = TELEGRAM

    def __init__(self, token: str, api_url: str = "https://api.telegram.org/bot", timeout: float = 10.0,
                 retries: int = 2, desk_chat: Optional[int] = None, max_wait: float = FLOOD_WAIT_MAX) -> None:
        request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
        poll_request = HTTPXRequest(connect_timeout=timeout, read_timeout=60.0, write_timeout=timeout)
        self.bot = Bot(token, base_url=api_url, request=request, get_updates_request=poll_request)
        self._secret = token
        self._retries = retries
        self._polling: Optional[asyncio.Task] = None
        self._desk_chat = desk_chat
        self._max_wait = max_wait  # flood control longer than this is left to the caller (which may wait it out)

    async def start(self) -> None:
        await self.bot.initialize()

    # ---- inbound -------------------------------------------------------------------------------------------
    def parse(self, data: Mapping[str, Any]) -> Parsed:
        """Her private-chat message (InboundMessage), a message or button press in the advocates' group
        (DeskMessage), or None: edits, other groups, channel posts, other updates, the bot's own service messages,
        and anything that is not a well-formed update (python-telegram-bot trusts Telegram's types; we check them)."""
        try:
            update = Update.de_json(dict(data), self.bot)
            if update is None or not _is_id(update.update_id):
                return None
            if update.callback_query is not None:
                return self._desk_button(update)
            message = update.message
            if message is None or not _is_id(message.chat.id) or not _is_id(message.message_id):
                return None
            if message.chat.type != "private":
                return self._desk_message(update) if message.chat.id == self._desk_chat else None
        except Exception as exc:  # noqa: BLE001 - a malformed update is ignored, whatever python-telegram-bot raised
            logger.warning("event=telegram_update_unreadable error=%s", exc.__class__.__name__)
            return None
        text = _text_of(message)
        command = None
        first = text.split(maxsplit=1)[0].split("@")[0].lower() if text.strip() else ""
        if first in COMMANDS:
            command, text = COMMANDS[first], ""
        if not text and command is None:
            text = "?"  # a sticker, photo or voice note: the assistant answers "I'm not sure" and shows the menu
        language = message.from_user.language_code if message.from_user else None
        if not isinstance(language, str):
            language = None
        return InboundMessage(TELEGRAM, str(update.update_id), str(message.chat.id), text, command=command,
                              language_hint=language, provider_message_ids=(str(message.message_id),),
                              delivery_keys=(delivery_key(self._secret, "update", str(update.update_id)),))

    def _desk_message(self, update: Update) -> Optional[DeskMessage]:
        """A message in the advocates' group: the topic it is in (None: General), who wrote it, its text."""
        message = update.message
        sender = message.from_user
        if sender is None or sender.is_bot or not _is_id(sender.id):
            return None  # the bot's own messages and service messages ("topic created")
        topic = message.message_thread_id if message.is_topic_message else None
        if topic is not None and not _is_id(topic):
            raise TypeError("a topic id is not an integer")
        return DeskMessage(TELEGRAM, str(update.update_id), str(sender.id), topic, _text_of(message),
                           delivery_keys=(delivery_key(self._secret, "update", str(update.update_id)),))

    def _desk_button(self, update: Update) -> Optional[DeskMessage]:
        """A button pressed under a message the bot posted in the advocates' group (the Take button)."""
        query = update.callback_query
        message = query.message
        if message is None or message.chat.id != self._desk_chat or not _is_id(query.from_user.id) \
                or not isinstance(query.data, str):
            return None
        topic = getattr(message, "message_thread_id", None)
        if topic is not None and not _is_id(topic):
            raise TypeError("a topic id is not an integer")
        return DeskMessage(TELEGRAM, str(update.update_id), str(query.from_user.id), topic, "", button=query.data,
                           callback_id=str(query.id),
                           delivery_keys=(delivery_key(self._secret, "update", str(update.update_id)),))

    async def poll(self, handle: Callable[[Union[InboundMessage, DeskMessage]], Awaitable[None]],
                   timeout: int = 25) -> None:
        """Long polling for local runs (only a bot token): fetch updates and hand each to ``handle``, forever."""
        await self.bot.delete_webhook()
        offset = None
        while True:
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
            except RetryAfter as exc:
                await asyncio.sleep(float(exc.retry_after if not hasattr(exc.retry_after, "total_seconds")
                                          else exc.retry_after.total_seconds()))
                continue
            except TelegramError as exc:
                logger.warning("event=telegram_poll_failed error=%s", exc.__class__.__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                offset = update.update_id + 1
                message = self.parse(update.to_dict())
                if message is not None:
                    await handle(message)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    # ---- outbound ------------------------------------------------------------------------------------------
    def bodies(self, text: str, neutral_line: str = "") -> list:
        return telegram_messages(text)

    async def send(self, address: str, text: str) -> Sent:
        """Send one prepared HTML message; bounded retries, honouring Telegram's flood-control wait."""
        for attempt in range(self._retries + 1):
            try:
                message = await self.bot.send_message(int(address), text, parse_mode=ParseMode.HTML,
                                                      disable_web_page_preview=True)
                return Sent([str(message.message_id)])
            except RetryAfter as exc:
                wait = exc.retry_after
                wait = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                if attempt == self._retries or wait > self._max_wait:  # the caller decides whether to wait
                    raise ChannelError("telegram send failed: flood control", retry_after=wait) from None
                await asyncio.sleep(wait)
            except Forbidden:
                raise ChannelError("telegram send failed: the user blocked the bot", reason=BLOCKED) from None
            except TelegramError as exc:
                if attempt == self._retries:
                    raise ChannelError(f"telegram send failed: {exc.__class__.__name__}") from None
                await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    async def forget(self, address: str, provider_message_ids: Sequence[str]) -> int:
        """Delete this conversation's messages, hers and the bot's (Telegram allows it for 48 h in private chats)."""
        ids = sorted({int(i) for i in provider_message_ids})
        deleted = 0
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start:start + DELETE_BATCH]
            try:
                if await self.bot.delete_messages(int(address), batch):
                    deleted += len(batch)
            except TelegramError as exc:
                logger.warning("event=telegram_delete_failed error=%s", exc.__class__.__name__)
        return deleted

    async def close(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
        await self.bot.shutdown()


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_of(message) -> str:
    return next((t for t in (message.text, message.caption) if isinstance(t, str) and t), "")
