"""Shared fixtures: the real trained model, the real Rasa server and action server (child processes on free
localhost ports), and a small synchronous client for conversation tests."""
from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.channels.base import SMS, TELEGRAM  # noqa: E402
from bot.channels.simulator import SimulatedPhone  # noqa: E402
from bot.content.store import ContentStore  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.privacy.pseudonyms import Pseudonyms  # noqa: E402
from bot.privacy.routes import Routes  # noqa: E402
from bot.recognise import Recogniser  # noqa: E402
from bot.storage.ephemeral import MemoryEphemeral  # noqa: E402
from bot.storage.metrics import Metrics  # noqa: E402
from bot.rasa_client import AssistantReply, RasaClient, new_sender_id  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes import FakeAssistant, Stack, running_stack  # noqa: E402


POSTGRES_URL = os.environ.get("ASSISTANT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh SQLite file, then the PostgreSQL test database (skipped where it is not running, except in CI)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'assistant.db'}"
    import sqlalchemy

    try:
        sqlalchemy.create_engine(POSTGRES_URL, future=True).connect().close()
    except sqlalchemy.exc.OperationalError:
        if os.environ.get("CI"):
            raise
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    return POSTGRES_URL


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


# ---- the per-message path in-process, with a recording fake assistant (tests/test_pipeline.py, test_fuzz.py) ------
@pytest.fixture(scope="module")
def recogniser(model):
    from bot.languages import load_languages

    return Recogniser.load(load_languages(ROOT / "locales"), ROOT / "data" / "nlu", model)


@pytest.fixture
def make_pipeline(settings, store, recogniser, tmp_path):
    made = []

    def make(answer, redactor=None, handoff=None, **overrides):
        """``handoff``: a function of (the SMS phone, the ephemeral store) that builds the pipeline's Handoff."""
        assistant = FakeAssistant(answer)
        ephemeral = MemoryEphemeral()
        phones = {"sim-sms": SimulatedPhone(SMS), "sim-telegram": SimulatedPhone(TELEGRAM)}
        from bot.privacy.redact import Redactor

        pipeline = Pipeline(settings=replace(settings, **overrides), pseudonyms=Pseudonyms("k" * 32),
                            redactor=redactor or Redactor.load(settings.locales_dir), recogniser=recogniser,
                            rasa=assistant,
                            content=store, routes=Routes(ephemeral, 3600), ephemeral=ephemeral,
                            metrics=Metrics(f"sqlite:///{tmp_path / 'counts.db'}"), adapters=phones,
                            handoff=handoff(phones["sim-sms"], ephemeral) if handoff else None)
        made.append(pipeline)
        return pipeline, assistant, phones

    yield make
