"""One message's way through the gateway, top to bottom (DESIGN.md, "A message's way through").

    verified and parsed by its channel adapter (before this module sees it)
    -> pseudonymise the address          (privacy.pseudonyms; the address stays in the route, in memory)
    -> drop a duplicate delivery          (storage.deliveries: keys the adapter derived, kept a day)
    -> count it against the rate limit    (before anything costly; "forget me" counts too)
    -> "forget me"?                       (wipe: Rasa's tracker, the route, the channel's copies; always done, and
                                           confirmed while under the limit)
    -> over the limit and not in danger?  (one notice with 999, then silence: recognise.mentions_danger)
    -> redact identifying details         (privacy.redact)
    -> a forget Rasa has not confirmed?   (completed first: Rasa gets nothing new until her old messages are gone)
    -> Rasa, or the gateway's own short reply when Rasa is down or slow
    -> strip the metadata, split or format for the channel, send, count anonymously

Handoff to an advocate (bot/handoff): a registered advocate's SMS is an action on a case, never a conversation of
its own; while a person is offered or connected, her message goes to the advocates instead of Rasa (danger still
gets the assistant's emergency answer, and is flagged to them); "talk to a person" with advocates registered gets
the consent message instead of the helplines.
Logs carry event names, pseudonyms, channels, topics and languages: never an address, a message text or a reply.
"""
from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import AsyncIterator, Awaitable, Callable, Dict, List, Mapping, Optional

from bot.channels.base import FORGET, SMS, START, TELEGRAM, Adapter, ChannelError, DeskMessage, InboundMessage
from bot.content.store import ContentStore
from bot.handoff.commands import parse_sms
from bot.handoff.model import DeskKind
from bot.handoff.service import Handoff, ToHer
from bot.logs import where
from bot.privacy.pseudonyms import Pseudonyms
from bot.privacy.redact import RedactionError, Redactor
from bot.privacy.routes import Route, Routes
from bot.rasa_client import AssistantReply, RasaClient, RasaUnavailable
from bot.recognise import Recogniser
from bot.settings import Settings
from bot.storage.deliveries import Deliveries, EphemeralDeliveries
from bot.storage.ephemeral import Ephemeral
from bot.storage.metrics import Metrics

logger = logging.getLogger(__name__)

#: slashes and spaces at the start of her text: Rasa reads "/name" as an intent, whatever comes before
_LEADING_COMMAND = re.compile(r"^[\s/\u00a0\u2000-\u200f\u2028\u2029\ufeff]+")
RATE_WINDOW = 60
#: the longest text the path takes (Telegram's own limit; an SMS is at most 1,600): the rest is not read
MAX_TEXT = 4096
#: a "forget me" Rasa did not confirm is retried this often (seconds, doubling to the last), for as long as
#: FORGET_PENDING_TTL, and before anything else of hers reaches Rasa
FORGET_RETRY_DELAYS = (1.0, 2.0, 5.0, 15.0, 60.0)
FORGET_PENDING_TTL = 7 * 24 * 3600
#: commands that ask Rasa for an intent directly (Rasa reads "/intent" without running the NLU pipeline)
COMMAND_INTENTS = {START: "/greet", FORGET: "/forget_me", "menu": "/menu", "change_language": "/change_language"}
#: after "forget me" on SMS, records of messages still in flight are deleted at Twilio this much later
LATE_DELETE_DELAY = 120.0
#: the gateway's own replies that carry 999 for someone who may be in danger: sent with nothing before the 999
URGENT_UI_KEYS = frozenset({"degraded", "rate_limited"})
#: topics outside the menu that say what she came about (for a handoff's summary)
SUMMARY_TOPICS = frozenset({"emergency", "domestic_abuse", "status_worry"})
#: at shutdown, deletions still waiting get this long to run
SHUTDOWN_DELETE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Outcome:
    """What the pipeline did with one delivery (an event name; no content)."""

    event: str
    pseudonym: str


