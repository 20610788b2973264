"""Local stand-ins for the providers' APIs that record every request: Twilio's REST API and Telegram's Bot API.

The gateway's real clients (twilio's ``Client``, python-telegram-bot's ``Bot``) are pointed at these with a base URL
setting, so the tests exercise the same requests a deployment makes. Each server runs its own event loop in a thread,
so synchronous tests and the gateway's child process can both talk to it.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

from aiohttp import web

from bot.channels.base import SMS
from bot.rasa_client import AssistantReply, RasaUnavailable
from bot.services import Services, free_port
from bot.settings import Settings


@dataclass
class Recorded:
    method: str
    path: str
    params: Dict[str, Any]
    headers: Dict[str, str]
    at: float = field(default_factory=time.monotonic)


class RecordingServer:
    """An aiohttp app on a free localhost port, in a thread; ``calls`` lists every request in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: List[Recorded] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()
        self.closing = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> "RecordingServer":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.closing = True  # long polls answer at once, so no handler is pending when the loop stops
        time.sleep(0.2)
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def record(self, request: web.Request, params: Dict[str, Any]) -> Recorded:
        call = Recorded(request.method, request.path, params, dict(request.headers))
        with self._lock:
            self.calls.append(call)
        return call

    def named(self, suffix: str) -> List[Recorded]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith(suffix)]

    def wait_for(self, suffix: str, count: int, timeout: float = 30.0) -> List[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.named(suffix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} call(s) to {suffix}, got {len(self.named(suffix))}")

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


class FakeTwilio(RecordingServer):
    """Twilio's Messages resource: create (POST Messages.json) and delete (DELETE Messages/<sid>.json)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next: List[int] = []  # HTTP statuses to answer the next creates with, in order
        self.opted_out: set = set()  # numbers that replied STOP: a create to them fails with Twilio's 21610

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        app.router.add_delete("/2010-04-01/Accounts/{account}/Messages/{sid}.json", self._delete)

    async def _create(self, request: web.Request) -> web.Response:
        params = dict((await request.post()).items())
        call = self.record(request, params)
        if self.fail_next:
            status = self.fail_next.pop(0)
            call.params["_failed"] = status
            return web.json_response({"code": 20500, "message": "failure", "status": status}, status=status)
        if params.get("To") in self.opted_out:
            call.params["_failed"] = 400
            return web.json_response({"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                                      "status": 400}, status=400)
        sid = "SM" + secrets.token_hex(16)
        call.params["_sid"] = sid
        return web.json_response({
            "sid": sid, "account_sid": request.match_info["account"], "to": params.get("To"),
            "from": params.get("From"), "body": params.get("Body"), "status": "queued",
            "num_segments": "1", "direction": "outbound-api",
        }, status=201)

    async def _delete(self, request: web.Request) -> web.Response:
        self.record(request, {"sid": request.match_info["sid"]})
        return web.Response(status=204)

    def sent(self) -> List[Dict[str, Any]]:
        """The messages Twilio accepted (a create it answered with an error sent nothing)."""
        return [c.params for c in self.named("/Messages.json") if "_failed" not in c.params]


class FakeTelegram(RecordingServer):
    """The Bot API methods the gateway uses: getMe, sendMessage, deleteMessages, getUpdates, set/deleteWebhook, and
    for the advocates' supergroup createForumTopic, deleteForumTopic, copyMessage and answerCallbackQuery. A message
    to a deleted topic fails as Telegram's does ("message thread not found"); ``blocked`` chats answer 403 as when she
    blocked the bot; ``flood`` makes the next calls of a method answer 429 with a retry_after."""

    BOT = {"id": 7000001, "is_bot": True, "first_name": "Assistant", "username": "assistant_test_bot",
           "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def __init__(self) -> None:
        super().__init__()
        self._message_ids = itertools.count(5_000)
        self._topic_ids = itertools.count(200)
        self._updates: List[Dict[str, Any]] = []
        self.topics: Dict[int, str] = {}  # open topics: id -> name
        self.deleted_topics: List[int] = []
        self.blocked: set = set()  # chat ids that blocked the bot
        self.flood: Dict[str, List[int]] = {}  # method -> retry_after seconds for its next calls, in order
        self.flood_chats: Dict[int, List[int]] = {}  # chat id -> the same, for the next calls to that chat

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._method)

    async def _method(self, request: web.Request) -> web.Response:
        params = await _params(request)
        call = self.record(request, params)
        method = request.match_info["method"]
        chat_flood = self.flood_chats.get(int(params["chat_id"])) if "chat_id" in params else None
        if self.flood.get(method) or chat_flood:
            wait = (chat_flood or self.flood[method]).pop(0)
            call.params["_failed"] = 429
            return _error(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        if method == "getMe":
            return _ok(self.BOT)
        if method in ("sendMessage", "copyMessage"):
            chat = int(params["chat_id"])
            if chat in self.blocked:
                call.params["_failed"] = 403
                return _error(403, "Forbidden: bot was blocked by the user")
            thread = params.get("message_thread_id")
            if thread is not None and int(thread) not in self.topics:
                call.params["_failed"] = 400
                return _error(400, "Bad Request: message thread not found")
            message_id = next(self._message_ids)
            call.params["_message_id"] = message_id
            if method == "copyMessage":
                return _ok({"message_id": message_id})
            return _ok({"message_id": message_id, "date": int(time.time()),
                        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
                        "text": params.get("text", ""), "from": self.BOT})
        if method == "createForumTopic":
            topic = next(self._topic_ids)
            self.topics[topic] = params["name"]
            return _ok({"message_thread_id": topic, "name": params["name"], "icon_color": 7322096})
        if method == "deleteForumTopic":
            topic = int(params["message_thread_id"])
            if self.topics.pop(topic, None) is None:
                return _error(400, "Bad Request: message thread not found")
            self.deleted_topics.append(topic)
            return _ok(True)
        if method in ("deleteMessages", "setWebhook", "deleteWebhook", "answerCallbackQuery"):
            return _ok(True)
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
            while True:
                pending = [u for u in self._updates if u["update_id"] >= offset]
                if pending or time.monotonic() >= deadline or self.closing:
                    return _ok(pending)
                await asyncio.sleep(0.05)
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    def delete_topic_by_hand(self, topic: int) -> None:
        """What an admin of the group can do in the Telegram app."""
        self.topics.pop(topic, None)

    def queue_update(self, update: Dict[str, Any]) -> None:
        """For long polling: the next getUpdates returns it."""
        self._loop.call_soon_threadsafe(self._updates.append, update)

    def sent(self, chat_id: Optional[int] = None) -> List[Dict[str, Any]]:
        calls = [c.params for c in self.named("/sendMessage") if "_failed" not in c.params]
        return [c for c in calls if chat_id is None or int(c["chat_id"]) == chat_id]

    def in_topic(self, topic: int) -> List[Dict[str, Any]]:
        """What the bot put in a topic: its messages, and copies of hers (their params)."""
        calls = [c.params for c in self.named("/sendMessage") + self.named("/copyMessage") if "_failed" not in c.params]
        return [c for c in calls if c.get("message_thread_id") is not None and int(c["message_thread_id"]) == topic]


def _error(status: int, description: str, parameters: Optional[Dict[str, Any]] = None) -> web.Response:
    body: Dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _params(request: web.Request) -> Dict[str, Any]:
    """python-telegram-bot posts form fields whose values are JSON-encoded; accept JSON bodies too."""
    if request.content_type == "application/json":
        return await request.json()
    params: Dict[str, Any] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                params[key] = value
    params.update(request.query)
    return params


_update_ids = itertools.count(900_000)
_message_ids = itertools.count(100)


def telegram_update(chat_id: int, text: str, language_code: Optional[str] = "en", username: str = "someone",
                    first_name: str = "Someone", chat_type: str = "private",
                    update_id: Optional[int] = None) -> Dict[str, Any]:
    """A Bot API Update carrying her message, as Telegram sends it."""
    user = {"id": chat_id, "is_bot": False, "first_name": first_name, "username": username}
    if language_code:
        user["language_code"] = language_code
    message: Dict[str, Any] = {"message_id": next(_message_ids), "date": int(time.time()), "from": user,
                               "chat": {"id": chat_id, "type": chat_type, "first_name": first_name,
                                        "username": username},
                               "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_update_ids) if update_id is None else update_id, "message": message}


def desk_update(chat_id: int, user_id: int, text: str, topic: Optional[int], first_name: str = "Advocate",
                update_id: Optional[int] = None) -> Dict[str, Any]:
    """A message in the advocates' supergroup: in a topic, or in General (``topic`` None)."""
    message: Dict[str, Any] = {"message_id": next(_message_ids), "date": int(time.time()),
                               "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                               "chat": {"id": chat_id, "type": "supergroup", "title": "Advocates", "is_forum": True},
                               "text": text}
    if topic is not None:
        message.update(message_thread_id=topic, is_topic_message=True)
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_update_ids) if update_id is None else update_id, "message": message}


