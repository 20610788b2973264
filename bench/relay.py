"""Relay latency of the handoff (issue 9): her message in to the advocate's topic, and the advocate's reply in to her
phone, with 20 handoffs at once, through the running gateway (webhooks in, the fake providers' APIs out).

    python -m bench.relay            # 20 handoffs (10 on SMS, 10 on Telegram) x 10 messages each way
    python -m bench.relay --quick    # 20 handoffs x 2 messages each way: proves the benchmark runs

One stack as the tests run it (``tests.fakes.running_stack``): the action server, Rasa and the gateway as child
processes, Twilio's REST API and Telegram's Bot API replaced by the recording fakes, the Telegram desk on (a
supergroup), two advocates registered in the service's database. Each woman asks for a person, says "1", and one of
the advocates presses Take (not measured). Then, for every handoff at once, turn by turn:

    her -> topic      her webhook (a Twilio-signed SMS, or a Telegram update) until the fake Bot API received the
                      copy of her message in the case's topic (copyMessage from Telegram, sendMessage from SMS)
    advocate -> her   the advocate's message in the topic (a Telegram update) until the fake provider received it
                      for her (sendMessage to her chat, or a Twilio Messages.json create to her number)

The gateway's CPU time over the measured part, per relayed message, comes from /proc. Exit code 0 either way.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import aiohttp

from bench.gateway import cpu_seconds
from bench.latency import percentile
from bot.settings import Settings
from tests.fakes import SENDER, TWILIO_SID, Stack, desk_update, running_stack, take_press, telegram_update

HANDOFFS = 20
DESK = -1001234567890
ADVOCATES = (4201, 4202)


@dataclass
class Woman:
    channel: str  # "sms" or "telegram"
    address: str  # her number or chat id (fake, generated here)
    topic: Optional[int] = None
    code: Optional[str] = None
    advocate: int = ADVOCATES[0]  # who took her case


class Relay:
    """Posts webhooks to the gateway and waits for what the fakes receive."""

    def __init__(self, stack: Stack, session: aiohttp.ClientSession) -> None:
        from twilio.request_validator import RequestValidator

        self.stack, self.session = stack, session
        self.validator = RequestValidator(stack.settings.twilio_auth_token)

    async def her(self, woman: Woman, text: str) -> Optional[int]:
        """Her message; the Telegram message id, for finding its copy."""
        s = self.stack.settings
        if woman.channel == "sms":
            params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": TWILIO_SID, "From": woman.address,
                      "To": SENDER, "Body": text, "NumMedia": "0"}
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": self.validator.compute_signature(s.twilio_webhook_url, params)}
            await self._post(s.twilio_webhook_url, urllib.parse.urlencode(params).encode(), headers)
            return None
        update = telegram_update(int(woman.address), text)
        await self._telegram(update)
        return update["message"]["message_id"]

    async def advocate(self, woman: Woman, text: str) -> None:
        await self._telegram(desk_update(DESK, woman.advocate, text, woman.topic))

    async def press_take(self, woman: Woman, advocate: int) -> None:
        await self._telegram(take_press(DESK, advocate, woman.topic, f"take:{woman.code}"))

    async def _telegram(self, update: Dict) -> None:
        s = self.stack.settings
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": s.telegram_webhook_secret}
        await self._post(f"{self.stack.services.gateway_url}/telegram/webhook", json.dumps(update).encode(), headers)

    async def _post(self, url: str, body: bytes, headers: Dict[str, str]) -> None:
        async with self.session.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"the gateway answered {response.status}")


async def wait_for(found, timeout: float = 30.0) -> Optional[float]:
    """Poll the fakes' records until ``found()`` gives the time a call arrived (None after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = found()
        if at is not None:
            return at
        await asyncio.sleep(0.002)
    return None


def copy_in_topic(stack: Stack, woman: Woman, marker: str, message_id: Optional[int]):
    def found() -> Optional[float]:
        for call in stack.telegram.named("/copyMessage") + stack.telegram.named("/sendMessage"):
            p = call.params
            if p.get("message_thread_id") is None or int(p["message_thread_id"]) != woman.topic:
                continue
            if (message_id is not None and int(p.get("message_id", -1)) == message_id) or marker in str(p.get("text")):
                return call.at
        return None
    return found


def reply_to_her(stack: Stack, woman: Woman, marker: str):
    def found() -> Optional[float]:
        if woman.channel == "sms":
            calls = [c for c in stack.twilio.named("/Messages.json") if c.params.get("To") == woman.address
                     and marker in str(c.params.get("Body"))]
        else:
            calls = [c for c in stack.telegram.named("/sendMessage") if int(c.params["chat_id"]) == int(woman.address)
                     and marker in str(c.params.get("text"))]
        return calls[0].at if calls else None
    return found


