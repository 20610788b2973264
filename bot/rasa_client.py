"""A small client for Rasa's REST channel (localhost): send one message, get the assistant's replies."""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import aiohttp


class RasaUnavailable(RuntimeError):
    """Rasa did not answer in time or answered with an error (no message content in this error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Rasa is unavailable: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class AssistantReply:
    """One reply message and its machine-readable metadata (topic, language, content id, review status)."""

    text: str
    meta: Dict[str, Any]


def new_sender_id(prefix: str = "local") -> str:
    """A random conversation id for local use (the gateway uses keyed pseudonyms instead)."""
    return f"{prefix}-{secrets.token_hex(8)}"


class RasaClient:
    """Talks to ``<rasa_url>/webhooks/rest/webhook`` with one reusable HTTP session."""

    def __init__(self, rasa_url: str, timeout: float = 10.0) -> None:
        self._url = f"{rasa_url}/webhooks/rest/webhook"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> "RasaClient":
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> List[AssistantReply]:
        assert self._session is not None, "use RasaClient as an async context manager"
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            async with self._session.post(self._url, json=body) as response:
                if response.status != 200:
                    raise RasaUnavailable(f"http_{response.status}")
                messages = await response.json()
        except asyncio.TimeoutError:
            raise RasaUnavailable("timeout") from None
        except aiohttp.ClientError as exc:
            raise RasaUnavailable(exc.__class__.__name__) from None
        return [_reply(message) for message in messages or []]

    async def ready(self) -> bool:
        """Rasa's REST channel answers (its health route; the HTTP API stays off)."""
        assert self._session is not None, "use RasaClient as an async context manager"
        try:
            async with self._session.get(self._url.rsplit("/", 1)[0] + "/",
                                         timeout=aiohttp.ClientTimeout(total=2)) as response:
                return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False


def _reply(message: Dict[str, Any]) -> AssistantReply:
    custom = message.get("custom")
    if isinstance(custom, dict) and "text" in custom:
        meta = {k: v for k, v in custom.items() if k != "text"}
        return AssistantReply(str(custom["text"]), meta)
    return AssistantReply(str(message.get("text", "")), {})
