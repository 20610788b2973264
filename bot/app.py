"""The gateway's web service: the app factory, its start-up and shutdown order, and its HTTP routes.

Routes: the Twilio SMS webhook, the Telegram webhook, /healthz (the process is up) and /readyz (Rasa, the store and
the database answer), and, in local runs, the simulator page. Errors map to fixed JSON bodies in one place
(``errors``): a forged delivery is 403 before anything is read; nothing in a response or a log echoes a message.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import urllib.parse
from typing import TYPE_CHECKING, AsyncIterator, Dict, Optional

from aiohttp import web

from bot.channels.base import DeskMessage, VerificationFailed
from bot.channels.simulator import SIM_SMS, SIM_TELEGRAM, SimulatedPhone
from bot.content.store import SMS, TELEGRAM, ContentStore
from bot.logs import where
from bot.pipeline import Pipeline
from bot.privacy.pseudonyms import Pseudonyms
from bot.privacy.routes import Routes
from bot.rasa_client import RasaClient
from bot.recognise import Recogniser
from bot.settings import ROOT, Settings
from bot.training import latest_model
from bot.storage.deliveries import DatabaseDeliveries, EphemeralDeliveries
from bot.storage.ephemeral import MemoryEphemeral, ephemeral_from_url
from bot.storage.metrics import Metrics

if TYPE_CHECKING:
    from bot.handoff.service import Handoff

logger = logging.getLogger(__name__)

PIPELINE = web.AppKey("pipeline", Pipeline)
#: deliveries are small (an SMS form, a Telegram update); anything bigger is refused before it is read
MAX_BODY = 64 * 1024
MAX_TEXT = 4096
MAX_FORM_FIELDS = 64
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
METRICS_FLUSH_SECONDS = 60
SWEEP_SECONDS = 60
HANDOFF_SWEEP_SECONDS = 30


class Refused(Exception):
    """A request refused with a 4xx status; the message is ours (fixed text), never the input."""

    status = 400

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(Refused):
    """A malformed request (not JSON, not UTF-8, a wrong field)."""


# ---- errors: one place --------------------------------------------------------------------------------------------
@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VerificationFailed:
        logger.warning("event=forbidden path=%s", request.path)
        return web.json_response({"error": "forbidden"}, status=403)
    except Refused as exc:
        logger.info("event=refused path=%s status=%d", request.path, exc.status)
        return web.json_response({"error": str(exc)}, status=exc.status)
    except web.HTTPRequestEntityTooLarge:  # a chunked body that grew past MAX_BODY while it was read
        logger.info("event=refused path=%s status=413", request.path)
        return web.json_response({"error": f"the body is over {MAX_BODY} bytes"}, status=413)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: class and place only, never the message
        logger.error("event=internal_error error=%s", where(exc))
        return web.json_response({"error": "internal"}, status=500)


# ---- the app ------------------------------------------------------------------------------------------------------
def create_app(settings: Settings, content: Optional[ContentStore] = None) -> web.Application:
    """Build the gateway. Start-up order: database, store, Rasa client, channels, pipeline; shutdown reverses it."""
    app = web.Application(middlewares=[errors], client_max_size=MAX_BODY)
    app["settings"] = settings
    app.cleanup_ctx.append(_lifecycle(settings, content))
    app.on_response_prepare.append(_neutral_server_header)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if settings.twilio_enabled:
        app.router.add_post("/twilio/sms", twilio_webhook)
    if settings.telegram_enabled and settings.telegram_webhook_url:
        app.router.add_post("/telegram/webhook", telegram_webhook)
    if settings.simulator:
        from bot.simulator.api import add_routes

        add_routes(app)
    return app


def _lifecycle(settings: Settings, content: Optional[ContentStore]):
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        from bot.privacy.redact import Redactor  # spaCy: loaded once, at start-up

        store = content or ContentStore.load(settings.locales_dir)
        metrics = Metrics(settings.database_url)
        await asyncio.to_thread(metrics.create_schema)
        ephemeral = ephemeral_from_url(settings.redis_url)
        # delivery keys outlive a restart: Redis when scaled, the database locally (memory would lose them)
        deliveries = EphemeralDeliveries(ephemeral) if settings.redis_url else DatabaseDeliveries(metrics.engine)
        rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
        await rasa.__aenter__()
        adapters: Dict[str, object] = {SIM_SMS: SimulatedPhone(SMS), SIM_TELEGRAM: SimulatedPhone(TELEGRAM)} \
            if settings.simulator else {}
        telegram = None
        if settings.twilio_enabled:
            from bot.channels.twilio_sms import TwilioSms

            adapters[SMS] = TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from,
                                      settings.twilio_webhook_url, settings.twilio_api_url)
        if settings.telegram_enabled:
            from bot.channels.telegram import TelegramChannel

            telegram = TelegramChannel(settings.telegram_bot_token, settings.telegram_api_url,
                                       desk_chat=settings.telegram_desk_chat or None)
            await telegram.start()
            adapters[TELEGRAM] = telegram
        handoff = _handoff(settings, store, metrics, ephemeral, adapters)
        pseudonyms = Pseudonyms(settings.pseudonym_key) if settings.pseudonym_key else Pseudonyms.with_random_key()
        pipeline = Pipeline(settings=settings, pseudonyms=pseudonyms, redactor=Redactor.load(settings.locales_dir),
                            recogniser=Recogniser.load(store.languages, ROOT / "data" / "nlu",
                                                       latest_model(settings)), rasa=rasa,
                            content=store, routes=Routes(ephemeral, settings.route_ttl), ephemeral=ephemeral,
                            metrics=metrics, adapters=adapters, deliveries=deliveries, handoff=handoff)
        app[PIPELINE] = pipeline
        app["handoff"], app["content"] = handoff, store
        app["metrics"], app["ephemeral"], app["rasa"] = metrics, ephemeral, rasa
        tasks = [asyncio.create_task(_flush_every(metrics, METRICS_FLUSH_SECONDS))]
        if handoff is not None:
            tasks.append(asyncio.create_task(_handoff_timers_every(pipeline, ephemeral, HANDOFF_SWEEP_SECONDS)))
        if isinstance(ephemeral, MemoryEphemeral):  # expired routes (addresses) leave memory within a minute
            tasks.append(asyncio.create_task(_sweep_every(ephemeral, SWEEP_SECONDS)))
        if telegram is not None:
            if settings.telegram_webhook_url:
                await telegram.set_webhook(settings.telegram_webhook_url, settings.telegram_webhook_secret)
            else:
                tasks.append(asyncio.create_task(telegram.poll(_handled(pipeline))))
        logger.info("event=gateway_started channels=%s", ",".join(sorted(adapters)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await pipeline.close()
            for adapter in adapters.values():
                await adapter.close()
            await rasa.__aexit__(None, None, None)
            await metrics.flush()
            await ephemeral.close()
            metrics.close()
            logger.info("event=gateway_stopped")

    return lifecycle


def _handoff(settings: Settings, store: ContentStore, metrics: Metrics, ephemeral, adapters) -> Optional["Handoff"]:
    """The handoff to advocates, with a desk for each place advocates can work from here: SMS where Twilio is
    configured, the Telegram supergroup where its chat is set, and the simulator's own (its page). Without one,
    None: a request for a person gets the helplines, as before."""
    from bot.handoff.advocates import Advocates
    from bot.handoff.cases import Cases
    from bot.handoff.live import LiveCases
    from bot.handoff.model import DeskKind
    from bot.handoff.service import KEEP_MARGIN, Handoff, SmsDesk
    from bot.handoff.telegram_desk import BotForum, TelegramDesk

    keep = max(settings.route_ttl, settings.handoff_close_seconds + KEEP_MARGIN)
    desks: Dict[DeskKind, object] = {}
    if SMS in adapters:
        desks[DeskKind.SMS] = SmsDesk(adapters[SMS])
    if TELEGRAM in adapters and settings.telegram_desk_chat:
        desks[DeskKind.TELEGRAM] = TelegramDesk(BotForum(adapters[TELEGRAM].bot, settings.telegram_desk_chat),
                                                ephemeral, keep, settings.handoff_topic_retention_seconds)
    if settings.simulator and not desks:  # the simulator page plays the advocates too (bot/simulator/advocates.py)
        from bot.simulator.advocates import simulated_desks

        desks = simulated_desks(ephemeral, keep, settings.handoff_topic_retention_seconds, adapters)
    if not desks:
        return None
    return Handoff(content=store, cases=Cases(metrics.engine),
                   advocates=Advocates(metrics.engine, store.languages.codes),
                   live=LiveCases(ephemeral, keep),
                   desks=desks, hours=settings.handoff_hours,
                   days=settings.handoff_days, answer_minutes=settings.handoff_answer_minutes,
                   wait_seconds=settings.handoff_wait_seconds, idle_seconds=settings.handoff_idle_seconds,
                   close_seconds=settings.handoff_close_seconds)


async def _dispatch(pipeline: Pipeline, message) -> None:
    """Her message to the pipeline's path; a message in the advocates' group to the handoff's desk."""
    if isinstance(message, DeskMessage):
        await pipeline.from_desk(message)
    else:
        await pipeline.handle(message)


