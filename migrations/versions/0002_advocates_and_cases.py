"""Advocates and anonymous case records (issue 9).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advocates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("display", sa.String(64), nullable=False),
        sa.Column("languages", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("desk", "address", name="advocates_desk_address"),
    )
    op.create_table(
        "cases",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("topics", sa.String(256), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("advocate_id", sa.Integer, nullable=True),
        sa.Column("seconds_to_first_response", sa.Integer, nullable=True),
        sa.Column("seconds_handled", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("cases")
    op.drop_table("advocates")
