"""Anonymous counts per day, and delivery keys (issue 8).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Databases made before migrations (by ``create_all``) already hold these tables: they are left as they are.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _exists(name: str) -> bool:
    return name in sa.inspect(op.get_bind()).get_table_names()


def upgrade() -> None:
    if not _exists("event_counts"):
        op.create_table(
            "event_counts",
            sa.Column("day", sa.Date, nullable=False),
            sa.Column("event", sa.String(32), nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("language", sa.String(8), nullable=False),
            sa.Column("topic", sa.String(32), nullable=False),
            sa.Column("count", sa.Integer, nullable=False),
            sa.UniqueConstraint("day", "event", "channel", "language", "topic", name="event_counts_key"),
        )
    if not _exists("delivery_keys"):
        op.create_table(
            "delivery_keys",
            sa.Column("key", sa.String(64), primary_key=True),
            sa.Column("day", sa.Date, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("delivery_keys")
    op.drop_table("event_counts")