def _handled(pipeline: Pipeline):
    async def handle(message) -> None:
        try:
            await _dispatch(pipeline, message)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop polling; class only
            logger.error("event=internal_error error=%s", exc.__class__.__name__)

    return handle


async def _handoff_timers_every(pipeline: Pipeline, ephemeral, seconds: float) -> None:
    """The handoff's timers every ``seconds``. With several gateway processes on one Redis, one process runs each
    round (a key set only if absent, expiring before the next round), so a reminder or a requeue happens once."""
    while True:
        await asyncio.sleep(seconds)
        try:
            if await ephemeral.add("handoff:timers-round", max(1, int(seconds) - 5)):
                await pipeline.handoff_timers()
        except Exception as exc:  # noqa: BLE001 - one failed round must not stop the timers; class and place only
            logger.warning("event=handoff_timers_failed error=%s", where(exc))


async def _sweep_every(ephemeral: MemoryEphemeral, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        ephemeral.sweep()


async def _flush_every(metrics: Metrics, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await metrics.flush()
        except Exception as exc:  # noqa: BLE001 - counts are not worth stopping the service for
            logger.warning("event=metrics_flush_failed error=%s", exc.__class__.__name__)


# ---- health -------------------------------------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Rasa's REST channel, the ephemeral store and the database all answer: a load balancer's check.
    Which part is down is told only with the status token (ASSISTANT_STATUS_TOKEN)."""
    checks = {
        "rasa": await request.app["rasa"].ready(),
        "store": await request.app["ephemeral"].ping(),
        "database": await asyncio.to_thread(request.app["metrics"].ping),
    }
    ready = all(checks.values())
    body: Dict[str, object] = {"status": "ready" if ready else "not ready"}
    token = request.app["settings"].status_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token}".encode()):
        body.update(checks)  # which part is down: for the operator, not for anyone who can reach the gateway
    return web.json_response(body, status=200 if ready else 503)


async def _neutral_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp would announce "Python/3.10 aiohttp/3.9.5" on every response."""
    response.headers["Server"] = "gateway"


# ---- reading a body: refused on its headers before a byte is read -------------------------------------------------
async def _body(request: web.Request, content_type: str) -> bytes:
    """The body, if it has the one content type this route takes (UTF-8) and fits MAX_BODY; refused otherwise,
    before it is read. A chunked body (no Content-Length) is read only up to MAX_BODY (``client_max_size``)."""
    if request.content_type != content_type:
        raise Refused(f"send {content_type}", 415)
    if (request.charset or "utf-8").lower() not in ("utf-8", "utf8"):
        raise Refused("send UTF-8", 415)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(f"the body is over {MAX_BODY} bytes", 413)
    return await request.read()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past what the parser can follow
        raise BadRequest("the body is not JSON") from None


def _form(body: bytes) -> Dict[str, str]:
    """URL-encoded form fields, strictly UTF-8 (Twilio's form); a field given twice keeps its last value."""
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict",
                                       max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # UnicodeDecodeError included
        raise BadRequest("the form is not UTF-8 form data") from None
    return dict(pairs)


# ---- channels -----------------------------------------------------------------------------------------------------
async def twilio_webhook(request: web.Request) -> web.Response:
    """Refused on its headers (type, length), then the signature over the form, then parsed: nothing of an unsigned
    request goes further than the form decoder."""
    pipeline = request.app[PIPELINE]
    adapter = pipeline.adapters[SMS]
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        raise VerificationFailed("twilio signature")
    params = _form(await _body(request, FORM))
    adapter.verify(params, signature)
    message = adapter.parse(params, signature)
    if message is not None:
        await pipeline.handle(message)
    # replies go through the REST API; the empty TwiML tells Twilio there is nothing more to send
    return web.Response(text="<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>", content_type="text/xml")


async def telegram_webhook(request: web.Request) -> web.Response:
    from bot.channels.telegram import SECRET_HEADER, verify_secret

    settings: Settings = request.app["settings"]
    verify_secret(settings.telegram_webhook_secret, request.headers.get(SECRET_HEADER))
    pipeline = request.app[PIPELINE]
    data = _json(await _body(request, JSON))
    message = pipeline.adapters[TELEGRAM].parse(data) if isinstance(data, dict) else None
    if message is not None:
        await _dispatch(pipeline, message)
    return web.json_response({"ok": True})
