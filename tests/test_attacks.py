"""The findings of the independent attack (issue 8), each replayed against the running gateway (child process, both
channels configured, DEBUG): bodies refused on their headers before they are read, 4xx and no ERROR line for
malformed input, a replay with a shifted parameter boundary dropped, malformed HTTP not echoed into the log, and the
event loop never blocked by one chat's pathological messages."""
from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest
from twilio.request_validator import RequestValidator

from tests.fakes import telegram_update
from tests.test_channels import Sms, TelegramUser, post

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def raw_request(stack, head: bytes, body: bytes = b"", read_timeout: float = 5.0) -> Tuple[int, float]:
    """Send bytes as they are (headers that lie about the body, bytes no HTTP client would send); the status and
    how long the answer took."""
    started = time.monotonic()
    with socket.create_connection((stack.settings.gateway_host, stack.settings.gateway_port), timeout=read_timeout) \
            as sock:
        sock.sendall(head + body)
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except socket.timeout:
            return 0, time.monotonic() - started
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return (int(match.group(1)) if match else 0), time.monotonic() - started


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class LogWatch:
    """The lines the gateway logged from now on."""

    def __init__(self, stack) -> None:
        self.path = stack.logs / "gateway.log"
        self.offset = self.path.stat().st_size

    def lines(self) -> List[str]:
        time.sleep(0.3)
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", "replace").splitlines()


# ---- finding 4: refused before reading ------------------------------------------------------------------------------
@pytest.mark.parametrize("path, headers", [
    ("/twilio/sms", b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: abc=\r\n"),
    ("/telegram/webhook", b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: {secret}\r\n"),
])
def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(gateway, path, headers):
    headers = headers.replace(b"{secret}", gateway.settings.telegram_webhook_secret.encode())
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n".encode() + headers + b"\r\n")
    status, seconds = raw_request(gateway, head)  # and no body follows: an answer now means nothing was waited for
    assert status == 413 and seconds < 2


@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary=xyz", "multipart/form-data", "text/plain", "application/json",
    "application/x-www-form-urlencoded; charset=latin-1", "application/x-www-form-urlencoded; charset=bogus-8",
])
def test_twilio_takes_only_utf8_form_data(gateway, content_type):
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"Body\"\r\n\r\nhello\r\n--xyz--\r\n"
    status, _ = post(gateway.settings.twilio_webhook_url, body,
                     {"Content-Type": content_type, "X-Twilio-Signature": "abc="})
    assert status == 415


