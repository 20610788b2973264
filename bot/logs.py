"""Logging for every process of ours: event lines to stderr, and the libraries that print payloads kept quiet.

At DEBUG, python-telegram-bot logs the parameters of each Bot API call (chat ids, texts), httpx logs request URLs
(with the bot token in them), twilio's client logs request URLs and Rasa logs message texts. Those loggers stay at
WARNING whatever our own level is: the leak test runs the whole stack at DEBUG to prove it.
"""
from __future__ import annotations

import logging
import sys

PINNED_AT_WARNING = ("rasa", "rasa_sdk", "tensorflow", "absl", "matplotlib", "urllib3", "asyncio", "httpx",
                     "httpcore", "telegram", "twilio", "aiohttp.access", "aiohttp.server", "sqlalchemy", "spacy",
                     "apscheduler", "redis", "PIL")


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
                        force=True)
    for name in PINNED_AT_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
