"""What the gateway adds: end-to-end latency from webhook in to reply sent, SMS and Telegram, against Rasa's REST
webhook called directly, 20 concurrent conversations, all in one run on one stack; plus each process's memory.

    python -m bench.gateway            # 3 passes x 20 conversations x 10 messages per mode (600 per mode)
    python -m bench.gateway --quick    # 1 pass x 20 conversations x 2 messages: proves the benchmark runs

One stack: the action server, Rasa and the gateway as child processes (``Services(gateway=True)``), with Twilio's
REST API and Telegram's Bot API replaced by the recording fakes of the tests (in this process, on localhost). Modes:

    rasa       POST <rasa>/webhooks/rest/webhook; latency until the HTTP response
    sms        a Twilio-signed webhook POST to the gateway; latency until the fake Twilio received the LAST
               Messages.json create for that phone number in that turn ("reply sent")
    telegram   an update POST to /telegram/webhook with the secret token; latency until the fake Bot API received
               the last sendMessage for that chat

The gateway sends the replies before it answers the webhook, so the webhook's own return is printed too. Every mode
sends the same messages (English and Spanish, one emergency per conversation, one with identifying details). The modes
take turns every 2 messages of their conversations (order rotated), so a spell of load from elsewhere on the machine
falls on all of them alike. After the run, each step of the gateway's path is timed alone in this process.
Target: the gateway adds at most 15% to Rasa's own p95. The exit code is 0 either way (it is a benchmark).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import secrets
import statistics
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import aiohttp

from bench.latency import memory_kib, percentile
from bot.settings import Settings
from tests.fakes import SENDER, TWILIO_SID, Stack, running_stack

CONVERSATIONS = 20
TARGET_OVERHEAD = 15.0  # % of Rasa's own p95
MODES = ("rasa", "sms", "telegram")

#: one list per language; a conversation keeps to one language and starts at its own place in the list
MESSAGES = {
    "en": [
        "hiya",
        "if i go to police about him will they check my visa",
        "im on a spouse visa and he keeps saying hell ring the home office and get me deported if i dont obey him",
        "my name is Amina Begum, can someone call me back on 07700 900123",
        "he has a knife",
        "my employer keeps my passport and says i owe him 5000 before i can leave. i clean his house 7 days a week "
        "and get no pay",
        "number to call pls",
        "my husband checks my phone every night, will he be able to see this",
        "can i regester with a gp with no papers",
        "thank you so much that really helped",
    ],
    "es": [
        "holaa buenas",
        "si denuncio a mi pareja la policia me va a pedir los papeles?",
        "mi visa depende de mi esposo y me pega, que hago",
        "puedo registrarme con un GP sin papeles?",
        "tiene un cuchillo",
        "no tengo plata ni donde dormir con mis dos hijos, que ayudas hay",
        "dame un numero para llamar porfa",
        "mi marido me revisa el movil, va a ver esto?",
        "donde consigo un abogado de inmigracion gratis",
        "muchas gracias de verdad",
    ],
}


def script(conversation: int, turns: int) -> Tuple[str, List[str]]:
    """The language and messages of conversation ``conversation`` (the same in every mode)."""
    language = "en" if conversation % 2 == 0 else "es"
    texts = MESSAGES[language]
    start = (conversation // 2) % len(texts)
    return language, [texts[(start + k) % len(texts)] for k in range(turns)]


# ---- one turn, one conversation, one mode -------------------------------------------------------------------------
@dataclass
class Turn:
    mode: str
    address: str  # sender id, phone number or chat id
    started: float  # time.monotonic(), just before the request
    answered: float  # the HTTP response (Rasa's reply; the gateway's webhook answer)
    ok: bool
    sent: Optional[float] = None  # the fake provider received the last reply of this turn
    replies: int = 0  # messages the fake provider received in this turn

    @property
    def end(self) -> Optional[float]:
        return self.answered if self.mode == "rasa" else self.sent


_numbers = itertools.count(1)
_chats = itertools.count(1)


class Client:
    """Posts one message in a mode; a request is fully built (signed, encoded) before the clock starts."""

    def __init__(self, stack: Stack, session: aiohttp.ClientSession) -> None:
        from twilio.request_validator import RequestValidator

        self.stack = stack
        self.session = session
        self.validator = RequestValidator(stack.settings.twilio_auth_token)

    def new_address(self, mode: str) -> str:
        if mode == "rasa":
            return f"bench-{secrets.token_hex(8)}"
        if mode == "sms":
            return f"+4477009{next(_numbers):05d}"
        return str(2 * 10**9 + next(_chats))

    async def send(self, mode: str, address: str, language: str, text: str) -> Turn:
        s = self.stack.settings
        if mode == "rasa":
            url, headers = f"{s.rasa_url}/webhooks/rest/webhook", {"Content-Type": "application/json"}
            body = json.dumps({"sender": address, "message": text, "metadata": {"channel": "sms"}}).encode()
        elif mode == "sms":
            params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": TWILIO_SID, "From": address,
                      "To": SENDER, "Body": text, "NumMedia": "0"}
            url = s.twilio_webhook_url
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": self.validator.compute_signature(url, params)}
            body = urllib.parse.urlencode(params).encode()
        else:
            from tests.fakes import telegram_update

            url = f"{self.stack.services.gateway_url}/telegram/webhook"
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": s.telegram_webhook_secret}
            body = json.dumps(telegram_update(int(address), text, language)).encode()
        started = time.monotonic()
        async with self.session.post(url, data=body, headers=headers) as response:
            payload = await response.read()
            answered = time.monotonic()
        ok = response.status == 200 and (mode != "rasa" or bool(json.loads(payload)))
        return Turn(mode, address, started, answered, ok)



@dataclass
class Conversation:
    mode: str
    address: str
    language: str
    texts: List[str]


def new_conversations(client: Client, mode: str, turns: int) -> List[Conversation]:
    return [Conversation(mode, client.new_address(mode), *script(i, turns)) for i in range(CONVERSATIONS)]


def attach_sent(stack: Stack, turns: List[Turn]) -> None:
    """Give each gateway turn the time the fake provider received its last reply (within the turn's window)."""
    received: Dict[Tuple[str, str], List[float]] = collections.defaultdict(list)
    for call in stack.twilio.named("/Messages.json"):
        received["sms", str(call.params.get("To"))].append(call.at)
    for call in stack.telegram.named("/sendMessage"):
        received["telegram", str(int(call.params["chat_id"]))].append(call.at)
    for turn in turns:
        if turn.mode == "rasa":
            continue
        times = [at for at in received.get((turn.mode, turn.address), []) if turn.started <= at <= turn.answered]
        turn.sent = max(times) if times else None
        turn.replies = len(times)


async def run_block(client: Client, conversations: List[Conversation], start: int, stop: int) -> List[Turn]:
    """Turns ``start:stop`` of every conversation, the conversations concurrent, each one's turns in order."""
    async def one(c: Conversation) -> List[Turn]:
        return [await client.send(c.mode, c.address, c.language, text) for text in c.texts[start:stop]]

    return [turn for turns in await asyncio.gather(*(one(c) for c in conversations)) for turn in turns]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_all(stack: Stack, passes: int, turns: int, step: int, cpu: Dict[str, float]) -> Dict[str, List[Turn]]:
    """Per pass, 20 new conversations per mode; their turns go in blocks of ``step``, the modes taking turns block by
    block (order rotated), so a spell of load from elsewhere on the machine falls on every mode alike."""
    sessions = {mode: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONVERSATIONS * 2),
                                            timeout=aiohttp.ClientTimeout(total=60)) for mode in MODES}
    clients = {mode: Client(stack, session) for mode, session in sessions.items()}
    results: Dict[str, List[Turn]] = {mode: [] for mode in MODES}
    try:
        for mode in MODES:  # warm-up, not measured: one message in each of 20 conversations per mode
            await run_block(clients[mode], new_conversations(clients[mode], mode, 1), 0, 1)
        pids = {**stack.services.pids, "bench (client + fakes)": os.getpid()}
        cpu.update({name: -cpu_seconds(pid) for name, pid in pids.items()})
        block = 0
        for _ in range(passes):
            conversations = {mode: new_conversations(clients[mode], mode, turns) for mode in MODES}
            for first in range(0, turns, step):
                for mode in MODES[block % 3:] + MODES[:block % 3]:
                    results[mode] += await run_block(clients[mode], conversations[mode], first,
                                                     min(turns, first + step))
                block += 1
        for name, pid in pids.items():
            cpu[name] += cpu_seconds(pid)
    finally:
        for session in sessions.values():
            await session.close()
    await asyncio.sleep(0.2)  # nothing should be in flight; a margin anyway
    attach_sent(stack, [turn for turns_ in results.values() for turn in turns_])
    return results


