"""Logging for every process of ours: event lines to stderr, and the libraries that print payloads kept quiet.

At DEBUG, python-telegram-bot logs the parameters of each Bot API call (chat ids, texts), httpx logs request URLs
(with the bot token in them), twilio's client logs request URLs and Rasa logs message texts. Those loggers stay at
WARNING whatever our own level is: the leak test runs the whole stack at DEBUG to prove it.

An exception logged by anyone (aiohttp's "Error handling request" for a malformed request line, a library's
traceback) becomes its class and place: an exception's message and a traceback's source lines can quote what was
received.
"""
from __future__ import annotations

import logging
import sys
import traceback

PINNED_AT_WARNING = ("rasa", "rasa_sdk", "tensorflow", "absl", "matplotlib", "urllib3", "asyncio", "httpx",
                     "httpcore", "telegram", "twilio", "aiohttp.access", "aiohttp.server", "sqlalchemy", "spacy",
                     "apscheduler", "redis", "PIL", "alembic")


def where(error: BaseException) -> str:
    """``ValueError at parser.py:12``: what failed and where, nothing of the values it failed on."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{error.__class__.__name__}{place}"


class WithholdExceptions(logging.Filter):
    """On a handler: a record's exception becomes its class and place (no message, no traceback, no stack)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()} [error: {where(record.exc_info[1])}]"
            record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
                        force=True)
    for handler in logging.getLogger().handlers:
        handler.addFilter(WithholdExceptions())
    for name in PINNED_AT_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
