"""The handoff, as the pipeline sees it: offer a person, read her answer, relay both ways, end, forget.

Her side: with advocates registered, a request for a person gets the consent message (from locales/, in her
language). "1" opens a case: a record in the database (nothing identifying), live state in the ephemeral store, and
an announcement on the desks. While the case is open every message of hers goes to the advocates (raw: she may need to
give an address; never stored or logged), the assistant stays silent, except that danger gets the emergency answer at
once and is flagged to the advocate; her leave word ends the case and the assistant says it is back.

The advocates' side: a desk (``Desk``: the Telegram supergroup, or SMS) turns an advocate's words into typed actions
(``commands``); only registered advocates act (``advocates``); a claim is decided by the database (``cases``).

This module sends nothing to her itself: it returns what she is to be sent (``ToHer``), and the pipeline sends it
through her route, as it sends every reply.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from bot.channels.base import ChannelError
from bot.handoff.advocates import AdvocateError, Advocates, normalise_address
from bot.handoff.cases import Cases
from bot.handoff.commands import Action, Back, Close, Rename, Reply, Take, Unclear
from bot.handoff.live import CONNECTED, QUEUED, Consent, LiveCase, LiveCases
from bot.handoff.model import AlreadyClaimed, Advocate, DeskKind, HandoffError, NotYours, Outcome, UnknownCase
from bot.languages import normalise

logger = logging.getLogger(__name__)

#: her answers to the consent message (numbers: never words Twilio reserves)
CONNECT, HELPLINES = "1", "2"
#: how long the list of advocates is kept in memory before it is read again (an operator's change shows this late)
REGISTRY_SECONDS = 30.0
#: an open case outlives the close time by this much, so the timers close it (and tell her) before it expires
KEEP_MARGIN = 3600
#: leave words every language accepts besides its own handoff_leave_word
SHARED_LEAVE_WORDS = frozenset({"bot", "menu"})


class Desk(Protocol):
    """Where advocates work: SmsDesk (below), or the Telegram supergroup with a topic per case (telegram_desk)."""

    kind: DeskKind

    async def announce(self, case: LiveCase, topics: Sequence[str], advocates: Sequence[Advocate]) -> None: ...

    async def to_advocates(self, case: LiveCase, advocates: Sequence[Advocate], text: str, emergency: bool = False,
                           source: Optional[Tuple[str, str]] = None) -> List[str]:
        """Copy her message to them (``source``: her Telegram chat and message, for a desk that can copy it); the
        provider's ids of the copies (deleted if she says "forget me")."""

    async def tell(self, advocate: Advocate, text: str, code: Optional[str] = None) -> None:
        """A notice for an advocate, about case ``code`` when there is one."""

    async def closed(self, case: LiveCase) -> None:
        """The case is closed (its Telegram topic is deleted after the retention time)."""

    async def forget(self, case: LiveCase) -> None:
        """Delete what the desk holds of her messages, as far as the provider allows."""

    async def sweep(self) -> None:
        """Time-driven housekeeping (deleting retired topics)."""


class Sender(Protocol):
    async def send(self, address: str, text: str): ...

    async def forget(self, address: str, provider_message_ids: Sequence[str]) -> int: ...


@dataclass(frozen=True)
class ToHer:
    """What the handoff has her sent: texts from locales/ (already filled in), or, for an advocate's message, the
    advocate's words. ``urgent``: nothing may go before it (999 first)."""

    pseudonym: str
    texts: List[str]
    event: str
    urgent: bool = False
    #: the assistant answers her message first, and these texts follow (her answer to the offer was not 1 or 2)
    after_assistant: bool = False
    #: an advocate's message: delivered only while she is still in this case (a delayed send after "forget me" or
    #: after the case closed is dropped)
    case: Optional[str] = None


