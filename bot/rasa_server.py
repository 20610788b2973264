"""Rasa's server with nothing of a message in its logs: `python -m bot.rasa_server run <rasa run's arguments>`.

Rasa writes message text where no log level hides it: when the gateway gives up on a slow request, Sanic cancels
the handler and Rasa logs ``rest.message.received.timeout`` at ERROR with the text; a message that reaches it as a
slash command is quoted in a warning ("Parsed an intent '<text>' which is not defined in the domain"). Level pinning
and ``--quiet`` stop neither. This launcher, before handing over to Rasa's own command line:

- registers an anonymisation pipeline through Rasa's plugin hook (``get_anonymization_pipeline``), so Rasa's own
  structlog processor replaces every text-carrying field (its list: text, message, user_text, parse_data_text,
  tracker_latest_message, ...) with a placeholder, in every event at every level;
- puts first in Rasa's structlog chain a processor that turns an exception into its class and place: Rasa renders
  tracebacks with each frame's local variables, and the REST handler's locals hold the text;
- does the same for exceptions logged through the standard logging module, and shows Python warnings by category
  and place only, never their message.
The price: an operator sees where Rasa failed, not the values it failed on.
"""
from __future__ import annotations

import logging
import sys
import warnings
from typing import Any, Dict, Optional, TextIO, Type

import pluggy

from bot.logs import WithholdExceptions, where

WITHHELD = "[withheld]"
_hookimpl = pluggy.HookimplMarker("rasa")


class _Withhold:
    """The anonymisation "pipeline" Rasa calls for each text-carrying field of a log event (``log_run``) and for each
    new event of a conversation (``run``, meant for an event broker: there is none, so nothing to do)."""

    def log_run(self, value: Any) -> str:
        return WITHHELD

    def run(self, *args: Any, **kwargs: Any) -> None:
        return None


def _withhold_exception(logger: Any, name: str, event_dict: Dict[str, Any]) -> Dict[str, Any]:
    """First in Rasa's structlog chain: an exception becomes its class and place (no locals, no message)."""
    exc_info = event_dict.pop("exc_info", None)
    event_dict.pop("stack_info", None)
    if exc_info:
        error = exc_info if isinstance(exc_info, BaseException) else (
            exc_info[1] if isinstance(exc_info, tuple) else sys.exc_info()[1])
        if error is not None:
            event_dict["error"] = where(error)
    return event_dict


class _NoTextInLogs:
    """The plugin: Rasa asks it for the anonymisation pipeline."""

    @_hookimpl
    def get_anonymization_pipeline(self) -> _Withhold:
        return _Withhold()


def _show_warning(message: Any, category: Type[Warning], filename: str, lineno: int,
                  file: Optional[TextIO] = None, line: Optional[str] = None) -> None:
    """A warning's category and where it was raised; its message may quote a user's text, so it is never shown."""
    stream = file or sys.stderr
    try:
        stream.write(f"{category.__name__} at {filename.rsplit('/', 1)[-1]}:{lineno} (message withheld)\n")
    except (OSError, ValueError):
        pass


def install() -> None:
    """Make this process's Rasa log no message text (also used by tests and in-process benchmarks)."""
    from rasa.plugin import plugin_manager

    manager = plugin_manager()
    if not any(isinstance(plugin, _NoTextInLogs) for plugin in manager.get_plugins()):
        manager.register(_NoTextInLogs())
    warnings.showwarning = _show_warning
    _first_in_structlog_chain(_withhold_exception)
    withhold = WithholdExceptions()
    _add_filter_to_handlers = logging.Handler.__init__

    def handler_init(self: logging.Handler, *args: Any, **kwargs: Any) -> None:
        _add_filter_to_handlers(self, *args, **kwargs)
        self.addFilter(withhold)

    logging.Handler.__init__ = handler_init  # every handler Rasa or a library creates from now on
    for handler in logging.getLogger().handlers:
        handler.addFilter(withhold)


def _first_in_structlog_chain(processor: Any) -> None:
    """Rasa calls ``structlog.configure`` itself at start-up: put ``processor`` first in whatever chain it sets."""
    import structlog

    configure = structlog.configure
    if getattr(configure, "_withholds", False):
        return

    def configure_with(*args: Any, processors: Any = None, **kwargs: Any) -> None:
        chain = [processor, *processors] if processors is not None else None
        configure(*args, processors=chain, **kwargs)

    configure_with._withholds = True  # type: ignore[attr-defined]
    structlog.configure = configure_with


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
