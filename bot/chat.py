"""A terminal chat with the running assistant, as an SMS user (``/telegram`` switches to the Telegram forms).

Without a terminal (stdin closed or not a TTY and empty) it just keeps the services up until Ctrl-C.
"""
from __future__ import annotations

import asyncio
import sys

from bot.content.sms import cost
from bot.rasa_client import RasaClient, RasaUnavailable, new_sender_id
from bot.settings import Settings

HELP = "Type a message. /telegram or /sms switches channel, /new starts a new conversation, /quit ends."


async def chat(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    channel, sender = "sms", new_sender_id()
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if interactive:
        print(HELP)
    async with RasaClient(settings.rasa_url) as client:
        while True:
            line = await loop.run_in_executor(None, _read_line, interactive)
            if line is None:
                if not interactive:
                    print("No terminal: the assistant keeps running until Ctrl-C.", file=sys.stderr)
                    await asyncio.Event().wait()
                return
            line = line.strip()
            if line in ("/quit", "/exit"):
                return
            if line in ("/sms", "/telegram"):
                channel = line[1:]
                print(f"[now chatting as a {channel} user]")
                continue
            if line == "/new":
                sender = new_sender_id()
                print("[new conversation]")
                continue
            try:
                replies = await client.send(sender, line, {"channel": channel})
            except RasaUnavailable as exc:
                print(f"[assistant unavailable: {exc}]")
                continue
            for reply in replies:
                info = reply.meta
                extra = ""
                if channel == "sms":
                    c = cost(reply.text)
                    extra = f", {c.segments} SMS segment(s) {c.encoding}"
                print(f"\n{reply.text}\n  [{info.get('topic')} / {info.get('language')} / {info.get('status')}{extra}]")


def _read_line(interactive: bool):
    try:
        return input("\nyou> " if interactive else "")
    except EOFError:
        return None