class SmsDesk:
    """Advocates who work by SMS: requests and her messages come as texts starting with the case code."""

    kind = DeskKind.SMS

    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    async def announce(self, case: LiveCase, topics: Sequence[str], advocates: Sequence[Advocate]) -> None:
        about = f" · {', '.join(topics)}" if topics else ""
        reached = [await self._send(a, f"New request {case.code} · {case.language}{about} · reply TAKE {case.code}")
                   for a in advocates]
        if not any(reached):
            raise ChannelError("sms desk: no advocate could be reached")

    async def to_advocates(self, case: LiveCase, advocates: Sequence[Advocate], text: str, emergency: bool = False,
                           source: Optional[Tuple[str, str]] = None) -> List[str]:
        flag = "DANGER: she was sent 999 now. " if emergency else ""
        ids: List[str] = []
        sent_to = 0
        for advocate in advocates:
            sent = await self._send(advocate, f"{case.code}: {flag}{text}")
            if sent is not None:
                sent_to += 1
                ids += list(getattr(sent, "provider_message_ids", []) or [])
        if advocates and not sent_to:
            raise ChannelError("sms desk: no advocate could be reached")
        return ids

    async def tell(self, advocate: Advocate, text: str, code: Optional[str] = None) -> None:
        await self._send(advocate, text)

    async def _send(self, advocate: Advocate, text: str):
        """One advocate's phone failing (opted out, wrong number) never stops the others."""
        try:
            return await self._sender.send(advocate.address, text)
        except ChannelError as exc:
            logger.warning("event=sms_desk_send_failed advocate=%d error=%s", advocate.id, exc.__class__.__name__)
            return None

    async def closed(self, case: LiveCase) -> None:
        """The records at Twilio of the copies of her words sent to advocates go when the case closes ("forget me"
        included); the SMS on the advocates' phones are theirs to delete."""
        ids = [i.split(":", 1)[1] for i in case.relayed if i.startswith(f"{self.kind.value}:")]
        if ids:
            await self._sender.forget("", ids)

    async def forget(self, case: LiveCase) -> None:
        pass  # closed() deletes the records, and "forget me" closes the case

    async def sweep(self) -> None:
        pass


_FAILED = object()


class GuardedDesk:
    """A desk whose failures never reach her side: a desk that is down (the bot no longer an admin, Telegram or
    Twilio failing) must not cost her the 999 answer, "forget me", or the timers of other cases. Failures are logged
    by class; ``announce`` says whether it reached anyone."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self.kind = desk.kind

    def __getattr__(self, name: str):  # the desk's own extras (the Telegram desk's inbound side, its forum)
        return getattr(self._desk, name)

    async def announce(self, case: LiveCase, topics: Sequence[str], advocates: Sequence[Advocate]) -> bool:
        return await self._guard("announce", self._desk.announce(case, topics, advocates)) is not _FAILED

    async def to_advocates(self, case: LiveCase, advocates: Sequence[Advocate], text: str, emergency: bool = False,
                           source: Optional[Tuple[str, str]] = None) -> Optional[List[str]]:
        """The copies' ids; None when the desk failed (her message reached no one there)."""
        copies = await self._guard("relay", self._desk.to_advocates(case, advocates, text, emergency=emergency,
                                                                     source=source))
        return None if copies is _FAILED else copies

    async def tell(self, advocate: Advocate, text: str, code: Optional[str] = None) -> None:
        await self._guard("tell", self._desk.tell(advocate, text, code))

    async def closed(self, case: LiveCase) -> None:
        await self._guard("closed", self._desk.closed(case))

    async def forget(self, case: LiveCase) -> None:
        await self._guard("forget", self._desk.forget(case))

    async def sweep(self) -> None:
        await self._guard("sweep", self._desk.sweep())

    async def _guard(self, step: str, work):
        """The desk call's result, or _FAILED (logged by class only: provider messages may carry addresses)."""
        try:
            return await work
        except Exception as exc:  # noqa: BLE001 - any provider failure
            logger.warning("event=desk_failed desk=%s step=%s error=%s", self.kind.value, step,
                           exc.__class__.__name__)
            return _FAILED


