"""Anonymous event counts: how many answers per day, channel, language and topic; never who, never what she wrote.

Counts are aggregated per day in memory and added to the database in one statement per flush, so the database holds
no per-message rows and no timestamps finer than a day (exact times could be matched against a phone company's
records of her texts). SQLite locally, PostgreSQL when scaled: SQLAlchemy 1.4 with the 2.0-style API.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from pathlib import Path
from typing import Dict, Optional, Tuple

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from bot.storage.schema import event_counts, migrate

logger = logging.getLogger(__name__)

Key = Tuple[dt.date, str, str, str, str]


class Metrics:
    """Count in memory (``count`` never blocks the event loop); ``flush`` adds the counts to the database."""

    def __init__(self, database_url: str) -> None:
        if database_url.startswith("sqlite:///"):
            Path(database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self._engine: Engine = create_engine(database_url, future=True, pool_pre_ping=True)
        self._pending: Counter = Counter()

    @property
    def engine(self) -> Engine:
        return self._engine

    def create_schema(self) -> None:
        """Apply the migrations (bot.storage.schema): the gateway calls this at start."""
        migrate(self._engine)

    def count(self, event: str, channel: str, language: Optional[str] = None, topic: Optional[str] = None) -> None:
        self._pending[(dt.date.today(), event, channel, language or "-", topic or "-")] += 1

    async def flush(self) -> None:
        pending, self._pending = self._pending, Counter()
        if pending:
            await asyncio.to_thread(self._write, pending)

    def _write(self, pending: Counter) -> None:
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            raise RuntimeError(f"ASSISTANT_DATABASE_URL: {dialect} is not supported; use sqlite or postgresql")
        rows = [dict(zip(("day", "event", "channel", "language", "topic"), key), count=n)
                for key, n in pending.items()]
        statement = insert(event_counts)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "event", "channel", "language", "topic"],
            set_={"count": event_counts.c.count + statement.excluded.count},
        )
        with self._engine.begin() as connection:
            connection.execute(statement, rows)

    def totals(self) -> Dict[Key, int]:
        """Every stored count (for the operator's report and the tests)."""
        with self._engine.connect() as connection:
            return {tuple(row[:5]): row[5] for row in connection.execute(select(event_counts))}

    def ping(self) -> bool:
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            return False

    def close(self) -> None:
        self._engine.dispose()
