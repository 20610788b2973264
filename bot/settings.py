"""One typed settings object, read from the environment (``ASSISTANT_*``), with local defaults.

Every process (the command line, the action server, the NLU components at training time) reads its configuration
here, so an operator has one list of knobs: ``python -m bot settings`` prints it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, Optional

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
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw).expanduser().resolve()
            else:
                values[f.name] = raw
        settings = cls(**values)
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            raise SettingsError(
                f"ASSISTANT_HOST={settings.host!r}: Rasa and the action server listen on localhost only; "
                "put a gateway in front of them instead."
            )
        return settings

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}/webhook"