class Handoff:
    def __init__(self, *, content, cases: Cases, advocates: Advocates, live: LiveCases,
                 desks: Mapping[DeskKind, Desk], hours: str = "09:00-17:00", days: str = "mon-fri",
                 answer_minutes: int = 30, wait_seconds: int = 600, idle_seconds: int = 900,
                 close_seconds: int = 72 * 3600, extra_advocates: Sequence[Advocate] = ()) -> None:
        self._content = content
        self._cases = cases
        self._advocates = advocates
        self._live = live
        self._desks = {kind: GuardedDesk(desk) for kind, desk in desks.items()}
        self._background: set = set()
        self._hours = hours
        self._days = days
        self._answer_minutes = answer_minutes
        self._wait = wait_seconds
        self._idle = idle_seconds
        self._close_after = close_seconds
        self._registry: List[Advocate] = []
        self._registry_read_at = float("-inf")
        #: advocates held in memory, not registered (the simulator's, with ids below 0); its page turns them off
        self.extra_advocates: List[Advocate] = list(extra_advocates)

    def desk(self, kind: DeskKind) -> Optional[Desk]:
        return self._desks.get(kind)

    # ---- her side -----------------------------------------------------------------------------------------------
    async def available(self) -> bool:
        """A person can be offered: some active advocate works at a desk this gateway runs."""
        return any(a.desk in self._desks for a in await self._registered())

    async def advocate_at(self, kind: DeskKind, address: str) -> Optional[Advocate]:
        """The registered advocate writing from ``address`` (a desk's inbound side asks before anything else)."""
        if kind not in self._desks:
            return None
        try:
            address = normalise_address(kind, address)
        except AdvocateError:
            return None
        return next((a for a in await self._registered() if a.desk is kind and a.address == address), None)

    async def _registered(self) -> List[Advocate]:
        """The active advocates, read from the database at most every REGISTRY_SECONDS (off the event loop)."""
        if time.monotonic() - self._registry_read_at > REGISTRY_SECONDS:
            self._registry = await asyncio.to_thread(self._advocates.all)
            self._registry_read_at = time.monotonic()
        return self._registry + self.extra_advocates

    async def offer(self, pseudonym: str, language: str, topics: Sequence[str]) -> ToHer:
        """The consent message; her next "1" opens a case."""
        await self._live.ask_consent(pseudonym, Consent(language, list(topics)))
        return ToHer(pseudonym, [self._ui(language, "handoff_consent", when=self._when(language))], "handoff_offered")

    async def from_her(self, pseudonym: str, channel: str, text: str, danger: bool,
                       source: Optional[Tuple[str, str]] = None) -> Optional[ToHer]:
        """Her message while a person is offered or connected; None when the assistant should answer it.
        ``source``: her Telegram chat and message id, which the Telegram desk copies (never stored)."""
        case = await self._live.of(pseudonym)
        if case is not None:
            return await self._in_case(case, text, danger, source)
        consent = await self._live.consent(pseudonym)
        if consent is None:
            return None
        answer = text.strip().rstrip(".!")
        if answer == CONNECT:
            return await self._open(pseudonym, channel, consent)
        await self._live.drop_consent(pseudonym)
        if answer == HELPLINES:
            return ToHer(pseudonym, [], "handoff_declined")  # the pipeline answers with the helplines entry
        # anything else: she moved on; the assistant answers, and she is told she is not connected
        return ToHer(pseudonym, [self._ui(consent.language, "handoff_not_connected")], "handoff_not_connected",
                     after_assistant=True)

    async def _open(self, pseudonym: str, channel: str, consent: Consent) -> ToHer:
        record = await asyncio.to_thread(self._cases.open, consent.language, consent.topics, channel)
        case = await self._live.open(record.code, pseudonym, channel, consent.language)
        if not await self._announce(case, consent.topics):  # no desk could be reached: no one would know she waits
            await self._end(case, Outcome.DISCONNECTED)
            return ToHer(pseudonym, [self._ui(case.language, "handoff_not_connected")], "handoff_not_connected",
                         after_assistant=True)
        logger.info("event=handoff_opened case=%s language=%s", case.code, case.language)
        leave = self._ui(case.language, "handoff_leave_word")
        return ToHer(pseudonym, [self._ui(case.language, "handoff_queued", leave=leave)], "handoff_queued")

    async def _in_case(self, case: LiveCase, text: str, danger: bool,
                       source: Optional[Tuple[str, str]] = None) -> Optional[ToHer]:
        if self._is_leave_word(text, case.language):
            await self._end(case, Outcome.SHE_LEFT)
            await self._tell_announced(case, f"{case.code}: she left the chat. It is closed.")
            if case.state == QUEUED:
                return ToHer(case.pseudonym, [self._ui(case.language, "handoff_left_queue")], "handoff_she_left")
            return ToHer(case.pseudonym, [self._ui(case.language, "handoff_ended", name=case.display)],
                         "handoff_she_left")
        case = await self._live.touch(case, her=True)
        told: Optional[ToHer] = None
        if case.advocate_id is not None and all(a.id != case.advocate_id for a in await self._registered()):
            told = await self._requeue(case, case.advocate_id)  # her advocate was removed: nobody would read her
            case = await self._live.get(case.code) or case
        if danger:  # the assistant's emergency answer goes first, at once; the advocates are told after it
            self._in_background(self._relay_to_advocates(case, text, emergency=True, source=source))
            return None
        if not await self._relay_to_advocates(case, text, emergency=False, source=source):
            # every desk failed: she must not believe a person read it
            return ToHer(case.pseudonym, [self._ui(case.language, "handoff_not_passed_on")], "handoff_not_passed_on")
        return told or ToHer(case.pseudonym, [], "handoff_relayed")

    def _in_background(self, work) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def in_case(self, pseudonym: str, code: str) -> bool:
        case = await self._live.of(pseudonym)
        return case is not None and case.code == code

    async def on_forget(self, pseudonym: str) -> None:
        """"Forget me" during a handoff closes the case (the desks delete what they hold, where they can)."""
        case = await self._live.of(pseudonym)
        if case is not None:
            for desk in self._desks.values():
                await desk.forget(case)
            # what a desk could not delete (her texts on an SMS advocate's own phone) is the advocates' to delete
            await self._tell_announced(case, f"{case.code} is closed: she asked the service to forget her. Delete "
                                             f"the messages of {case.code} from your phone.", kinds=(DeskKind.SMS,))
            await self._end(case, Outcome.FORGOTTEN)
        else:
            await self._live.drop_consent(pseudonym)

    async def _tell_announced(self, case: LiveCase, text: str, kinds: Sequence[DeskKind] = tuple(DeskKind)) -> None:
        """Its owner, or while it is queued, the advocates it was announced to (one notice per Telegram topic);
        only at the desks of ``kinds``."""
        if case.advocate_id is not None:
            if self._desk_of(case.advocate_id) in kinds:
                await self._tell_owner(case.advocate_id, text, case.code)
            return
        for kind, desk in ((k, d) for k, d in self._desks.items() if k in kinds):
            chosen = await self._advocates_for(kind, case.language)
            for advocate in chosen[:1] if kind is DeskKind.TELEGRAM else chosen:
                await desk.tell(advocate, text, case.code)

    # ---- the advocates' side ------------------------------------------------------------------------------------
    async def from_advocate(self, kind: DeskKind, address: str, action: Action) -> Optional[ToHer]:
        """An advocate's action; what she is to be sent, if anything. Anyone not registered is ignored."""
        advocate = await self.advocate_at(kind, address)
        if advocate is None:
            logger.warning("event=handoff_not_an_advocate desk=%s", kind.value)
            return None
        desk = self._desks[kind]
        if isinstance(action, Unclear):
            await desk.tell(advocate, action.hint, action.code)
            return None
        case = await self._live.get(action.code)
        try:
            if case is None:
                raise UnknownCase(action.code)
            if isinstance(action, Take):
                return await self._take(case, advocate, desk)
            if case.advocate_id != advocate.id:
                raise NotYours(action.code)
            if isinstance(action, Reply):
                return await self._reply(case, action.text)
            if isinstance(action, Rename):
                await self._live.touch(case, advocate=True, display=action.name)
                await desk.tell(advocate, f"{case.code}: she now sees the name {action.name}.", case.code)
                return None
            if isinstance(action, Back):
                await desk.tell(advocate, f"{case.code} is back in the queue.", case.code)
                return await self._requeue(case, advocate.id)
            if isinstance(action, Close):
                await self._end(case, action.outcome)
                await desk.tell(advocate, f"{case.code} closed ({action.outcome.value}).", case.code)
                return ToHer(case.pseudonym, [self._ui(case.language, "handoff_ended", name=case.display)],
                             "handoff_closed")
        except UnknownCase:
            await desk.tell(advocate, f"No open case {action.code}. Nothing was sent.", action.code)
        except NotYours:
            await desk.tell(advocate, f"{action.code} is another advocate's case. Nothing was sent.", action.code)
        except HandoffError as exc:
            logger.warning("event=handoff_refused error=%s", exc.__class__.__name__)
        return None

    async def _take(self, case: LiveCase, advocate: Advocate, desk: Desk) -> Optional[ToHer]:
        if case.advocate_id == advocate.id:
            await desk.tell(advocate, f"{case.code} is already yours.", case.code)
            return None
        try:
            await asyncio.to_thread(self._cases.claim, case.code, advocate.id)
        except AlreadyClaimed:
            await desk.tell(advocate, f"{case.code} was taken by another advocate.", case.code)
            return None
        case = await self._live.touch(case, advocate=True, state=CONNECTED, advocate_id=advocate.id,
                                      display=advocate.display, flagged=False)
        how = f"Write '{case.code} your message' to answer her." if desk.kind is DeskKind.SMS else \
            "Write here to answer her."
        await desk.tell(advocate, f"{case.code} is yours ({advocate.display}). {how}", case.code)
        logger.info("event=handoff_taken case=%s advocate=%d", case.code, advocate.id)
        leave = self._ui(case.language, "handoff_leave_word")
        return ToHer(case.pseudonym, [self._ui(case.language, "handoff_connected", name=advocate.display,
                                               leave=leave)], "handoff_connected")

    async def _reply(self, case: LiveCase, text: str) -> ToHer:
        if not case.answered:
            await asyncio.to_thread(self._cases.first_response, case.code, int(self._live.now() - case.opened_at))
        await self._live.touch(case, advocate=True, answered=True, flagged=False)
        return ToHer(case.pseudonym, [text], "handoff_advocate_message", case=case.code)

    async def _requeue(self, case: LiveCase, advocate_id: int) -> ToHer:
        """Back to the queue (her advocate handed it back, or went silent): announced again, and she is told."""
        await asyncio.to_thread(self._cases.release, case.code, advocate_id)
        case = await self._live.touch(case, state=QUEUED, advocate_id=None, flagged=False, reminded=False)
        await self._announce(case, [])
        logger.info("event=handoff_requeued case=%s", case.code)
        return ToHer(case.pseudonym, [self._ui(case.language, "handoff_requeued")], "handoff_requeued")

    async def _announce(self, case: LiveCase, topics: Sequence[str]) -> bool:
        """On every desk with advocates for her; whether any desk was reached."""
        reached = False
        for kind, desk in self._desks.items():
            chosen = await self._advocates_for(kind, case.language)
            if chosen:
                reached = await desk.announce(case, topics, chosen) or reached
        return reached

    async def _relay_to_advocates(self, case: LiveCase, text: str, emergency: bool,
                                  source: Optional[Tuple[str, str]] = None) -> bool:
        """To the owner; while the case is queued, to every advocate it was announced to (nothing waits). Whether
        some desk took it."""
        reached = False
        for kind, desk in self._desks.items():
            chosen = [a for a in await self._advocates_for(kind, case.language)
                      if case.advocate_id is None or a.id == case.advocate_id]
            if chosen:
                copies = await desk.to_advocates(case, chosen, text, emergency=emergency, source=source)
                if copies is not None:
                    reached = True
                    case = await self._live.touch(case, relayed_more=[f"{kind.value}:{i}" for i in copies])
        return reached

    async def undelivered(self, pseudonym: str, reason: str) -> None:
        """A message to her could not be delivered (she blocked the bot, or opted out of SMS): her advocate, or the
        advocates her case was announced to, are told, so that no one writes into the void."""
        case = await self._live.of(pseudonym)
        if case is None:
            return
        await self._tell_announced(case, f"{case.code}: your message did not reach her: {reason}.")
        logger.info("event=handoff_undelivered case=%s", case.code)

    async def _end(self, case: LiveCase, outcome: Outcome) -> None:
        try:
            await asyncio.to_thread(self._cases.close, case.code, outcome, int(self._live.now() - case.opened_at))
        except UnknownCase:
            pass
        await self._live.end(case)
        for desk in self._desks.values():
            await desk.closed(case)
        logger.info("event=handoff_closed case=%s outcome=%s", case.code, outcome.value)

    # ---- timers: one round over the open cases (the gateway runs it every SWEEP_SECONDS) ----------------------------
    async def sweep(self) -> List[ToHer]:
        """What time has made due: she waited too long (the helplines and a promise); an advocate silent too long
        (flagged, then the case back to the queue); both sides silent too long (closed, she is told); a case whose
        live state is gone (a restart of the local profile: closed as disconnected, its advocate told)."""
        out: List[ToHer] = []
        for record in await asyncio.to_thread(self._cases.open_records):
            try:
                out += await self._due(record)
            except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the others' timers
                logger.warning("event=handoff_timer_failed case=%s error=%s", record.code, exc.__class__.__name__)
        for desk in self._desks.values():
            await desk.sweep()
        return out

    async def _due(self, record) -> List[ToHer]:
        now = self._live.now()
        out: List[ToHer] = []
        case = await self._live.get(record.code)
        if case is None:
            await asyncio.to_thread(self._cases.close, record.code, Outcome.DISCONNECTED, 0)
            await self._tell_owner(record.advocate_id, f"{record.code} was disconnected (the service restarted): "
                                                       "nothing more can reach her. It is closed.", record.code)
            return out
        if now - max(case.last_her, case.last_advocate) >= self._close_after:
            await self._tell_owner(case.advocate_id, f"{case.code} closed: no one wrote for a long time.",
                                   case.code)
            await self._end(case, Outcome.TIMED_OUT)
            out.append(ToHer(case.pseudonym, [self._ui(case.language, "handoff_ended_idle")], "handoff_idle_closed"))
        elif case.state == QUEUED and not case.reminded and now - max(case.opened_at, case.last_advocate) \
                >= self._wait:
            case = await self._live.touch(case, reminded=True)
            await self._announce(case, [])
            out.append(ToHer(case.pseudonym, [self._ui(case.language, "handoff_still_waiting")],
                             "handoff_still_waiting"))
        elif case.state == CONNECTED and case.advocate_id is not None and now - case.last_advocate >= self._idle:
            if not case.flagged:
                await self._live.touch(case, flagged=True)
                back = f"BACK {case.code}" if self._desk_of(case.advocate_id) is DeskKind.SMS else "/back"
                await self._tell_owner(case.advocate_id, f"{case.code}: she has had no answer for "
                                                         f"{self._idle // 60} min. Answer, or {back}.", case.code)
            elif now - case.last_advocate >= 2 * self._idle:
                await self._tell_owner(case.advocate_id, f"{case.code} went back to the queue.", case.code)
                out.append(await self._requeue(case, case.advocate_id))
        return out

    @property
    def keep_seconds(self) -> int:
        """How long an open case's live state and her route are kept from the last timer round."""
        return self._close_after + KEEP_MARGIN

    async def open_cases(self) -> List[LiveCase]:
        cases = [await self._live.get(r.code) for r in await asyncio.to_thread(self._cases.open_records)]
        return [c for c in cases if c is not None]

    async def _tell_owner(self, advocate_id: Optional[int], text: str, code: str) -> None:
        owner = next((a for a in await self._registered() if a.id == advocate_id), None)
        if owner is not None and owner.desk in self._desks:
            await self._desks[owner.desk].tell(owner, text, code)

    def _desk_of(self, advocate_id: Optional[int]) -> Optional[DeskKind]:
        return next((a.desk for a in self._registry + self.extra_advocates if a.id == advocate_id), None)

    # ---- helpers ------------------------------------------------------------------------------------------------
    async def _advocates_for(self, kind: DeskKind, language: str) -> List[Advocate]:
        """Advocates at this desk who speak her language; if none does, every advocate at the desk."""
        at_desk = [a for a in await self._registered() if a.desk is kind]
        speaking = [a for a in at_desk if language in a.languages]
        return speaking or at_desk

    def _ui(self, language: str, key: str, **values: str) -> str:
        ui = self._content.ui.get(language) or self._content.ui[self._content.languages.default]
        return ui.get(key).format(**values) if values else ui.get(key)

    def _when(self, language: str, now: Optional[dt.datetime] = None) -> str:
        start, end = self._hours.split("-")
        if self._open_now(now):
            return self._ui(language, "handoff_when_open", minutes=str(self._answer_minutes))
        hours_key = "handoff_hours_everyday" if self._days == "every day" else "handoff_hours_weekdays"
        hours = self._ui(language, hours_key, start=start, end=end)
        return self._ui(language, "handoff_when_closed", hours=hours)

    def _open_now(self, now: Optional[dt.datetime] = None) -> bool:
        from zoneinfo import ZoneInfo

        now = now or dt.datetime.now(ZoneInfo("Europe/London"))
        if self._days == "mon-fri" and now.weekday() >= 5:
            return False
        start, end = self._hours.split("-")
        return start <= now.strftime("%H:%M") < end

    def _is_leave_word(self, text: str, language: str) -> bool:
        words: Dict[str, None] = dict.fromkeys(SHARED_LEAVE_WORDS)
        words[normalise(self._ui(language, "handoff_leave_word"))] = None
        return normalise(text) in words
