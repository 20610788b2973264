"""Alembic's environment: the gateway's one database (SQLite locally, PostgreSQL scaled), tables from
bot.storage.schema. Run by ``bot.storage.schema.migrate`` (the gateway at start, ``python -m bot migrate``), which
passes its connection; or by a developer with alembic.ini and ``-x url=...``."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.storage.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