# ---- where the gateway's time goes: each step alone, in this process, after the run (nothing else in flight) ---------
def _per_call_ms(work, items: List, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            work(item)
    return (time.perf_counter() - started) * 1000 / (repeat * len(items))


async def _send_ms(adapter, address: str, bodies: List[str]) -> float:
    for body in bodies[:3]:  # warm the connection
        await adapter.send(address, body)
    started = time.perf_counter()
    for body in bodies:
        await adapter.send(address, body)
    return (time.perf_counter() - started) * 1000 / len(bodies)


async def _sends(stack: Stack, bodies: List[str], html: List[str]) -> Dict[str, float]:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.twilio_sms import TwilioSms

    s = stack.settings
    sms = TwilioSms(s.twilio_account_sid, s.twilio_auth_token, s.twilio_from, s.twilio_webhook_url, s.twilio_api_url)
    telegram = TelegramChannel(s.telegram_bot_token, s.telegram_api_url)
    await telegram.start()
    try:
        return {"send one SMS (twilio Client -> fake)": await _send_ms(sms, "+447700999999", bodies),
                "send one Telegram message (PTB Bot -> fake)": await _send_ms(telegram, "1999999999", html)}
    finally:
        await sms.close()
        await telegram.close()


def step_costs(stack: Stack) -> Dict[str, float]:
    """Milliseconds per call of each step of the gateway's path, timed alone on the benchmark's own messages."""
    from bot.channels.sms_format import sms_bodies
    from bot.channels.telegram import TelegramChannel
    from bot.channels.telegram_format import telegram_messages
    from bot.privacy.pseudonyms import Pseudonyms
    from bot.privacy.redact import Redactor
    from tests.fakes import telegram_update
    from twilio.request_validator import RequestValidator

    s = stack.settings
    texts = MESSAGES["en"] + MESSAGES["es"]
    sent = [c.params["Body"] for c in stack.twilio.named("/Messages.json")][-40:]
    replies = [body.split("\n", 1)[-1] for body in sent]  # the reply texts, without the neutral line
    neutral = sent[0].split("\n", 1)[0] if sent else ""
    html = [c.params["text"] for c in stack.telegram.named("/sendMessage")][-40:]
    validator = RequestValidator(s.twilio_auth_token)
    forms = [{"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": TWILIO_SID, "From": "+447700900001",
              "To": SENDER, "Body": text, "NumMedia": "0"} for text in texts]
    signed = [(form, validator.compute_signature(s.twilio_webhook_url, form)) for form in forms]
    pseudonyms = Pseudonyms(s.pseudonym_key)
    redactor = Redactor.load(s.locales_dir)
    channel = TelegramChannel(s.telegram_bot_token, s.telegram_api_url)
    updates = [telegram_update(2 * 10**9, text, "en") for text in texts]
    costs = {
        "verify Twilio signature": _per_call_ms(lambda f: validator.validate(s.twilio_webhook_url, f[0], f[1]),
                                                signed, 20),
        "parse Telegram update (PTB)": _per_call_ms(channel.parse, updates, 20),
        "pseudonymise address + message id": _per_call_ms(
            lambda text: (pseudonyms.of("sms", "+447700900001"), pseudonyms.of_message("sms", text)), texts, 50),
        "redact (spaCy matcher, numbers)": _per_call_ms(redactor.redact, texts, 10),
        "split reply into SMS bodies": _per_call_ms(lambda text: sms_bodies(text, neutral), replies, 10),
        "format reply for Telegram": _per_call_ms(telegram_messages, replies, 10),
    }
    if sent and html:
        costs.update(asyncio.run(_sends(stack, sent, html)))
    return costs


# ---- report -------------------------------------------------------------------------------------------------------
def gateway_events(log: Path) -> Dict[str, int]:
    counts: Dict[str, int] = collections.Counter()
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            for word in line.split():
                if word.startswith("event="):
                    counts[word[len("event="):]] += 1
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 pass, 2 messages per conversation")
    parser.add_argument("--passes", type=int, default=3, help="passes of 20 new conversations per mode (default 3)")
    parser.add_argument("--turns", type=int, default=10, help="messages per conversation (default 10)")
    parser.add_argument("--step", type=int, default=2, help="turns per block before the next mode's (default 2)")
    args = parser.parse_args()
    passes, turns, step = (1, 2, 1) if args.quick else (args.passes, args.turns, args.step)
    from bot.training import ensure_model

    settings = Settings.from_env()
    model = ensure_model(settings)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as work:
        with running_stack(settings, model, Path(work), log_level="INFO", rate_limit=10000, rasa_timeout=10.0,
                           simulator=False) as stack:
            wall = time.monotonic()
            cpu: Dict[str, float] = {}
            results = asyncio.run(run_all(stack, passes, turns, step, cpu))
            wall = time.monotonic() - wall
            memory = {name: memory_kib(pid) for name, pid in stack.services.pids.items()}
            memory["bench (client + fakes)"] = memory_kib(os.getpid())
            steps = step_costs(stack)
        events = gateway_events(stack.logs / "gateway.log")

    print(f"\nEnd-to-end latency, {CONVERSATIONS} concurrent conversations x {turns} messages x {passes} pass(es) "
          f"per mode, modes alternating every {step} turn(s), after warm-up; {wall:.0f} s in all. Gateway modes end when the fake provider received the "
          f"last reply of the turn.\n")
    print(f"{'mode':<10}{'n':>5}{'failed':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'mean ms':>9}{'max ms':>8}"
          f"{'p95 vs rasa':>12}{'webhook p95':>12}{'sends/turn':>11}")
    p95: Dict[str, float] = {}
    for mode in MODES:
        turns_ = results[mode]
        good = [t for t in turns_ if t.ok and t.end is not None]
        latencies = [(t.end - t.started) * 1000 for t in good]
        if not latencies:
            print(f"{mode:<10}{len(turns_):>5}{len(turns_):>7}  no replies")
            continue
        p95[mode] = percentile(latencies, 95)
        overhead = f"{(p95[mode] / p95['rasa'] - 1) * 100:+.1f}%" if mode != "rasa" and "rasa" in p95 else ""
        webhook = f"{percentile([(t.answered - t.started) * 1000 for t in good], 95):.1f}" if mode != "rasa" else ""
        sends = f"{statistics.mean(t.replies for t in good):.2f}" if mode != "rasa" else ""
        print(f"{mode:<10}{len(good):>5}{len(turns_) - len(good):>7}{percentile(latencies, 50):>8.1f}"
              f"{p95[mode]:>8.1f}{percentile(latencies, 99):>8.1f}{statistics.mean(latencies):>9.1f}"
              f"{max(latencies):>8.1f}{overhead:>12}{webhook:>12}{sends:>11}")

    total = sum(len(turns_) for turns_ in results.values())
    handled = {"rasa": total, "actions": total, "gateway": total - len(results["rasa"]),
               "bench (client + fakes)": total}
    print(f"\n{'process':<24}{'RSS MiB':>9}{'peak MiB':>10}{'CPU s':>8}{'CPU ms/msg':>12}")
    for name, m in memory.items():
        used = cpu.get(name, 0.0)
        print(f"{name:<24}{m.get('VmRSS', 0) / 1024:>9.0f}{m.get('VmHWM', 0) / 1024:>10.0f}{used:>8.1f}"
              f"{used * 1000 / max(1, handled.get(name, total)):>12.1f}")
    print("(CPU over the measured part; per message it handled: the gateway only sms + telegram messages)")
    print(f"\n{'step of the gateway path, alone (in this process)':<52}{'ms/call':>9}")
    for name, ms in steps.items():
        print(f"{name:<52}{ms:>9.3f}")
    print("\ngateway events: " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))

    overheads = [(p95[m] / p95["rasa"] - 1) * 100 for m in ("sms", "telegram") if m in p95 and "rasa" in p95]
    met = len(overheads) == 2 and max(overheads) <= TARGET_OVERHEAD
    print(f"\ntarget: the gateway adds <= {TARGET_OVERHEAD:.0f}% to Rasa's p95: "
          f"{'target met' if met else 'target NOT met'}")


if __name__ == "__main__":
    main()
