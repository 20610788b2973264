"""Who may take, read, answer and close cases: the advocates an operator registered (``python -m bot advocates``).

Only a registered, active advocate can act on a case; a message from anyone else in the advocates' group, or from an
unknown number, is ignored and counted as an event. Telegram advocates are known by their Telegram user id, SMS
advocates by their phone number (normalised to E.164, so "07700 900123" and "+447700900123" are one advocate).
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

import phonenumbers
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.handoff.model import Advocate, DeskKind, HandoffError
from bot.storage.schema import advocates

MAX_DISPLAY = 64


class AdvocateError(HandoffError):
    """A registration the operator must correct; the message says what is wrong and how to write it."""


def normalise_address(desk: DeskKind, address: str) -> str:
    """A Telegram user id as digits; a phone number in E.164 (UK numbers may be written nationally)."""
    address = address.strip()
    if desk is DeskKind.TELEGRAM:
        if not address.isdigit():
            raise AdvocateError("a Telegram advocate is registered by her numeric Telegram user id (digits only), "
                                "not by her username")
        return address
    try:
        number = phonenumbers.parse(address, "GB")
    except phonenumbers.NumberParseException:
        raise AdvocateError("write the phone number in full, e.g. +447700900123 or 07700 900123") from None
    if not phonenumbers.is_possible_number(number):
        raise AdvocateError("that is not a possible phone number; write it in full, e.g. +447700900123")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _languages(codes: Iterable[str], supported: Sequence[str]) -> str:
    chosen = [c.strip().lower() for c in codes if c.strip()]
    unknown = [c for c in chosen if c not in supported]
    if unknown or not chosen:
        raise AdvocateError(f"languages must be some of {', '.join(supported)} (comma-separated)")
    return ",".join(dict.fromkeys(chosen))


class Advocates:
    """The registry, in the service's database."""

    def __init__(self, engine: Engine, supported_languages: Sequence[str]) -> None:
        self._engine = engine
        self._supported = tuple(supported_languages)

    def add(self, desk: DeskKind, address: str, display: str, languages: Iterable[str]) -> Advocate:
        display = display.strip()
        if not display or len(display) > MAX_DISPLAY:
            raise AdvocateError(f"the name or role shown to women must be 1-{MAX_DISPLAY} characters "
                                "(a first name or a role: 'Ana', 'advocate')")
        row = {"desk": desk.value, "address": normalise_address(desk, address), "display": display,
               "languages": _languages(languages, self._supported), "active": True}
        try:
            with self._engine.begin() as connection:
                new_id = connection.execute(insert(advocates).values(**row)).inserted_primary_key[0]
        except IntegrityError:
            raise AdvocateError("this advocate is already registered (see 'advocates list'; 'advocates set' "
                                "changes one)") from None
        return self.get(new_id)

    def get(self, advocate_id: int) -> Advocate:
        with self._engine.connect() as connection:
            row = connection.execute(select(advocates).where(advocates.c.id == advocate_id)).first()
        if row is None:
            raise AdvocateError(f"no advocate has id {advocate_id} (see 'advocates list')")
        return _advocate(row)

    def find(self, desk: DeskKind, address: str) -> Optional[Advocate]:
        """The active advocate at this address, or None (then whoever wrote is not an advocate)."""
        try:
            address = normalise_address(desk, address)
        except AdvocateError:
            return None
        with self._engine.connect() as connection:
            row = connection.execute(select(advocates).where(
                advocates.c.desk == desk.value, advocates.c.address == address, advocates.c.active)).first()
        return None if row is None else _advocate(row)

    def all(self, include_inactive: bool = False) -> List[Advocate]:
        query = select(advocates).order_by(advocates.c.id)
        if not include_inactive:
            query = query.where(advocates.c.active)
        with self._engine.connect() as connection:
            return [_advocate(row) for row in connection.execute(query)]

    def set(self, advocate_id: int, display: Optional[str] = None, languages: Optional[Iterable[str]] = None,
            active: Optional[bool] = None) -> Advocate:
        values = {}
        if display is not None:
            if not display.strip() or len(display.strip()) > MAX_DISPLAY:
                raise AdvocateError(f"the name or role shown to women must be 1-{MAX_DISPLAY} characters")
            values["display"] = display.strip()
        if languages is not None:
            values["languages"] = _languages(languages, self._supported)
        if active is not None:
            values["active"] = active
        self.get(advocate_id)
        if values:
            with self._engine.begin() as connection:
                connection.execute(update(advocates).where(advocates.c.id == advocate_id).values(**values))
        return self.get(advocate_id)

    def remove(self, advocate_id: int) -> None:
        """Deactivate (case records keep the id; her contact details are blanked)."""
        self.get(advocate_id)
        with self._engine.begin() as connection:
            connection.execute(update(advocates).where(advocates.c.id == advocate_id).values(
                active=False, address=f"removed-{advocate_id}"))


def _advocate(row) -> Advocate:
    return Advocate(row.id, DeskKind(row.desk), row.address, row.display, tuple(row.languages.split(",")),
                    bool(row.active))
