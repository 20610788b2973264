"""Run the gateway until SIGTERM or SIGINT, then shut down in order (``python -m bot gateway``)."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings

logger = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)  # request lines carry nothing we need; our events say enough
    await runner.setup()
    site = web.TCPSite(runner, settings.gateway_host, settings.gateway_port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise SystemExit(f"the gateway cannot listen on {settings.gateway_host}:{settings.gateway_port} "
                         f"({exc.strerror}): stop what uses that port or set ASSISTANT_GATEWAY_PORT") from None
    logger.info("event=listening host=%s port=%s", settings.gateway_host, settings.gateway_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
