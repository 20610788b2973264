"""Rasa's own log carries no message text at any level, even where Rasa itself would write it (issue 8, findings 1
and 2): a request the gateway gives up on (Rasa logs ``rest.message.received.timeout`` at ERROR with the text), and a
message that reaches Rasa as a slash command (its "Parsed an intent '<text>'" warning). The real Rasa server and
action server run here on their own ports; the action server is stalled with SIGSTOP so that Rasa's handler is
cancelled when the client gives up, as the gateway does after ASSISTANT_RASA_TIMEOUT."""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time

import aiohttp
import pytest

from bot.services import Services


@pytest.fixture(scope="module")
def own_services(settings, model, tmp_path_factory):
    with Services.on_free_ports(settings, model, tmp_path_factory.mktemp("rasa-logs")) as services:
        yield services


async def _post(url: str, text: str, timeout: float) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        try:
            async with session.post(url, json={"sender": f"logs-{secrets.token_hex(4)}", "message": text}) as r:
                await r.read()
        except asyncio.TimeoutError:
            pass


def test_a_request_the_gateway_gives_up_on_leaves_no_text_in_rasas_log(own_services):
    canary = f"canary{secrets.token_hex(6)} my name is Amina"
    url = f"{own_services.settings.rasa_url}/webhooks/rest/webhook"
    actions = own_services.pids["actions"]
    os.kill(actions, signal.SIGSTOP)  # the action call hangs, so Rasa's handler is still running when we give up
    try:
        asyncio.run(_post(url, canary, timeout=1.0))
        time.sleep(1.5)
    finally:
        os.kill(actions, signal.SIGCONT)
    time.sleep(1.0)
    log = (own_services.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "rest.message.received.timeout" in log, "the path that wrote the text was exercised"
    assert canary.split()[0] not in log and "Amina" not in log


@pytest.mark.parametrize("text", [" /canary{} my name is Amina", "/canary{} my name is Amina"])
def test_a_slash_command_is_not_quoted_in_rasas_log(own_services, text):
    canary = text.format(secrets.token_hex(6))
    url = f"{own_services.settings.rasa_url}/webhooks/rest/webhook"
    asyncio.run(_post(url, canary, timeout=30))
    time.sleep(0.5)
    log = (own_services.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert canary.split()[0].lstrip("/") not in log and "Amina" not in log
