"""The command line: ``python -m bot <command>``.

  run             train if needed, start Rasa, the action server and the gateway; the simulator page on localhost
  gateway         run the gateway alone (Rasa and the action server already running): what a deployment runs
  chat            start Rasa and the action server and chat in the terminal (no gateway)
  ask MSG...      what the assistant answers to each message as the first of a new conversation (JSON lines);
                  messages as arguments, or one per line on stdin
  train           train the model if config, domain, data or NLU components changed (--force: always)
  content check   check locales/ (exit 1 on errors; --production: also require what production serves)
  content stamp   record in each translation the hash of the English text it was translated from
  settings        print the settings in force
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Iterable, List

from bot.settings import ROOT, Settings, SettingsError

logger = logging.getLogger("bot")


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole service locally, with the simulator page")
    commands.add_parser("gateway", help="run the gateway (SMS, Telegram, simulator) in front of a running Rasa")
    commands.add_parser("chat", help="start Rasa and the action server and chat in the terminal")
    ask = commands.add_parser("ask", help="answer messages as first messages of fresh conversations")
    ask.add_argument("messages", nargs="*", help="messages (default: one per line on stdin)")
    ask.add_argument("--channel", choices=["sms", "telegram"], default="sms")
    ask.add_argument("--rasa-url", help="use an already running Rasa server instead of starting one")
    train = commands.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true")
    content = commands.add_parser("content", help="check or stamp locales/")
    content.add_argument("action", choices=["check", "stamp"])
    content.add_argument("--production", action="store_true", help="also require what production serves")
    commands.add_parser("settings", help="print the settings in force")
    commands.add_parser("migrate", help="apply the database migrations (the gateway also does at start)")
    advocates = commands.add_parser("advocates", help="register the advocates who take handoffs")
    acts = advocates.add_subparsers(dest="action", required=True)
    add = acts.add_parser("add", help="register an advocate")
    add.add_argument("--desk", choices=["telegram", "sms"], required=True, help="where she works")
    add.add_argument("--address", required=True, help="her numeric Telegram user id, or her phone number")
    add.add_argument("--display", required=True, help="the name or role women see ('Ana', 'advocate')")
    add.add_argument("--languages", required=True, help="language codes she speaks, comma-separated (es,pt)")
    acts.add_parser("list", help="the registered advocates (addresses masked)")
    change = acts.add_parser("set", help="change an advocate's name shown, languages or whether she is active")
    change.add_argument("id", type=int)
    change.add_argument("--display")
    change.add_argument("--languages")
    change.add_argument("--active", choices=["yes", "no"])
    remove = acts.add_parser("remove", help="deactivate an advocate and blank her contact details")
    remove.add_argument("id", type=int)
    cases = commands.add_parser("cases", help="anonymous figures on handoffs")
    cases.add_argument("action", choices=["report"])
    cases.add_argument("--since", help="first day to count, YYYY-MM-DD")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    from bot.logs import configure

    configure(settings.log_level)

    if args.command == "settings":
        print(settings)
    elif args.command == "advocates":
        sys.exit(_advocates(settings, args))
    elif args.command == "cases":
        sys.exit(_cases(settings, args.since))
    elif args.command == "migrate":
        from bot.storage.metrics import Metrics

        metrics = Metrics(settings.database_url)
        metrics.create_schema()
        metrics.close()
        print("the database is at the newest schema")
    elif args.command == "train":
        from bot.training import ensure_model

        print(ensure_model(settings, force=args.force))
    elif args.command == "content":
        sys.exit(_content(settings, args.action, args.production))
    elif args.command == "ask":
        messages = args.messages or [line.rstrip("\n") for line in sys.stdin]
        sys.exit(asyncio.run(_ask(settings, messages, args.channel, args.rasa_url)))
    elif args.command == "run":
        _run(settings)
    elif args.command == "gateway":
        from bot.serve import serve

        asyncio.run(serve(settings))
    elif args.command == "chat":
        _chat(settings)


def _database(settings: Settings):
    from bot.storage.metrics import Metrics

    metrics = Metrics(settings.database_url)
    metrics.create_schema()
    return metrics


def _advocates(settings: Settings, args) -> int:
    from bot.content.store import ContentStore
    from bot.handoff.advocates import AdvocateError, Advocates
    from bot.handoff.model import DeskKind

    metrics = _database(settings)
    registry = Advocates(metrics.engine, ContentStore.load(settings.locales_dir, strict=False).languages.codes)
    try:
        if args.action == "add":
            advocate = registry.add(DeskKind(args.desk), args.address, args.display, args.languages.split(","))
            print(f"registered advocate {advocate.id} ({advocate.desk.value}, {','.join(advocate.languages)})")
        elif args.action == "list":
            for a in registry.all(include_inactive=True):
                masked = "…" + a.address[-3:] if a.active else "(removed)"
                print(f"{a.id:>4}  {a.desk.value:<9} {masked:<10} {a.display:<20} {','.join(a.languages):<20}"
                      f"{'active' if a.active else 'inactive'}")
        elif args.action == "set":
            registry.set(args.id, args.display, args.languages.split(",") if args.languages else None,
                         None if args.active is None else args.active == "yes")
            print(f"advocate {args.id} changed")
        elif args.action == "remove":
            registry.remove(args.id)
            print(f"advocate {args.id} removed (her contact details are blanked; her case records keep the id)")
    except AdvocateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        metrics.close()
    return 0


def _cases(settings: Settings, since: str = None) -> int:
    import datetime as dt

    from bot.handoff.cases import Cases

    try:
        first = dt.date.fromisoformat(since) if since else None
    except ValueError:
        print("error: --since takes a day as YYYY-MM-DD", file=sys.stderr)
        return 2
    metrics = _database(settings)
    print(Cases(metrics.engine).report(first).render())
    metrics.close()
    return 0


def _content(settings: Settings, action: str, production: bool) -> int:
    from bot.content.check import check
    from bot.content.store import ContentStore

    store = ContentStore.load(settings.locales_dir, strict=False)
    if action == "stamp":
        from bot.content.stamp import stamp

        changed = stamp(store)
        print(f"stamped {changed} translation(s) with their English source's hash")
        return 0
    report = check(store, production=production)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    entries = len(store.entries)
    print(f"content check: {entries} entries in {len(store.languages.codes)} languages, "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1


async def _ask(settings: Settings, messages: Iterable[str], channel: str, rasa_url: str = None) -> int:
    from bot.rasa_client import RasaClient, RasaUnavailable, new_sender_id

    messages = list(messages)
    if rasa_url is None:
        from bot.services import Services
        from bot.training import ensure_model

        with Services.on_free_ports(settings, ensure_model(settings), ROOT / "var" / "log") as services:
            return await _ask(services.settings, messages, channel, services.settings.rasa_url)
    async with RasaClient(rasa_url, timeout=30) as client:
        for message in messages:
            try:
                replies = await client.send(new_sender_id("ask"), message, {"channel": channel})
            except RasaUnavailable as exc:
                print(json.dumps({"message": message, "error": str(exc)}, ensure_ascii=False), flush=True)
                return 1
            first = replies[0].meta if replies else {}
            print(json.dumps({
                "message": message,
                "language": first.get("language"),
                "topic": first.get("topic"),
                "confidence": first.get("confidence"),
                "reply": "\n\n".join(r.text for r in replies),
            }, ensure_ascii=False), flush=True)
    return 0


def _run(settings: Settings) -> None:
    import signal
    import time

    # a supervisor's SIGTERM stops the children too (Ctrl-C already does): without this they would outlive us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    from bot.services import Services
    from bot.training import ensure_model

    model = ensure_model(settings)
    with Services(settings, model, ROOT / "var" / "log", gateway=True) as services:
        s = services.settings
        channels = ["simulator"] + (["SMS (Twilio)"] if s.twilio_enabled else []) + \
            (["Telegram"] if s.telegram_enabled else [])
        print(f"Assistant running ({', '.join(channels)}). Open {services.gateway_url}/ to chat as an SMS user and "
              f"as a Telegram user.\nRasa {s.rasa_url} (REST channel only), actions {s.action_url}, "
              f"health {services.gateway_url}/readyz. Logs in var/log/. Ctrl-C stops.", file=sys.stderr)
        print(f"CONTENT: {_content_summary(s)}", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def _content_summary(settings: Settings) -> str:
    from bot.content.store import ContentStore

    return ContentStore.load(settings.locales_dir).review_summary(settings.serve_drafts)


def _chat(settings: Settings) -> None:
    from bot.chat import chat
    from bot.services import Services
    from bot.training import ensure_model

    model = ensure_model(settings)
    with Services(settings, model, ROOT / "var" / "log") as services:
        print(f"Assistant running: Rasa {services.settings.rasa_url} (REST channel only), "
              f"actions {services.settings.action_url}. Logs in var/log/. Ctrl-C stops.", file=sys.stderr)
        try:
            asyncio.run(chat(services.settings))
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
