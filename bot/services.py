"""Start and stop the action server, the Rasa server and (optionally) the gateway as child processes.

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
import urllib.parse
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
    #: also run the gateway (``python -m bot gateway``): the whole service, as ``python -m bot run`` starts it
    gateway: bool = False
    #: tests only: Rasa's HTTP API on, behind this token (localhost), so a test can read what a tracker holds
    rasa_api_token: Optional[str] = None
    #: Rasa's own log level (deployments: WARNING; the leak test: DEBUG, to prove no level carries text)
    rasa_log_level: str = "WARNING"
    _children: Dict[str, subprocess.Popen] = field(default_factory=dict)
    _workdir: Optional[tempfile.TemporaryDirectory] = None

    @classmethod
    def on_free_ports(cls, settings: Settings, model: Path, log_dir: Path, **kwargs) -> "Services":
        ports = dict(rasa_port=free_port(), action_port=free_port(), gateway_port=free_port())
        return cls(replace(settings, **ports), model, log_dir, **kwargs)

    def __enter__(self) -> "Services":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _env(self) -> Dict[str, str]:
        env = {**os.environ, **QUIET_ENV, **self.settings.to_env(), **self.extra_env}
        env["LOG_LEVEL"] = self.rasa_log_level
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._workdir = tempfile.TemporaryDirectory(prefix="assistant-run-")
        endpoints = Path(self._workdir.name) / "endpoints.yml"
        endpoints.write_text(endpoints_yml(self.settings), encoding="utf-8")
        s = self.settings
        self._spawn("actions", [sys.executable, "-m", "actions"])
        self.start_rasa(endpoints)
        deadline = time.monotonic() + self.startup_timeout
        self._wait(f"http://{s.host}:{s.action_port}/health", "actions", deadline)
        self._wait(f"{s.rasa_url}/webhooks/rest/", "rasa", deadline)
        logger.info("rasa on %s, actions on %s", s.rasa_url, s.action_url)
        if self.gateway:
            self._spawn("gateway", [sys.executable, "-m", "bot", "gateway"])
            self._wait(f"{self.gateway_url}/healthz", "gateway", time.monotonic() + 60)
            logger.info("gateway on %s", self.gateway_url)

    def start_rasa(self, endpoints: Optional[Path] = None) -> None:
        """(Re)start Rasa alone: after ``kill("rasa")`` a test brings it back as an operator's supervisor would."""
        s = self.settings
        if endpoints is None:
            assert self._workdir is not None
            endpoints = Path(self._workdir.name) / "endpoints.yml"
        # bot.rasa_server: Rasa's own command line, with no message text in anything it logs (see that module)
        self._spawn("rasa", [sys.executable, "-m", "bot.rasa_server", "run", "--model", str(self.model),
                             "--endpoints", str(endpoints), "--credentials", str(ROOT / "credentials.yml"),
                             "--interface", s.host, "--port", str(s.rasa_port),
                             *(["--debug"] if self.rasa_log_level == "DEBUG" else ["--quiet"]),
                             *(["--enable-api", "--auth-token", self.rasa_api_token] if self.rasa_api_token else [])])

    def wait_for_rasa(self) -> None:
        self._wait(f"{self.settings.rasa_url}/webhooks/rest/", "rasa", time.monotonic() + self.startup_timeout)

    def kill(self, name: str) -> None:
        """SIGKILL one child (a crash, for the tests): no clean shutdown, nothing flushed."""
        child = self._children.pop(name)
        child.kill()
        child.wait()

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"

    def _spawn(self, name: str, argv: List[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self._children[name] = subprocess.Popen(argv, cwd=ROOT, env=self._env(), stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def _wait(self, url: str, name: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in self._children.values()):
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
        return {name: child.pid for name, child in self._children.items()}

    def stop(self) -> None:
        for name in ("gateway", "rasa", "actions"):  # the gateway first: it flushes its counts and closes clean
            child = self._children.get(name)
            if child is not None and child.poll() is None:
                child.terminate()
                if name == "gateway":
                    try:
                        child.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        child.kill()
        for child in self._children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        self._children.clear()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def endpoints_yml(settings: Settings) -> str:
    """Rasa's endpoints: the action server, and a tracker store that deletes a conversation on "forget me"
    (in memory; in Redis with the route's expiry when ASSISTANT_REDIS_URL is set). Locks follow the trackers."""
    lines = ["action_endpoint:", f'  url: "{settings.action_url}"']
    if settings.redis_url:
        url = urllib.parse.urlsplit(settings.redis_url)
        db = (url.path or "/0").lstrip("/") or "0"
        common = [f"  url: {url.hostname or '127.0.0.1'}", f"  port: {url.port or 6379}", f"  db: {db}"]
        if url.password:
            common.append(f'  password: "{url.password}"')
        lines += ["tracker_store:", "  type: bot.privacy.trackers.ForgettingRedisTrackerStore", *common,
                  f"  record_exp: {settings.route_ttl}", "  key_prefix: assistant",
                  "lock_store:", "  type: redis", *common, "  key_prefix: assistant"]
    else:
        lines += ["tracker_store:", "  type: bot.privacy.trackers.ForgettingInMemoryTrackerStore"]
    return "\n".join(lines) + "\n"


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