def take_press(chat_id: int, user_id: int, topic: int, data: str) -> Dict[str, Any]:
    """An advocate pressing the Take button under the case's summary."""
    return {"update_id": next(_update_ids), "callback_query": {
        "id": str(next(_update_ids)), "chat_instance": "1", "data": data,
        "from": {"id": user_id, "is_bot": False, "first_name": "Advocate"},
        "message": {"message_id": next(_message_ids), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "supergroup", "title": "Advocates", "is_forum": True},
                    "message_thread_id": topic, "is_topic_message": True, "text": "Request",
                    "from": FakeTelegram.BOT}}}


# ---- the whole service against these fakes --------------------------------------------------------------------
TWILIO_SID = "AC" + "0" * 32
SENDER = "+447700900000"


@dataclass
class Stack:
    """The whole service in child processes, with Twilio's and Telegram's APIs replaced by recording fakes."""

    services: Services
    twilio: "FakeTwilio"
    telegram: "FakeTelegram"
    logs: Path
    workdir: Path

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def gateway_url(self) -> str:
        return self.services.gateway_url


def stack_settings(settings: Settings, workdir: Path, twilio_url: str, telegram_url: str, **overrides) -> Settings:
    """Settings for a stack on free ports: both channels configured, secrets random, files under ``workdir``."""
    gateway_port = free_port()
    values = dict(
        rasa_port=free_port(), action_port=free_port(), gateway_port=gateway_port, log_level="DEBUG",
        database_url=f"sqlite:///{workdir / 'assistant.db'}", pseudonym_key=secrets.token_hex(32),
        twilio_account_sid=TWILIO_SID, twilio_auth_token=secrets.token_hex(16), twilio_from=SENDER,
        twilio_webhook_url=f"http://127.0.0.1:{gateway_port}/twilio/sms", twilio_api_url=twilio_url,
        twilio_delete_records=True,
        telegram_bot_token=f"7000001:{secrets.token_urlsafe(24)}", telegram_api_url=f"{telegram_url}/bot",
        telegram_webhook_url="https://assistant.example.org/telegram/webhook",
        telegram_webhook_secret=secrets.token_urlsafe(24), rasa_timeout=2.0, rate_limit=8,
        forget_confirmation_seconds=1.0, simulator_force=True,  # the tests drive the simulator beside the fakes
        status_token=secrets.token_urlsafe(16),
    )
    values.update(overrides)
    configured = replace(settings, **values)
    configured.validate()
    return configured


