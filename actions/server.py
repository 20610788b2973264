"""The action server: rasa_sdk's executor behind a small aiohttp app that listens on localhost only.

Why not rasa_sdk's own app: its error handler returns the request body (the user's message) in the response and
logs it; here an error answers a fixed body and logs the exception type only.
"""
from __future__ import annotations

import json
import logging
from typing import Optional

from aiohttp import web
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from actions.answer import ActionAnswer
from bot.content.store import ContentStore
from bot.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings, store: Optional[ContentStore] = None) -> web.Application:
    """Load content (fails at start-up, naming the files, if locales/ is broken) and register the action."""
    store = store or ContentStore.load(settings.locales_dir)
    if not settings.serve_drafts:
        from bot.content.check import check

        report = check(store, production=True)
        if not report.ok:
            raise SystemExit("ASSISTANT_SERVE_DRAFTS=false but locales/ is not ready for production:\n  "
                             + "\n  ".join(report.errors[:20]) + "\nRun `python -m bot content check --production`.")
    executor = ActionExecutor()
    executor.register_action(ActionAnswer(store, settings))

    async def webhook(request: web.Request) -> web.Response:
        try:
            action_call = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        try:
            result = await executor.run(action_call)
        except ActionNotFoundException:
            logger.error("action not found")
            return web.json_response({"error": "unknown action"}, status=404)
        except ActionExecutionRejection:
            return web.json_response({"error": "action rejected"}, status=400)
        except Exception as exc:  # noqa: BLE001 - one place turns failures into a fixed answer
            logger.error("action failed: %s", exc.__class__.__name__)
            return web.json_response({"error": "action failed"}, status=500)
        return web.json_response(result)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/health", health)
    return app


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("rasa_sdk").setLevel(logging.WARNING)  # its DEBUG lines carry tracker events (user text)
    web.run_app(create_app(settings), host=settings.host, port=settings.action_port, access_log=None,
                print=lambda *_: logger.info("action server listening on %s:%s", settings.host, settings.action_port))


if __name__ == "__main__":
    main()
