"""The simulator's page and API (local runs only; no authentication, so the settings keep it on localhost).

    GET  /                          the page
    POST /simulator/api/message     her message from one of the two phones; the replies come back at once
    GET  /simulator/api/poll        what arrived since: on her phones (an advocate's answer, a timer's message), on
                                    the SMS advocate's phone, and the advocates' group as it is now
    POST /simulator/api/advocate    the simulated advocates: a message or a Take press in the group, an SMS, or
                                    deleting a topic by hand
    POST /simulator/api/on-duty     advocates on or off duty (off: a request for a person gets the helplines)
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Dict, Optional

from aiohttp import web

from bot.app import JSON, MAX_TEXT, PIPELINE, BadRequest, _body, _json
from bot.channels.base import FORGET, SMS, START, TELEGRAM, DeskMessage, InboundMessage
from bot.channels.simulator import SIM_SMS, SIM_TELEGRAM, SimulatedPhone
from bot.handoff.model import DeskKind
from bot.simulator.advocates import SIM_ADVOCATE_SMS, SMS_ADVOCATE, TELEGRAM_ADVOCATE, simulated_advocates

SIMULATOR_DIR = Path(__file__).resolve().parent
_SIM_USER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PHONES = {SMS: SIM_SMS, TELEGRAM: SIM_TELEGRAM}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", page)
    app.router.add_static("/simulator/static/", SIMULATOR_DIR / "static")
    app.router.add_post("/simulator/api/message", message)
    app.router.add_get("/simulator/api/poll", poll)
    app.router.add_post("/simulator/api/advocate", advocate)
    app.router.add_post("/simulator/api/on-duty", on_duty)


async def page(request: web.Request) -> web.Response:
    """The page, with the plain statement of what the content served is (drafts, unreviewed translations)."""
    text = (SIMULATOR_DIR / "index.html").read_text(encoding="utf-8")
    summary = html.escape(request.app[PIPELINE].content_summary)
    return web.Response(text=text.replace("<!--CONTENT_STATUS-->", summary), content_type="text/html")


async def message(request: web.Request) -> web.Response:
    """``{"phone": "sms"|"telegram", "user": id, "text": ..., "command": "forget"|"start"?, "language_code"?}``
    -> ``{"event", "message_id", "replies": [{id, text, sms|html}], "deleted": [ids]}``."""
    data = await _object(request)
    phone = _PHONES.get(data.get("phone"))
    user, text, command = data.get("user"), data.get("text", ""), data.get("command")
    if phone is None:
        raise BadRequest("phone must be 'sms' or 'telegram'")
    _check_user(user)
    _check_text(text)
    if command not in (None, FORGET, START, "menu", "change_language"):
        raise BadRequest("unknown command")
    if not text.strip() and command is None:
        raise BadRequest("write a message")
    pipeline = request.app[PIPELINE]
    adapter: SimulatedPhone = pipeline.adapters[phone]  # type: ignore[assignment]
    message_id = adapter.next_id()
    language = data.get("language_code") if phone == SIM_TELEGRAM else None
    outcome = await pipeline.handle(InboundMessage(phone, message_id, f"sim:{user}", text, command=command,
                                                   language_hint=language if isinstance(language, str) else None,
                                                   provider_message_ids=(message_id,)))
    return web.json_response({"event": outcome.event, "message_id": message_id, **adapter.collect(f"sim:{user}")})


async def poll(request: web.Request) -> web.Response:
    """``?sms=<user>&telegram=<user>`` -> what reached her phones since the last poll, the SMS advocate's new
    messages, the advocates' group (every topic and message, as the page draws it) and whether advocates are on
    duty."""
    pipeline = request.app[PIPELINE]
    body: Dict[str, Any] = {}
    for kind, phone in _PHONES.items():
        user = request.query.get(kind)
        if user:
            _check_user(user)
            body[kind] = pipeline.adapters[phone].collect(f"sim:{user}")
    handoff = request.app.get("handoff")
    if handoff is not None and SIM_ADVOCATE_SMS in pipeline.adapters:
        body["advocate_sms"] = pipeline.adapters[SIM_ADVOCATE_SMS].collect(SMS_ADVOCATE)
        body["group"] = _forum(request).as_json()
        body["on_duty"] = bool(handoff.extra_advocates)
    return web.json_response(body)


async def advocate(request: web.Request) -> web.Response:
    """``{"desk": "sms", "text"}``, ``{"desk": "telegram", "topic": id|null, "text"}``, ``{"desk": "telegram",
    "topic": id, "button": "take:7F3K"}`` or ``{"desk": "telegram", "delete_topic": id}``."""
    data = await _object(request)
    pipeline = request.app[PIPELINE]
    if request.app.get("handoff") is None or SIM_ADVOCATE_SMS not in pipeline.adapters:
        raise BadRequest("the simulated advocates are off: real desks are configured")
    text = data.get("text", "")
    _check_text(text)
    if data.get("desk") == "sms":
        if not text.strip():
            raise BadRequest("write a message")
        phone: SimulatedPhone = pipeline.adapters[SIM_ADVOCATE_SMS]  # type: ignore[assignment]
        outcome = await pipeline.handle(InboundMessage(SIM_ADVOCATE_SMS, phone.next_id(), SMS_ADVOCATE, text))
        return web.json_response({"event": outcome.event})
    if data.get("desk") != "telegram":
        raise BadRequest("desk must be 'sms' or 'telegram'")
    forum = _forum(request)
    if "delete_topic" in data:
        if not _is_id(data["delete_topic"]):
            raise BadRequest("delete_topic must be a topic id")
        return web.json_response({"deleted": forum.delete_by_hand(data["delete_topic"])})
    topic, button = data.get("topic"), data.get("button")
    if topic is not None and not _is_id(topic):
        raise BadRequest("topic must be a topic id or null (General)")
    if button is not None and (not isinstance(button, str) or len(button) > 64):
        raise BadRequest("button must be a button's data")
    if button is None:
        if not text.strip():
            raise BadRequest("write a message")
        forum.written(topic, text)
    update_id = pipeline.adapters[SIM_TELEGRAM].next_id()
    outcome = await pipeline.from_desk(DeskMessage(SIM_TELEGRAM, update_id, TELEGRAM_ADVOCATE, topic, text,
                                                   button=button, callback_id=update_id if button else None))
    return web.json_response({"event": outcome.event})


async def on_duty(request: web.Request) -> web.Response:
    """``{"on_duty": true|false}``: the simulated advocates on or off duty."""
    data = await _object(request)
    handoff = request.app.get("handoff")
    if handoff is None or SIM_ADVOCATE_SMS not in request.app[PIPELINE].adapters:
        raise BadRequest("the simulated advocates are off: real desks are configured")
    if not isinstance(data.get("on_duty"), bool):
        raise BadRequest("on_duty must be true or false")
    languages = request.app["content"].languages.codes
    handoff.extra_advocates = simulated_advocates(languages) if data["on_duty"] else []
    return web.json_response({"on_duty": data["on_duty"]})


def _forum(request: web.Request):
    return request.app["handoff"].desk(DeskKind.TELEGRAM).forum


async def _object(request: web.Request) -> Dict[str, Any]:
    data = _json(await _body(request, JSON))
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object")
    return data


def _check_user(user: Optional[object]) -> None:
    if not isinstance(user, str) or not _SIM_USER.match(user):
        raise BadRequest("user must be 1-64 letters, digits, '-' or '_'")


def _check_text(text: object) -> None:
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise BadRequest(f"text must be a string of at most {MAX_TEXT} characters")


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 31
