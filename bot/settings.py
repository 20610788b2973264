"""One typed settings object, read from the environment (``ASSISTANT_*``), with local defaults.

Every process (the command line, the action server, the NLU components at training time) reads its configuration
here, so an operator has one list of knobs: ``python -m bot settings`` prints it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value the service cannot run with; the message says which and what to do."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false.")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number.") from None


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None


def _secret(default: str = "") -> str:
    """A field whose value is never printed (``python -m bot settings`` shows only whether it is set)."""
    return field(default=default, repr=False, metadata={"secret": True})


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    """Configuration of the assistant. Field ``x`` is read from ``ASSISTANT_X``."""

    #: where locales/ (the vetted content) lives
    locales_dir: Path = ROOT / "locales"
    #: where trained models are kept, one archive per training-data hash
    models_dir: Path = ROOT / "models"
    #: serve entries that are not vetted (drafts, unreviewed translations). Local default: yes. Production: no.
    serve_drafts: bool = True
    #: the Rasa server (REST channel) and the action server: always on localhost
    rasa_port: int = 5005
    action_port: int = 5055
    host: str = "127.0.0.1"
    #: log level of our own processes; Rasa's own loggers are kept at WARNING so they never print message text
    log_level: str = "INFO"

    # ---- the gateway (bot.app): the one process that faces the internet ---------------------------------------
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    #: HMAC-SHA256 key that turns addresses into pseudonyms. Required for SMS and Telegram's webhook mode; a local
    #: run without it gets a random key per start (conversations do not survive a restart, which is the point).
    pseudonym_key: str = _secret()
    #: scaled profile: routes, duplicate markers, rate counters and Rasa trackers in Redis (with expiry; run Redis
    #: with no persistence). Empty: all of them in this process's memory.
    redis_url: str = ""
    #: anonymous event counts (day, channel, language, topic): never an address or a text
    database_url: str = f"sqlite:///{ROOT / 'var' / 'assistant.db'}"
    #: how long the address needed to reply (and, on Telegram, the ids of messages to delete) is kept after her
    #: last message. Telegram lets a bot delete messages for 48 h; a shorter expiry deletes less on "forget me".
    route_ttl: int = 6 * 3600
    #: Rasa slower than this (seconds): she gets the short "service not working" reply with 999 and the helplines
    rasa_timeout: float = 4.0
    #: messages per pseudonym per minute before the gateway slows her down (an emergency always goes through)
    rate_limit: int = 12
    #: SMS: the first message of each reply starts with a neutral line, so a lock screen shows nothing alarming
    #: (never before the emergency answer: there "999" comes first)
    neutral_first_line: bool = True
    #: Telegram: after "forget me", the confirmation itself is deleted this many seconds after it is sent
    forget_confirmation_seconds: float = 30.0
    #: the local simulator page at / (local runs only: refused on a non-loopback gateway_host, and whenever SMS or
    #: Telegram is configured: behind a TLS proxy the gateway listens on 127.0.0.1 and the page would be public)
    simulator: bool = True
    #: keep the simulator on beside a real channel, for a local demo on a machine nobody else can reach
    simulator_force: bool = False
    #: /readyz says which part is down only to a request with ``Authorization: Bearer <this>``; to anyone else it
    #: answers with the status alone (a load balancer needs no more)
    status_token: str = _secret()

    # ---- SMS through Twilio ----------------------------------------------------------------------------------
    twilio_account_sid: str = ""
    twilio_auth_token: str = _secret()
    #: the sending number (E.164) or a Messaging Service SID (MG...)
    twilio_from: str = ""
    #: the exact public URL configured at Twilio for incoming messages: signatures are computed over it
    twilio_webhook_url: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    #: on "forget me", also delete her delivered messages' records at Twilio through its API
    twilio_delete_records: bool = False

    # ---- Telegram ---------------------------------------------------------------------------------------------
    telegram_bot_token: str = _secret()
    #: webhook mode (production): the public URL Telegram posts updates to, and the secret it must send with them.
    #: With a token but no webhook URL the gateway long-polls (local runs).
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = _secret()
    telegram_api_url: str = "https://api.telegram.org/bot"
    #: the advocates' supergroup (its chat id, negative: -100...), with topics on and the bot an admin allowed to
    #: manage topics and delete messages: the Telegram desk of the handoff. 0: no Telegram desk
    telegram_desk_chat: int = 0

    # ---- handoff to advocates (issue 9; on only when an operator has registered advocates) ----------------------
    #: when people answer (UK time): told to her in the consent message; outside them she is told when
    handoff_hours: str = "09:00-17:00"
    #: "mon-fri" or "every day"
    handoff_days: str = "mon-fri"
    #: "usually someone answers within N minutes" (in hours)
    handoff_answer_minutes: int = 30
    #: nobody took her case after this long: she gets the helplines and the promise that a person will still reply
    handoff_wait_seconds: int = 600
    #: a taken case with no word from its advocate for this long is flagged, then handed back to the queue
    handoff_idle_seconds: int = 900
    #: a case with no word from either side for this long is closed, with a message to her. While a case is open,
    #: her route (the address a reply needs) is kept this long too: long enough to span a weekend's closed hours
    handoff_close_seconds: int = 72 * 3600
    #: a closed case's Telegram topic (her messages and the answers) is deleted this long after the case closed
    handoff_topic_retention_seconds: int = 24 * 3600

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            key = f"ASSISTANT_{f.name.upper()}"
            if key not in env:
                continue
            raw = env[key]
            if f.type in ("bool", bool):
                values[f.name] = _bool(key, raw)
            elif f.type in ("int", int):
                values[f.name] = _int(key, raw)
            elif f.type in ("float", float):
                values[f.name] = _float(key, raw)
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw).expanduser().resolve()
            else:
                values[f.name] = raw
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse combinations that would break the privacy promise; each message says what to set."""
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", self.handoff_hours):
            raise SettingsError(f"ASSISTANT_HANDOFF_HOURS={self.handoff_hours!r}: write the hours people answer as "
                                "HH:MM-HH:MM in UK time, e.g. 09:00-17:00")
        if self.handoff_days not in ("mon-fri", "every day"):
            raise SettingsError(f"ASSISTANT_HANDOFF_DAYS={self.handoff_days!r}: use mon-fri or 'every day'")
        if self.telegram_desk_chat > 0:
            raise SettingsError(f"ASSISTANT_TELEGRAM_DESK_CHAT={self.telegram_desk_chat}: a supergroup's chat id is "
                                "negative (it starts with -100); add the bot to the group and read the id from an "
                                "update, or leave it at 0 for no Telegram desk")
        if self.handoff_topic_retention_seconds < 0:
            raise SettingsError("ASSISTANT_HANDOFF_TOPIC_RETENTION_SECONDS must be 0 (delete at close) or more")
        if self.host not in LOOPBACK:
            raise SettingsError(
                f"ASSISTANT_HOST={self.host!r}: Rasa and the action server listen on localhost only; "
                "put a gateway in front of them instead."
            )
        if (self.twilio_enabled or self.telegram_webhook_url) and len(self.pseudonym_key) < 32:
            raise SettingsError(
                "ASSISTANT_PSEUDONYM_KEY must be set (at least 32 characters, e.g. `openssl rand -hex 32`) for SMS "
                "and for Telegram's webhook mode: it keeps pseudonyms stable across restarts and instances. (A "
                "local run that long-polls Telegram with only a bot token gets a random key per start.)"
            )
        if self.twilio_account_sid and not (self.twilio_auth_token and self.twilio_from and self.twilio_webhook_url):
            raise SettingsError(
                "Twilio needs ASSISTANT_TWILIO_AUTH_TOKEN, ASSISTANT_TWILIO_FROM and ASSISTANT_TWILIO_WEBHOOK_URL "
                "(the exact URL set at Twilio: signatures are checked against it)."
            )
        if self.telegram_webhook_url and len(self.telegram_webhook_secret) < 16:
            raise SettingsError(
                "Telegram webhook mode needs ASSISTANT_TELEGRAM_WEBHOOK_SECRET (16-256 characters of A-Z a-z 0-9 _ -):"
                " without it anyone could post updates to the webhook."
            )
        if self.simulator and (self.twilio_enabled or self.telegram_enabled) and not self.simulator_force:
            raise SettingsError(
                "The simulator is on while SMS or Telegram is configured: its page and API have no authentication, "
                "and behind a proxy they would be public. Set ASSISTANT_SIMULATOR=false (production), or "
                "ASSISTANT_SIMULATOR_FORCE=true for a local demo on a machine nobody else can reach."
            )
        if self.simulator and self.gateway_host not in LOOPBACK:
            raise SettingsError(
                f"ASSISTANT_GATEWAY_HOST={self.gateway_host!r} with the simulator on: the simulator has no "
                "authentication and is for local runs. Set ASSISTANT_SIMULATOR=false."
            )

    def to_env(self) -> Dict[str, str]:
        """Every setting as ``ASSISTANT_*`` variables, secrets included: for child processes only, never printed."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            env[f"ASSISTANT_{f.name.upper()}"] = str(value)
        return env

    def __str__(self) -> str:
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret"):
                value = "(set)" if value else "(not set)"
            lines.append(f"ASSISTANT_{f.name.upper()}={value}")
        return "\n".join(lines)

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}/webhook"
