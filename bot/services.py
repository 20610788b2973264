"""Start and stop the Rasa server and the action server as child processes on localhost.

One launcher for `python -m bot run`, `python -m bot ask`, the tests and the benchmarks, so all of them exercise
the same processes a deployment runs. Rasa runs with its HTTP API off (no --enable-api: only the REST channel
webhook), at WARNING level (its DEBUG lines carry message text) and with telemetry off (no network here).
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import ROOT, Settings

logger = logging.getLogger(__name__)

#: environment every child gets: no telemetry, no TensorFlow chatter, nothing phoning home
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
    "LOG_LEVEL": "WARNING",
}


class ServiceError(RuntimeError):
    """A child process did not come up; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Services:
    """The action server and the Rasa server for one model. Use as a context manager."""

    settings: Settings
    model: Path
    log_dir: Path
    startup_timeout: float = 240.0
    extra_env: Dict[str, str] = field(default_factory=dict)
    _children: List[subprocess.Popen] = field(default_factory=list)
    _workdir: Optional[tempfile.TemporaryDirectory] = None

    @classmethod
    def on_free_ports(cls, settings: Settings, model: Path, log_dir: Path, **kwargs) -> "Services":
        return cls(replace(settings, rasa_port=free_port(), action_port=free_port()), model, log_dir, **kwargs)

    def __enter__(self) -> "Services":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _env(self) -> Dict[str, str]:
        env = {**os.environ, **QUIET_ENV, **self.extra_env}
        env["ASSISTANT_ACTION_PORT"] = str(self.settings.action_port)
        env["ASSISTANT_RASA_PORT"] = str(self.settings.rasa_port)
        env["ASSISTANT_SERVE_DRAFTS"] = "true" if self.settings.serve_drafts else "false"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._workdir = tempfile.TemporaryDirectory(prefix="assistant-run-")
        endpoints = Path(self._workdir.name) / "endpoints.yml"
        endpoints.write_text(f'action_endpoint:\n  url: "{self.settings.action_url}"\n', encoding="utf-8")
        s = self.settings
        self._spawn("actions", [sys.executable, "-m", "actions"])
        self._spawn("rasa", [sys.executable, "-m", "rasa", "run", "--model", str(self.model),
                             "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
                             "--interface", s.host, "--port", str(s.rasa_port), "--quiet"])
        deadline = time.monotonic() + self.startup_timeout
        self._wait(f"http://{s.host}:{s.action_port}/health", "actions", deadline)
        self._wait(f"{s.rasa_url}/webhooks/rest/", "rasa", deadline)
        logger.info("rasa on %s, actions on %s", s.rasa_url, s.action_url)

    def _spawn(self, name: str, argv: List[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self._children.append(subprocess.Popen(argv, cwd=ROOT, env=self._env(), stdout=log,
                                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()

    def _wait(self, url: str, name: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in self._children):
                self.stop()
                raise ServiceError(f"the {name} process exited during start-up: see {self.log_dir / (name + '.log')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise ServiceError(f"{name} did not answer {url} within {self.startup_timeout:.0f} s: "
                           f"see {self.log_dir / (name + '.log')}")

    @property
    def pids(self) -> Dict[str, int]:
        return {name: child.pid for name, child in zip(("actions", "rasa"), self._children)}

    def stop(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.terminate()
        for child in self._children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        self._children.clear()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def quiet_rasa_in_process() -> None:
    """Before using Rasa inside this process (benchmarks): keep its loggers, structlog included, at WARNING.

    Rasa 3.6 logs ``parse_data_text=<the message>`` through structlog at DEBUG, and structlog prints everything
    until it is configured, so an unconfigured in-process Agent would print users' messages.
    """
    os.environ.update(QUIET_ENV)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in ("rasa", "rasa_sdk", "tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.WARNING)
