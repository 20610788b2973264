"""Case records: what the organisation may keep of a handoff, and the claim that decides who owns a case.

A record holds the case code, language, topics, her channel's kind, the day it opened, who took it, seconds to the
first response, seconds handled and the outcome: nothing that identifies her. Which pseudonym a case belongs to is
live state in the ephemeral store, never here.

A claim is one conditional UPDATE ("set the advocate where there is none and the case is open"): its row count
decides a race between two advocates pressing Take at once, across any number of gateway processes.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.handoff.model import AlreadyClaimed, CaseRecord, NotYours, Outcome, UnknownCase, new_code
from bot.storage.schema import cases

#: a new code is drawn again when it is taken (old records keep theirs)
CODE_ATTEMPTS = 20


class Cases:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def open(self, language: str, topics: Iterable[str], channel: str, today: Optional[dt.date] = None) -> CaseRecord:
        """A new case with a fresh code; its record starts with no advocate and no outcome."""
        record = {"language": language, "topics": ",".join(dict.fromkeys(topics)), "channel": channel,
                  "opened_on": today or dt.date.today()}
        for _ in range(CODE_ATTEMPTS):
            code = new_code()
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(cases).values(code=code, **record))
                return self.get(code)
            except IntegrityError:
                continue
        raise RuntimeError("no free case code after 20 draws: the cases table is nearly full; archive old records")

    def get(self, code: str) -> CaseRecord:
        with self._engine.connect() as connection:
            row = connection.execute(select(cases).where(cases.c.code == code)).first()
        if row is None:
            raise UnknownCase(code)
        return _record(row)

    def claim(self, code: str, advocate_id: int) -> CaseRecord:
        """Take a queued case; AlreadyClaimed when someone else has it, UnknownCase when it is closed or absent."""
        with self._engine.begin() as connection:
            taken = connection.execute(update(cases).where(
                cases.c.code == code, cases.c.advocate_id.is_(None), cases.c.outcome.is_(None),
            ).values(advocate_id=advocate_id)).rowcount
        if taken == 1:
            return self.get(code)
        record = self.get(code)
        if record.outcome is not None:
            raise UnknownCase(code)
        if record.advocate_id == advocate_id:
            return record  # her own second press
        raise AlreadyClaimed(code)

    def release(self, code: str, advocate_id: int) -> CaseRecord:
        """Hand a case back to the queue (by its owner, or by the idle timer acting for her)."""
        with self._engine.begin() as connection:
            released = connection.execute(update(cases).where(
                cases.c.code == code, cases.c.advocate_id == advocate_id, cases.c.outcome.is_(None),
            ).values(advocate_id=None)).rowcount
        if not released:
            record = self.get(code)
            raise UnknownCase(code) if record.outcome is not None else NotYours(code)
        return self.get(code)

    def first_response(self, code: str, seconds: int) -> None:
        """The first advocate message to reach her: set once."""
        with self._engine.begin() as connection:
            connection.execute(update(cases).where(
                cases.c.code == code, cases.c.seconds_to_first_response.is_(None),
            ).values(seconds_to_first_response=max(0, int(seconds))))

    def close(self, code: str, outcome: Outcome, seconds_handled: int) -> CaseRecord:
        with self._engine.begin() as connection:
            closed = connection.execute(update(cases).where(cases.c.code == code, cases.c.outcome.is_(None)).values(
                outcome=outcome.value, seconds_handled=max(0, int(seconds_handled)))).rowcount
        if not closed:
            raise UnknownCase(code)
        return self.get(code)

    def open_records(self) -> List[CaseRecord]:
        """Every case not yet closed (the timers' round)."""
        with self._engine.connect() as connection:
            return [_record(row) for row in connection.execute(select(cases).where(cases.c.outcome.is_(None)))]

    def report(self, since: Optional[dt.date] = None) -> "Report":
        query = select(cases)
        if since is not None:
            query = query.where(cases.c.opened_on >= since)
        with self._engine.connect() as connection:
            return Report([_record(row) for row in connection.execute(query)])


@dataclass(frozen=True)
class Report:
    """The anonymous figures an organisation needs (``python -m bot cases report``)."""

    records: List[CaseRecord]

    def by_language_and_channel(self) -> Dict[Tuple[str, str], Tuple[int, Optional[float]]]:
        """(language, channel) -> (cases, median seconds to first response among those answered)."""
        groups: Dict[Tuple[str, str], List[CaseRecord]] = defaultdict(list)
        for record in self.records:
            groups[(record.language, record.channel)].append(record)
        out = {}
        for key, records in sorted(groups.items()):
            answered = [r.seconds_to_first_response for r in records if r.seconds_to_first_response is not None]
            out[key] = (len(records), statistics.median(answered) if answered else None)
        return out

    def outcomes(self) -> Dict[str, int]:
        counts: Dict[str, int] = defaultdict(int)
        for record in self.records:
            counts[record.outcome.value if record.outcome else "open"] += 1
        return dict(sorted(counts.items()))

    def render(self) -> str:
        lines = [f"{len(self.records)} case(s)", "", f"{'language':<10}{'channel':<10}{'cases':>7}"
                 f"{'median s to first response':>28}"]
        for (language, channel), (count, median) in self.by_language_and_channel().items():
            lines.append(f"{language:<10}{channel:<10}{count:>7}{'-' if median is None else f'{median:.0f}':>28}")
        lines += ["", "outcomes: " + ", ".join(f"{k} {v}" for k, v in self.outcomes().items())]
        return "\n".join(lines)


def _record(row) -> CaseRecord:
    return CaseRecord(row.code, row.language, tuple(t for t in row.topics.split(",") if t), row.channel,
                      row.opened_on, row.advocate_id, row.seconds_to_first_response, row.seconds_handled,
                      Outcome(row.outcome) if row.outcome else None)