async def open_cases(relay: Relay, stack: Stack, women: List[Woman]) -> None:
    """One by one (not measured): ask for a person, "1", the new topic is hers; an advocate takes it."""
    for i, woman in enumerate(women):
        before = len(stack.telegram.named("/createForumTopic"))
        await relay.her(woman, "i want to talk to a real person")
        await relay.her(woman, "1")
        created = await wait_for(lambda: len(stack.telegram.named("/createForumTopic")) > before or None)
        if created is None:
            raise RuntimeError("no topic was opened: is the Telegram desk on?")
        call = stack.telegram.named("/createForumTopic")[before]
        woman.code = call.params["name"].split(" · ")[0]
        woman.topic = max(stack.telegram.topics)
        woman.advocate = ADVOCATES[i % 2]
        await relay.press_take(woman, woman.advocate)


async def measure(stack: Stack, turns: int) -> Dict[str, object]:
    women = [Woman("sms" if i % 2 else "telegram", f"+4477009{30000 + i:05d}" if i % 2 else str(3 * 10**9 + i))
             for i in range(HANDOFFS)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=HANDOFFS * 2),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        relay = Relay(stack, session)
        await open_cases(relay, stack, women)
        gateway = stack.services.pids["gateway"]
        cpu, wall = -cpu_seconds(gateway), time.monotonic()
        names = [f"{d} ({c})" for d in ("her -> topic", "advocate -> her") for c in ("sms", "telegram")]
        results: Dict[str, List[float]] = {name: [] for name in names}
        lost: Dict[str, int] = {name: 0 for name in results}

        async def one(woman: Woman, turn: int) -> None:
            marker = f"m{turn}x{secrets.token_hex(3)}"
            started = time.monotonic()
            message_id = await relay.her(woman, f"her message {marker}")
            at = await wait_for(copy_in_topic(stack, woman, marker, message_id))
            _record(f"her -> topic ({woman.channel})", started, at)
            started = time.monotonic()
            await relay.advocate(woman, f"advocate reply {marker}")
            at = await wait_for(reply_to_her(stack, woman, marker))
            _record(f"advocate -> her ({woman.channel})", started, at)

        def _record(name: str, started: float, at: Optional[float]) -> None:
            if at is None:
                lost[name] += 1
            else:
                results[name].append((at - started) * 1000)

        for turn in range(turns):
            await asyncio.gather(*(one(w, turn) for w in women))
        cpu += cpu_seconds(gateway)
        wall = time.monotonic() - wall
    return {"results": results, "lost": lost, "cpu": cpu, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 messages each way per handoff")
    parser.add_argument("--turns", type=int, default=10, help="messages each way per handoff (default 10)")
    args = parser.parse_args()
    turns = 2 if args.quick else args.turns
    from bot.training import ensure_model

    settings = Settings.from_env()
    model = ensure_model(settings)
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as work:
        with running_stack(settings, model, Path(work), log_level="INFO", rate_limit=10000, rasa_timeout=10.0,
                           simulator=False, telegram_desk_chat=DESK, handoff_wait_seconds=10**6) as stack:
            import sqlalchemy

            from bot.handoff.advocates import Advocates
            from bot.handoff.model import DeskKind

            engine = sqlalchemy.create_engine(stack.settings.database_url, future=True)
            for advocate in ADVOCATES:
                Advocates(engine, ("en",)).add(DeskKind.TELEGRAM, str(advocate), f"Advocate {advocate}", ["en"])
            engine.dispose()
            measured = asyncio.run(measure(stack, turns))

    results, lost = measured["results"], measured["lost"]
    relayed = sum(len(v) for v in results.values())
    print(f"\nHandoff relay latency: {HANDOFFS} handoffs at once (10 SMS, 10 Telegram; Telegram desk), {turns} "
          f"messages each way per handoff, {measured['wall']:.0f} s measured.\n")
    print(f"{'direction (her channel)':<28}{'n':>5}{'lost':>6}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}")
    for name, values in results.items():
        if values:
            print(f"{name:<28}{len(values):>5}{lost[name]:>6}{percentile(values, 50):>8.1f}"
                  f"{percentile(values, 95):>8.1f}{max(values):>8.1f}")
        else:
            print(f"{name:<28}{0:>5}{lost[name]:>6}  nothing relayed")
    print(f"\ngateway CPU over the measured part: {measured['cpu']:.2f} s, "
          f"{measured['cpu'] * 1000 / max(1, relayed):.1f} ms per relayed message ({relayed} relayed)")


if __name__ == "__main__":
    main()