def test_a_chunked_flood_is_cut_at_the_limit_and_memory_stays_flat(gateway):
    """Six 20 MB unauthenticated multipart bodies without a length (chunked): before, they were read whole."""
    pid = gateway.services.pids["gateway"]
    before = rss_mib(pid)
    chunk = b"a" * 65536
    statuses = []

    def flood() -> None:
        head = (b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\nX-Twilio-Signature: abc=\r\n\r\n")
        field = b"--xyz\r\nContent-Disposition: form-data; name=\"Body\"\r\n\r\n"
        try:
            with socket.create_connection((gateway.settings.gateway_host, gateway.settings.gateway_port), 10) as s:
                s.sendall(head + b"%x\r\n" % len(field) + field + b"\r\n")
                for _ in range(20 * 16):
                    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                s.sendall(b"0\r\n\r\n")
                statuses.append(s.recv(64)[:12].decode("ascii", "replace"))
        except OSError:
            statuses.append("cut")  # the gateway stopped reading and closed the connection: also a refusal

    threads = [threading.Thread(target=flood) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert rss_mib(pid) - before < 40, f"{before:.0f} -> {rss_mib(pid):.0f} MiB"
    assert all(status in ("HTTP/1.1 415", "cut") for status in statuses), statuses


# ---- finding 8: malformed input is a 4xx, never a 500 or an ERROR line ----------------------------------------------
def test_malformed_deliveries_get_4xx_and_no_error_line(gateway):
    watch = LogWatch(gateway)
    twilio, secret = gateway.settings.twilio_webhook_url, gateway.settings.telegram_webhook_secret
    telegram = f"{gateway.gateway_url}/telegram/webhook"
    tg = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    results = {
        "invalid utf-8": post(twilio, b"Body=\xff\xfe&From=%2B44", {**FORM, "X-Twilio-Signature": "abc="})[0],
        "percent-encoded invalid utf-8": post(twilio, b"Body=%ff%fe", {**FORM, "X-Twilio-Signature": "abc="})[0],
        "unsigned": post(twilio, b"Body=hi", FORM)[0],
        "deep json": post(telegram, b"[" * 20_000 + b"]" * 20_000, tg)[0],
        "not json": post(telegram, b"{nope", tg)[0],
        "invalid utf-8 json": post(telegram, b'{"a": "\xff"}', tg)[0],
        "json list": post(telegram, b"[1, 2]", tg)[0],
        "wrong types": post(telegram, json.dumps({"update_id": "x", "message": {"text": 5, "chat": 7}}).encode(),
                            tg)[0],
        "simulator deep json": post(f"{gateway.gateway_url}/simulator/api/message", b"[" * 20_000,
                                    {"Content-Type": "application/json"})[0],
    }
    head = ("POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n").encode() + b"X-Telegram-Bot-Api-Secret-Token: s\xe9cr\xc3t\r\n\r\n{}"
    results["non-ascii secret"] = raw_request(gateway, head)[0]
    assert results == {"invalid utf-8": 400, "percent-encoded invalid utf-8": 400, "unsigned": 403,
                       "deep json": 400, "not json": 400, "invalid utf-8 json": 400, "json list": 200,
                       "wrong types": 200, "simulator deep json": 400, "non-ascii secret": 403}
    logged = watch.lines()
    assert not [line for line in logged if " ERROR " in line or "Traceback" in line], logged


def test_malformed_http_is_not_echoed_into_the_log(gateway):
    canary = f"canary{secrets.token_hex(6)}"
    watch = LogWatch(gateway)
    for head in (f"G\x01T /{canary} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                 f"GET /{canary} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
                 f"GET / HTTP/1.1\r\nHost: x\r\nBad Header {canary}\r\n\r\n".encode(),
                 f"POST /twilio/sms HTTP/1.1\r\nContent-Length: {canary}\r\n\r\n".encode()):
        status, _ = raw_request(gateway, head)
        assert status == 400
    logged = "\n".join(watch.lines())
    assert canary not in logged and "Traceback" not in logged


# ---- finding 9: a replay with a shifted boundary -------------------------------------------------------------------
def test_a_replay_that_shifts_a_boundary_keeps_the_signature_and_is_dropped(gateway):
    phone = Sms(gateway)
    params = phone.params("will the police tell the home office")
    assert phone.deliver(params) == 200
    answered = len(phone.replies())
    assert answered
    signature = phone.validator.compute_signature(gateway.settings.twilio_webhook_url, params)
    shifted = dict(params)
    shifted["MessageSid"] = params["MessageSid"] + "NumMedia" + shifted.pop("NumMedia")  # a new SID
    assert RequestValidator(gateway.settings.twilio_auth_token).validate(
        gateway.settings.twilio_webhook_url, shifted, signature), "the captured signature still holds"
    assert phone.deliver(shifted, signature=signature) == 200
    time.sleep(0.5)
    assert len(phone.replies()) == answered, "processed again"


# ---- finding 5: one chat cannot stall the gateway -------------------------------------------------------------------
def test_pathological_messages_from_one_chat_do_not_block_the_event_loop(gateway):
    user = TelegramUser(gateway)
    texts = ["{" * 4096, "?" * 4096, "\U0001F600" * 4096, "{?" * 2048, "(" * 2000 + "my name is Amina " + ")" * 2000]
    senders = [threading.Thread(target=user.deliver, args=(telegram_update(user.chat_id, texts[i % len(texts)]),))
               for i in range(20)]
    latencies: List[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            with socket.create_connection((gateway.settings.gateway_host, gateway.settings.gateway_port), 10) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                s.recv(1024)
            latencies.append(time.monotonic() - started)
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(120)
    done.set()
    prober.join(10)
    assert len(latencies) > 10
    assert max(latencies) < 1.0, f"/healthz took up to {max(latencies):.2f} s"
