"""The database's tables, in one place, and the migrations that make them (Alembic, migrations/ at the root).

The database holds nothing that identifies a woman: counts per day, keyed hashes of deliveries with the day they
were seen, and anonymous case records (issue 9). It holds the advocates' own contact details, which the operator
registers (staff, not the people the service serves). SQLite locally, PostgreSQL when scaled; SQLAlchemy 1.4 with the 2.0-style API. The gateway applies the
migrations at start (``migrate``); a new table or column is a new file in migrations/versions/.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

metadata = MetaData()

event_counts = Table(
    "event_counts", metadata,
    Column("day", Date, nullable=False),
    Column("event", String(32), nullable=False),      # answered, degraded, rate_limited, forget, redacted_<kind>...
    Column("channel", String(16), nullable=False),
    Column("language", String(8), nullable=False),    # a language code, or "-"
    Column("topic", String(32), nullable=False),      # a topic name from locales/, or "-"
    Column("count", Integer, nullable=False),
    UniqueConstraint("day", "event", "channel", "language", "topic", name="event_counts_key"),
)

delivery_keys = Table(
    "delivery_keys", metadata,
    Column("key", String(64), primary_key=True),   # a keyed hash from the channel adapter (storage.deliveries)
    Column("day", Date, nullable=False),           # the day it was first seen: for deleting old keys, nothing finer
)

advocates = Table(
    "advocates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("desk", String(16), nullable=False),        # "telegram" or "sms"
    Column("address", String(64), nullable=False),     # her Telegram user id or phone number (staff, registered)
    Column("display", String(64), nullable=False),     # the name or role shown to women
    Column("languages", String(64), nullable=False),   # language codes, comma-separated
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("desk", "address", name="advocates_desk_address"),
)

cases = Table(
    "cases", metadata,
    Column("code", String(8), primary_key=True),                # "7F3K": random, names nobody
    Column("language", String(8), nullable=False),
    Column("topics", String(256), nullable=False),               # topic names from locales/, comma-separated
    Column("channel", String(16), nullable=False),               # her channel's kind: sms or telegram
    Column("opened_on", Date, nullable=False),                   # the day; nothing finer
    Column("advocate_id", Integer, nullable=True),               # who took it (last owner); NULL while queued
    Column("seconds_to_first_response", Integer, nullable=True),
    Column("seconds_handled", Integer, nullable=True),
    Column("outcome", String(16), nullable=True),                # bot.handoff.model.Outcome; NULL while open
)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent; safe to run at every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
