"""Shared fixtures: the real trained model, the real Rasa server and action server (child processes on free
localhost ports), and a small synchronous client for conversation tests."""
from __future__ import annotations

import asyncio
import sys
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content.store import ContentStore  # noqa: E402
from bot.rasa_client import AssistantReply, RasaClient, new_sender_id  # noqa: E402
from bot.services import Services, free_port  # noqa: E402
from bot.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env({})


@pytest.fixture(scope="session")
def store(settings) -> ContentStore:
    return ContentStore.load(settings.locales_dir)


@pytest.fixture(scope="session")
def model(settings) -> Path:
    from bot.training import ensure_model

    return ensure_model(settings)


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def services(settings, model, service_logs):
    with Services.on_free_ports(settings, model, service_logs) as running:
        yield running


TWILIO_SID = "AC" + "0" * 32
SENDER = "+447700900000"


@dataclass
class Stack:
    """The whole service in child processes, with Twilio's and Telegram's APIs replaced by recording fakes."""

    services: Services
    twilio: Any  # tests.fakes.FakeTwilio
    telegram: Any  # tests.fakes.FakeTelegram
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
    )
    values.update(overrides)
    configured = replace(settings, **values)
    configured.validate()
    return configured


@contextmanager
def running_stack(settings: Settings, model: Path, workdir: Path, **overrides) -> Iterator[Stack]:
    """Start fakes and the whole service; every file any of our processes writes goes under ``workdir``."""
    from tests.fakes import FakeTelegram, FakeTwilio

    logs, tmp = workdir / "logs", workdir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with FakeTwilio() as twilio, FakeTelegram() as telegram:
        configured = stack_settings(settings, workdir, twilio.url, telegram.url, **overrides)
        env = {"TMPDIR": str(tmp), "HOME": str(tmp)}
        with Services(configured, model, logs, gateway=True, extra_env=env) as services:
            yield Stack(services, twilio, telegram, logs, workdir)


@pytest.fixture(scope="session")
def gateway(settings, model, tmp_path_factory) -> Iterator[Stack]:
    """The whole service as ``make run`` starts it (simulator page on), plus both channels against fakes."""
    with running_stack(settings, model, tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@dataclass
class Conversation:
    """One user talking to the running assistant; each ``say`` returns the replies (text + metadata)."""

    rasa_url: str
    channel: str = "sms"
    sender: str = field(default_factory=lambda: new_sender_id("test"))
    metadata: Dict = field(default_factory=dict)

    def say(self, text: str) -> List[AssistantReply]:
        async def send() -> List[AssistantReply]:
            async with RasaClient(self.rasa_url, timeout=30) as client:
                return await client.send(self.sender, text, {"channel": self.channel, **self.metadata})

        replies = asyncio.run(send())
        assert replies, f"no reply to a message of {len(text)} characters"
        return replies

    def topic(self, text: str) -> str:
        return self.say(text)[0].meta["topic"]


@pytest.fixture
def conversation(services):
    def start(channel: str = "sms", language_hint: Optional[str] = None) -> Conversation:
        meta = {"language_hint": language_hint} if language_hint else {}
        return Conversation(services.settings.rasa_url, channel, metadata=meta)

    return start