class Pipeline:
    """Holds the parts the path needs; ``handle`` runs one message through them."""

    def __init__(self, *, settings: Settings, pseudonyms: Pseudonyms, redactor: Redactor, recogniser: Recogniser,
                 rasa: RasaClient, content: ContentStore, routes: Routes, ephemeral: Ephemeral, metrics: Metrics,
                 adapters: Mapping[str, Adapter], deliveries: Optional[Deliveries] = None,
                 handoff: Optional[Handoff] = None) -> None:
        self._settings = settings
        self._pseudonyms = pseudonyms
        self._redactor = redactor
        self._recognise = recogniser
        self._rasa = rasa
        self._content = content
        self._routes = routes
        self._ephemeral = ephemeral
        self._metrics = metrics
        self._deliveries: Deliveries = deliveries or EphemeralDeliveries(ephemeral)
        self._handoff = handoff
        #: the topics that go into a handoff's summary: the menu's, and what a disclosure is answered with
        self._summary_topics = frozenset(content.menu.values()) | SUMMARY_TOPICS
        self.adapters: Dict[str, Adapter] = dict(adapters)
        self._locks: Dict[str, list] = {}  # pseudonym -> [lock, users]
        self._background: set = set()
        self._pending: set = set()  # deletions waiting for their time (run at once on shutdown)
        self._unconfirmed: Dict[str, Adapter] = {}  # pseudonyms whose "forget me" Rasa has not confirmed yet

    @property
    def content_summary(self) -> str:
        """What the answers served are (vetted, drafts, unreviewed translations), in one sentence."""
        return self._content.review_summary(self._settings.serve_drafts)

    # ---- the path ----------------------------------------------------------------------------------------------
    async def handle(self, message: InboundMessage) -> Outcome:
        adapter = self.adapters[message.channel]
        pseudonym = self._pseudonyms.of(message.channel, message.address)
        keys = message.delivery_keys or (self._pseudonyms.of_message(message.channel, message.message_id),)
        if not await self._deliveries.first(keys):
            return self._done("duplicate", pseudonym, adapter)
        if self._handoff is not None and adapter.form == SMS and \
                await self._handoff.advocate_at(DeskKind.SMS, message.address) is not None:
            return await self._from_advocate(DeskKind.SMS, message, adapter)

        async with self._conversation(pseudonym):
            route = await self._routes.get(pseudonym)
            if route is None:
                route = Route(adapter.name, message.address, language=_hinted(message.language_hint, self._content))
            route = route.with_ids(message.provider_message_ids)
            await self._routes.put(pseudonym, route)
            raw = message.text[:MAX_TEXT]
            within = await self._within_rate(pseudonym)

            if message.command == FORGET or (message.command is None and self._recognise.is_forget(raw)):
                return await self._forget(pseudonym, route, adapter, message, confirm=within)
            if not within and not self._recognise.mentions_danger(raw):
                return await self._rate_limited(pseudonym, route, adapter)

            after: List[AssistantReply] = []
            if self._handoff is not None:
                # her Telegram message is copied into the case's topic by the desk (chat and id: to the Bot API only);
                # /menu, /start or /language during a handoff mean she wants the assistant back: her leave word
                source = (message.address, message.provider_message_ids[0]) \
                    if adapter.name == TELEGRAM and message.provider_message_ids and message.command is None else None
                words = raw if message.command is None else "menu"
                to_her = await self._handoff.from_her(pseudonym, adapter.name, words,
                                                      self._recognise.mentions_danger(raw), source=source)
                if to_her is not None and to_her.after_assistant:
                    after = self._handoff_replies(to_her, route, adapter)
                elif to_her is not None:  # a person is offered or connected: the assistant stays silent
                    replies = self._handoff_replies(to_her, route, adapter)
                    route = await self._send(adapter, pseudonym, route, replies)
                    await self._routes.put(pseudonym, route)
                    return self._done(to_her.event, pseudonym, adapter, replies)
            text = COMMAND_INTENTS.get(message.command or "") or self._redact(raw, adapter)
            if not await self._forget_completed(pseudonym, adapter):
                replies, event = [self._ui_reply("degraded", route.language or self._content.languages.default)], \
                    "degraded"
            else:
                replies, event = await self._ask(pseudonym, text, message, route, adapter)
                offered = await self._offer_a_person(pseudonym, route, replies)
                replies = offered if offered is not replies else replies + after
            if any(reply.meta.get("topic") == "forget_me" for reply in replies):
                # Rasa recognised "forget me" in her own words: wipe first, then its confirmation (from locales/)
                await self._wipe(pseudonym, route, adapter, replies)
                return self._done("forgotten", pseudonym, adapter)
            route = await self._send(adapter, pseudonym, route, replies)
            await self._routes.put(pseudonym, route)
            return self._done(event, pseudonym, adapter, replies)

    # ---- handoff to an advocate (bot/handoff) -------------------------------------------------------------------
    async def _offer_a_person(self, pseudonym: str, route: Route,
                              replies: List[AssistantReply]) -> List[AssistantReply]:
        """She asked for a person and advocates are registered: the consent message instead of the helplines."""
        asked = next((r for r in replies if r.meta.get("topic") == "talk_to_person"), None)
        if asked is None or self._handoff is None or not await self._handoff.available():
            return replies
        language = asked.meta.get("language") or self._content.languages.default
        offer = await self._handoff.offer(pseudonym, language, [t for t in route.topics if t != "talk_to_person"])
        return [AssistantReply(text, {"topic": f"_{offer.event}", "language": language}) for text in offer.texts]

    def _handoff_replies(self, to_her: ToHer, route: Route, adapter: Adapter) -> List[AssistantReply]:
        language = route.language or self._content.languages.default
        if to_her.event == "handoff_declined":  # "2": the helplines, as the assistant gives them
            rendered = self._content.render("helplines", language, adapter.form, self._settings.serve_drafts)
            return [AssistantReply(r.text, r.as_payload()) for r in rendered]
        return [AssistantReply(text, {"topic": f"_{to_her.event}", "language": language, "urgent": to_her.urgent})
                for text in to_her.texts]

    async def _from_advocate(self, kind: DeskKind, message: InboundMessage, adapter: Adapter) -> Outcome:
        """An advocate's message: an action on a case; what it has her sent goes through her own route."""
        assert self._handoff is not None
        to_her = await self._handoff.from_advocate(kind, message.address, parse_sms(message.text[:MAX_TEXT]))
        if to_her is not None:
            await self._deliver(to_her)
        return self._done("advocate_message", "advocate", adapter)

    async def from_desk(self, message: DeskMessage) -> Outcome:
        """A message or button press in the advocates' Telegram group: an action on a case, if it is one, by a
        registered advocate (the handoff checks); what it has her sent goes through her own route."""
        keys = message.delivery_keys or (self._pseudonyms.of_message(message.channel, message.message_id),)
        if not await self._deliveries.first(keys):
            return self._done("duplicate", "advocate", self.adapters[message.channel])
        desk = self._handoff.desk(DeskKind.TELEGRAM) if self._handoff is not None else None
        if desk is None:
            return self._done("desk_ignored", "advocate", self.adapters[message.channel])
        action = await desk.action(message)
        if action is not None:
            to_her = await self._handoff.from_advocate(DeskKind.TELEGRAM, message.sender, action)
            if to_her is not None:
                await self._deliver(to_her)
        await desk.answer(message)
        return self._done("advocate_message" if action is not None else "desk_ignored", "advocate",
                          self.adapters[message.channel])

    async def handoff_timers(self) -> None:
        """One round of the handoff's timers: an open case keeps her route (an advocate may answer after a closed
        weekend); what the timers have her sent goes through it."""
        if self._handoff is not None:
            for case in await self._handoff.open_cases():
                await self._routes.renew(case.pseudonym, self._handoff.keep_seconds)
            for to_her in await self._handoff.sweep():
                await self._deliver(to_her)

    async def _deliver(self, to_her: ToHer) -> None:
        if to_her.case is not None and not await self._handoff.in_case(to_her.pseudonym, to_her.case):
            logger.info("event=handoff_stale_dropped case=%s", to_her.case)  # she left, was forgotten, or it closed
            return
        async with self._conversation(to_her.pseudonym):
            route = await self._routes.get(to_her.pseudonym)
            if route is None:  # her route expired or she was forgotten: nothing can reach her
                logger.warning("event=handoff_undeliverable pseudonym=%s", to_her.pseudonym)
                return
            adapter = self.adapters[route.channel]
            replies = self._handoff_replies(to_her, route, adapter)
            failures: List[tuple] = []
            route = await self._send(adapter, to_her.pseudonym, route, replies, failures)
            await self._routes.put(to_her.pseudonym, route)
        if failures:  # the first failure says why; what follows it is sent again with it (flood control)
            await self._undelivered(to_her, *failures[0])

    async def _undelivered(self, to_her: ToHer, error: ChannelError, index: int) -> None:
        """A handoff message that did not reach her. Flood control: sent again after the wait the provider gave
        (never dropped), and the advocates are told of the delay. Blocked or opted out: the advocates are told.
        Anything else: logged (the send already retried)."""
        assert self._handoff is not None
        if error.retry_after is not None:
            rest = replace(to_her, texts=to_her.texts[index:]) if to_her.texts else to_her
            await self._handoff.undelivered(to_her.pseudonym, f"delayed by flood control; it is sent again in "
                                                              f"{error.retry_after:.0f} s")
            self._later(error.retry_after, lambda: self._deliver(rest))
        elif error.reason is not None:
            await self._handoff.undelivered(to_her.pseudonym, error.reason)

    def _redact(self, text: str, adapter: Adapter) -> str:
        try:
            redacted = self._redactor.redact(text)
        except RedactionError as exc:
            # fail closed: Rasa gets nothing of her text, and she gets "I'm not sure" with the menu
            logger.error("event=redaction_failed channel=%s error=%s", adapter.name, exc.__class__.__name__)
            self._metrics.count("redaction_failed", adapter.name)
            return "?"
        for kind in redacted.kinds:
            self._metrics.count(f"redacted_{kind}", adapter.name)
        # a leading "/" (after any spaces: " /x") would let her text name a Rasa intent directly, and Rasa would
        # quote it in a warning; commands come from the adapter only
        return _LEADING_COMMAND.sub("", redacted.text).strip() or "?"

    async def _within_rate(self, pseudonym: str) -> bool:
        """Counted before anything costly is done with the message. Over the limit, a message the emergency
        detector or a danger phrase flags still goes through ("he is coming back" after a dozen messages gets 999,
        not "please wait"), and "forget me" is still done (only its confirmation waits)."""
        return await self._ephemeral.incr(f"rate:{pseudonym}", RATE_WINDOW) <= self._settings.rate_limit

    async def _rate_limited(self, pseudonym: str, route: Route, adapter: Adapter) -> Outcome:
        """One notice per window (it carries 999); after it, silence until the window ends."""
        if await self._ephemeral.add(f"rate-noticed:{pseudonym}", RATE_WINDOW):
            language = route.language or self._content.languages.default
            route = await self._send(adapter, pseudonym, route, [self._ui_reply("rate_limited", language)])
            await self._routes.put(pseudonym, route)  # the notice too is deleted on "forget me" (Telegram)
            return self._done("rate_limited", pseudonym, adapter)
        return self._done("rate_dropped", pseudonym, adapter)

    async def _ask(self, pseudonym: str, text: str, message: InboundMessage, route: Route,
                   adapter: Adapter) -> "tuple[List[AssistantReply], str]":
        metadata = self._metadata(adapter, message.language_hint)
        if message.command == START:
            metadata["command"] = START  # the greeting that offers the languages
        hint = metadata.get("language_hint")
        try:
            replies = await self._rasa.send(pseudonym, text, metadata)
        except RasaUnavailable as exc:
            logger.warning("event=rasa_unavailable pseudonym=%s channel=%s reason=%s", pseudonym, adapter.name,
                           exc.reason)
            language = route.language or hint or self._content.languages.default
            return [self._ui_reply("degraded", language)], "degraded"
        return [r for r in replies if r.text.strip()], "answered"

    async def _send(self, adapter: Adapter, pseudonym: str, route: Route, replies: List[AssistantReply],
                    failures: Optional[List[tuple]] = None) -> Route:
        """Send each reply (metadata stripped: only the text leaves), remembering the ids of what was sent.
        A reply that could not be sent is logged (class only), and added to ``failures`` with its index.

        On SMS each reply opens with the neutral line (a lock screen shows the first 40 characters of the latest
        message: the menu after a greeting is a message of its own), on its first part only when a long reply is
        split; unless the turn carries the emergency answer: then "999" comes first, and nothing goes before it.
        """
        urgent = any(reply.meta.get("urgent") for reply in replies)
        for index, reply in enumerate(replies):
            language = reply.meta.get("language")
            if language in self._content.languages.codes:
                route = replace(route, language=language)
            if reply.meta.get("topic") in self._summary_topics:
                route = route.with_topic(reply.meta["topic"])
            neutral = ""
            if not urgent and adapter.form == SMS and self._settings.neutral_first_line:
                neutral = self._ui(route.language or self._content.languages.default).get("neutral_line")
            for body in adapter.bodies(reply.text, neutral):
                try:
                    sent = await adapter.send(route.address, body)
                except ChannelError as exc:
                    logger.error("event=send_failed pseudonym=%s channel=%s error=%s", pseudonym, adapter.name, exc)
                    self._metrics.count("send_failed", adapter.name)
                    if failures is not None:
                        failures.append((exc, index))
                    break
                route = route.with_ids(sent.provider_message_ids)
        return route

    # ---- forget me ---------------------------------------------------------------------------------------------
    async def _forget(self, pseudonym: str, route: Route, adapter: Adapter, message: InboundMessage,
                      confirm: bool = True) -> Outcome:
        """Her command: Rasa wipes its tracker on the way (its store deletes a restarted conversation), then the
        channel's copies go, then the route; the confirmation comes from locales/ in her language.

        When Rasa does not confirm (down, or slower than the timeout), the wipe goes on and she is told, and the
        forget is retried until Rasa confirms it (``_forget_completed``). Over the rate limit everything is still
        wiped; only the confirmation is not sent again."""
        replies = await self._forget_in_rasa(pseudonym, adapter, message.language_hint)
        if replies is None:
            language = route.language or self._content.languages.default
            rendered = self._content.render("forget_me", language, adapter.form, self._settings.serve_drafts)
            replies = [AssistantReply(r.text, r.as_payload()) for r in rendered]
            await self._ephemeral.put(f"forget-pending:{pseudonym}", "1", FORGET_PENDING_TTL)
            self._retry_forget(pseudonym, adapter)
        await self._wipe(pseudonym, route, adapter, replies if confirm else [])
        return self._done("forgotten" if confirm else "forgotten_over_limit", pseudonym, adapter)

    async def _forget_in_rasa(self, pseudonym: str, adapter: Adapter,
                              language_hint: Optional[str] = None) -> Optional[List[AssistantReply]]:
        """Ask Rasa to forget; its confirmation when it did (the ``forget_me`` answer), None when it did not."""
        try:
            replies = await self._rasa.send(pseudonym, COMMAND_INTENTS[FORGET],
                                            self._metadata(adapter, language_hint))
        except RasaUnavailable as exc:
            logger.warning("event=forget_unconfirmed pseudonym=%s channel=%s reason=%s", pseudonym, adapter.name,
                           exc.reason)
            return None
        confirmed = [r for r in replies if r.text.strip()]
        return confirmed if any(r.meta.get("topic") == "forget_me" for r in confirmed) else None

    async def _forget_completed(self, pseudonym: str, adapter: Adapter) -> bool:
        """True unless a "forget me" of hers is still unconfirmed by Rasa and cannot be completed now."""
        if await self._ephemeral.get(f"forget-pending:{pseudonym}") is None:
            return True
        if await self._forget_in_rasa(pseudonym, adapter) is None:
            return False
        await self._ephemeral.delete(f"forget-pending:{pseudonym}")
        self._metrics.count("forget_completed_late", adapter.name)
        logger.info("event=forget_completed_late pseudonym=%s channel=%s", pseudonym, adapter.name)
        return True

    def _retry_forget(self, pseudonym: str, adapter: Adapter) -> None:
        """Retry in the background, between her turns, until Rasa confirms or the marker expires (then
        ``_forget_completed`` is true: nothing is pending)."""
        if pseudonym in self._unconfirmed:
            return
        self._unconfirmed[pseudonym] = adapter

        async def retry() -> None:
            delays = iter(FORGET_RETRY_DELAYS)
            delay = next(delays)
            try:
                while True:
                    await asyncio.sleep(delay)
                    async with self._conversation(pseudonym):
                        if await self._forget_completed(pseudonym, adapter):
                            return
                    delay = next(delays, delay)
            finally:
                self._unconfirmed.pop(pseudonym, None)

        self._in_background(retry())

    async def _wipe(self, pseudonym: str, route: Route, adapter: Adapter,
                    confirmation: List[AssistantReply]) -> None:
        """Delete the channel's copies, confirm, then forget the route and counters.

        Telegram: her chat's messages go first, then the confirmation is sent, and it too is deleted after
        ``forget_confirmation_seconds``: a chat left holding "this conversation has been deleted" would tell
        whoever picks up her phone that there was something to delete. SMS: the service cannot touch her phone;
        the confirmation tells her to delete the thread, and (a setting) the records at Twilio are deleted.
        """
        ids = list(route.message_ids)
        if adapter.form != SMS:
            await adapter.forget(route.address, ids)
            ids = []
        sent_route = await self._send(adapter, pseudonym, Route(route.channel, route.address, route.language),
                                      confirmation)
        late = sent_route.message_ids
        if self._handoff is not None:
            try:
                await self._handoff.on_forget(pseudonym)
            except Exception as exc:  # noqa: BLE001 - her route goes whatever the handoff's stores did
                logger.error("event=handoff_forget_failed pseudonym=%s error=%s", pseudonym, where(exc))
        await self._routes.delete(pseudonym)  # the rate counter stays (a minute at most): forget is no way around it
        if adapter.form != SMS and late:
            self._later(self._settings.forget_confirmation_seconds, lambda: adapter.forget(route.address, late))
        if adapter.form == SMS and self._settings.twilio_delete_records:
            await adapter.forget(route.address, ids)
            if late:  # records are deletable once delivered: the confirmation's, a little later
                self._later(LATE_DELETE_DELAY, lambda: adapter.forget(route.address, late))

    # ---- helpers -----------------------------------------------------------------------------------------------
    def _metadata(self, adapter: Adapter, language_hint: Optional[str]) -> Dict[str, str]:
        """What Rasa is told besides the text: the channel's form, and her phone's language when supported."""
        hint = _hinted(language_hint, self._content)
        return {"channel": adapter.form, **({"language_hint": hint} if hint else {})}

    def _in_background(self, work: Awaitable[object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _ui(self, language: str):
        return self._content.ui.get(language) or self._content.ui[self._content.languages.default]

    def _ui_reply(self, key: str, language: str) -> AssistantReply:
        ui = self._ui(language)
        return AssistantReply(ui.get(key), {"topic": f"_ui:{key}", "language": ui.language,
                                            "urgent": key in URGENT_UI_KEYS})

    def _done(self, event: str, pseudonym: str, adapter: Adapter,
              replies: Optional[List[AssistantReply]] = None) -> Outcome:
        reply = replies[0].meta if replies else {}
        self._metrics.count(event, adapter.name, reply.get("language"), reply.get("topic"))
        logger.info("event=%s pseudonym=%s channel=%s topic=%s language=%s", event, pseudonym, adapter.name,
                    reply.get("topic", "-"), reply.get("language", "-"))
        return Outcome(event, pseudonym)

    @asynccontextmanager
    async def _conversation(self, pseudonym: str) -> AsyncIterator[None]:
        """One message at a time per conversation (her second text waits for the reply to her first)."""
        entry = self._locks.setdefault(pseudonym, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[pseudonym]

    def _later(self, delay: float, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work`` after ``delay`` seconds; at shutdown, whatever is still waiting runs at once (best effort),
        so that a restart does not leave a confirmation in her chat."""
        async def run() -> None:
            await asyncio.sleep(delay)
            self._pending.discard(work)
            await work()

        self._pending.add(work)
        self._in_background(run())

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        unconfirmed = [self._forget_completed(p, adapter) for p, adapter in self._unconfirmed.items()]
        pending, self._pending = [work() for work in self._pending] + unconfirmed, set()
        if pending:
            try:
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True),
                                       timeout=SHUTDOWN_DELETE_TIMEOUT)
            except asyncio.TimeoutError:
                logger.warning("event=pending_deletes_timed_out count=%d", len(pending))
        if self._unconfirmed:  # in the local profile Rasa stops too, and its memory with her tracker
            logger.warning("event=forgets_unconfirmed_at_shutdown count=%d", len(self._unconfirmed))


def _hinted(language_code: Optional[str], content: ContentStore) -> Optional[str]:
    """Telegram's "pt-br" -> "pt" when supported; anything else is no hint."""
    if not language_code:
        return None
    code = language_code.split("-")[0].lower()
    return code if code in content.languages.codes else None