@contextmanager
def running_stack(settings: Settings, model: Path, workdir: Path, services_options: Optional[Dict[str, Any]] = None,
                  **overrides) -> Iterator[Stack]:
    """Start fakes and the whole service; every file any of our processes writes goes under ``workdir``.
    Used by the tests (conftest) and by bench/gateway.py, with their own ``overrides`` (settings) and
    ``services_options`` (bot.services.Services fields)."""
    logs, tmp = workdir / "logs", workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        configured = stack_settings(settings, workdir, twilio.url, telegram.url, **overrides)
        env = {"TMPDIR": str(tmp), "HOME": str(tmp)}
        with Services(configured, model, logs, gateway=True, extra_env=env, **(services_options or {})) as services:
            yield Stack(services, twilio, telegram, logs, workdir)


# ---- Rasa, in-process: for the per-message path's tests --------------------------------------------------------
class FakeAssistant:
    """Stands in for Rasa: records what it receives and keeps a tracker per sender as Rasa does (the texts it was
    given; "/forget_me" deletes it, as the forgetting tracker store does); answers with ``answer(text, metadata)``,
    or is down (a timeout: nothing is recorded in the tracker)."""

    def __init__(self, answer: Callable[[str, Dict], List[AssistantReply]]) -> None:
        self.answer = answer
        self.received: List[str] = []
        self.trackers: Dict[str, List[str]] = {}
        self.down = False

    async def send(self, sender: str, text: str, metadata: Optional[Dict] = None) -> List[AssistantReply]:
        self.received.append(text)
        if self.down:
            raise RasaUnavailable("timeout")
        if text == "/forget_me":
            self.trackers.pop(sender, None)
        else:
            self.trackers.setdefault(sender, []).append(text)
        return self.answer(text, metadata or {})


def rendered(store, topic: str, language: str, channel: str = SMS) -> List[AssistantReply]:
    return [AssistantReply(r.text, r.as_payload()) for r in store.render(topic, language, channel, True)]
