"""Property-based fuzzing of every entry point (issue 8, "keep finding them"): the Twilio webhook (signed and
unsigned), the Telegram webhook, the simulator API against the running gateway (DEBUG), and the redactor and the
per-message path in-process.

Invariants: no 5xx, no crash, no call slower than a bound, her text in no log line at any level (every generated
text carries a canary that is searched for afterwards), and the gateway's memory flat.

Two profiles (fixed seed, so a failure reproduces): ``quick`` for ``make test`` and ``long`` (at least 10,000 inputs
per entry point) for ``make fuzz``, chosen with HYPOTHESIS_PROFILE.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
import urllib.parse
from typing import Dict, List

import pytest
from hypothesis import HealthCheck, given, seed, settings, strategies as st

from bot.channels.base import InboundMessage
from tests.fakes import desk_update, rendered, take_press, telegram_update
from tests.test_attacks import rss_mib
from tests.test_channels import Sms, post

settings.register_profile("quick", max_examples=60, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=10_000, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

#: every generated text carries one; none may reach a log
CANARIES: List[str] = []
#: the slowest an answer may take (the stack's Rasa timeout is 2 s; the degraded reply is sent after it)
SLOWEST_SECONDS = 6.0


def canary() -> str:
    token = f"zq{secrets.token_hex(5)}"
    CANARIES.append(token)
    return token


PATHOLOGICAL = st.one_of(
    st.builds(lambda ch, n: ch * n, st.sampled_from(list("{}?()[]!.,@#/\\*-_'\"<>|~`\u061f\u06d4") + ["\U0001F600"]),
              st.integers(1, 4000)),
    st.builds(lambda a, b, n: (a + b) * n, st.sampled_from(list("{?(.@/")), st.sampled_from(list("a1 \u0627")),
              st.integers(1, 2000)),
)
PREFIXES = st.sampled_from(["", "/", " /", "\u200b/", "//", "\t/ ", "/greet ", "/forget_me ", "\u202e", "\x00"])
TEXT = st.builds(lambda prefix, body, tail: prefix + body + " " + canary() + " " + tail,
                 PREFIXES, st.one_of(st.text(max_size=300), PATHOLOGICAL), st.text(max_size=40))


def _timed_post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    started = time.monotonic()
    status, _ = post(url, body, headers)
    took = time.monotonic() - started
    assert took < SLOWEST_SECONDS, f"{took:.1f} s"
    assert status < 500, status
    return status


# ---- the gateway over HTTP -----------------------------------------------------------------------------------------
MEMORY: Dict[str, float] = {}


@pytest.fixture(scope="module")
def fuzzed(gateway):
    """The running gateway, its memory noted before the first fuzz test (compared in the last one)."""
    MEMORY.setdefault("before", rss_mib(gateway.services.pids["gateway"]))
    return gateway


@seed(8001)
@given(text=TEXT, sid_tail=st.text(min_size=0, max_size=20), extra=st.dictionaries(
    st.text(min_size=1, max_size=12), st.text(max_size=30), max_size=3))
def test_fuzz_signed_twilio_deliveries(fuzzed, text, sid_tail, extra):
    phone = Sms(fuzzed)
    params = {**extra, **phone.params(text)}
    params["MessageSid"] += sid_tail
    signature = phone.validator.compute_signature(fuzzed.settings.twilio_webhook_url, params)
    body = urllib.parse.urlencode(params).encode("utf-8", "surrogatepass")
    _timed_post(fuzzed.settings.twilio_webhook_url, body,
                {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


@seed(8002)
@given(body=st.one_of(st.binary(max_size=2000), st.builds(lambda t: urllib.parse.urlencode(
    {"Body": t, "From": "+447700900999", "MessageSid": "SM1"}).encode("utf-8", "surrogatepass"), TEXT)),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                  "application/x-www-form-urlencoded; charset=utf-8", "text/plain", ""]),
    signature=st.one_of(st.none(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff,
                                                         blacklist_characters="\x7f"), max_size=40)))
def test_fuzz_unsigned_twilio_requests(fuzzed, body, content_type, signature):
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    status = _timed_post(fuzzed.settings.twilio_webhook_url, body, headers)
    assert status in (400, 403, 413, 415), status


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4), max_leaves=20)


def _damaged_update(text: str, path: List[str], value) -> dict:
    return _damaged(telegram_update(10**9 + secrets.randbelow(10**6), text, "en"), path, value)


def _damaged(update: dict, path: List[str], value) -> dict:
    """``update`` with the field at ``path`` (followed as far as it leads through objects) set to ``value``."""
    target = update
    for key in path[:-1]:
        target = target.get(key) if isinstance(target.get(key), dict) else target
    if path:
        target[path[-1]] = value
    return update


@seed(8003)
@given(update=st.one_of(
    st.builds(_damaged_update, TEXT, st.lists(st.sampled_from(["message", "chat", "from", "text", "id",
                                                               "message_id", "update_id", "date", "type",
                                                               "language_code", "entities", "caption"]),
                                              max_size=3), JSON_VALUES),
    st.builds(lambda t: telegram_update(10**9 + secrets.randbelow(10**6), t, "en"), TEXT),
    JSON_VALUES))
def test_fuzz_telegram_webhook(fuzzed, update):
    headers = {"Content-Type": "application/json",
               "X-Telegram-Bot-Api-Secret-Token": fuzzed.settings.telegram_webhook_secret}
    _timed_post(f"{fuzzed.gateway_url}/telegram/webhook", json.dumps(update).encode(), headers)


@seed(8004)
@given(data=st.one_of(JSON_VALUES, st.fixed_dictionaries(
    {"phone": st.sampled_from(["sms", "telegram", "x"]), "user": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
     "text": TEXT}, optional={"command": st.sampled_from(["forget", "start", "menu", "nope", None]),
                             "language_code": JSON_VALUES})))
def test_fuzz_simulator_api(fuzzed, data):
    status = _timed_post(f"{fuzzed.gateway_url}/simulator/api/message", json.dumps(data).encode(),
                         {"Content-Type": "application/json"})
    assert status in (200, 400)


def test_fuzzing_left_no_text_in_any_log_and_memory_flat(fuzzed):
    """Runs after the fuzz tests of this module (pytest keeps file order)."""
    time.sleep(1.0)
    assert CANARIES, "the fuzz tests ran"
    logs = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in fuzzed.logs.glob("*.log"))
    found = [c for c in CANARIES if c in logs]
    assert found == [], f"{len(found)} of {len(CANARIES)} canaries in the logs"
    growth = rss_mib(fuzzed.services.pids["gateway"]) - MEMORY["before"]
    assert growth < 100, f"the gateway grew by {growth:.0f} MiB"


# ---- in-process: the redactor and the per-message path --------------------------------------------------------------
@pytest.fixture(scope="module")
def redactor():
    from bot.privacy.redact import Redactor
    from bot.settings import ROOT

    return Redactor.load(ROOT / "locales")


@seed(8005)
@given(text=st.one_of(st.text(max_size=4096), PATHOLOGICAL, TEXT))
def test_fuzz_the_redactor(redactor, text):
    started = time.perf_counter()
    redacted = redactor.redact(text)
    assert time.perf_counter() - started < 0.25, f"{len(text)} characters took too long"
    assert isinstance(redacted.text, str)
    for span in redactor.find(text):
        assert 0 <= span.start < span.end <= len(text)


@seed(8006)
@given(text=TEXT, command=st.sampled_from([None, None, None, "forget", "start", "menu"]))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_fuzz_the_per_message_path(make_pipeline, store, redactor, text, command):
    pipeline, assistant, phones = make_pipeline(lambda t, meta: rendered(store, "fallback", "en"), redactor=redactor)
    started = time.perf_counter()
    address = f"+4477009{secrets.randbelow(10**5):05d}"
    outcome = asyncio.run(pipeline.handle(InboundMessage("sim-sms", secrets.token_hex(6), address, text,
                                                         command=command)))
    assert time.perf_counter() - started < 1.0
    assert outcome.event in ("answered", "forgotten", "degraded", "rate_limited", "rate_dropped")
    for received in assistant.received:  # her text never names an intent; commands come from the adapter only
        assert not received.lstrip().startswith("/") or received in ("/greet", "/forget_me", "/menu")


# ---- the advocates' Telegram group (issue 9): updates parsed in process -----------------------------------------------
DESK_CHAT = -1001234567890


GROUP_KEYS = st.lists(st.sampled_from(["message", "callback_query", "chat", "from", "text", "id", "data", "is_bot",
                                       "message_thread_id", "is_topic_message", "update_id", "type", "is_forum"]),
                      max_size=3)


@seed(8007)
@given(update=st.one_of(
    st.builds(lambda t, topic, p, v: _damaged(desk_update(DESK_CHAT, 4201, t, topic), p, v), TEXT,
              st.one_of(st.none(), st.integers(min_value=1, max_value=2**31)), GROUP_KEYS, JSON_VALUES),
    st.builds(lambda d, p, v: _damaged(take_press(DESK_CHAT, 4201, 201, d), p, v), st.text(max_size=70), GROUP_KEYS,
              JSON_VALUES),
    JSON_VALUES))
def test_fuzz_the_advocates_group_updates(update):
    """Whatever arrives from the advocates' group (or claims to): a typed message or nothing, never an exception;
    a DeskMessage always names an integer topic or General, and its sender as digits."""
    from bot.channels.base import DeskMessage
    from bot.channels.telegram import TelegramChannel

    channel = TelegramChannel("7000001:fuzz", "http://127.0.0.1:9/bot", desk_chat=DESK_CHAT)
    parsed = channel.parse(update if isinstance(update, dict) else {"update_id": 1, "message": update})
    assert parsed is None or isinstance(parsed, (InboundMessage, DeskMessage))
    if isinstance(parsed, DeskMessage):
        assert parsed.topic is None or (isinstance(parsed.topic, int) and not isinstance(parsed.topic, bool))
        assert parsed.sender.lstrip("-").isdigit()
