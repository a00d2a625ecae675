"""SQLAlchemy tables for call records and their events (SQLite by default, PostgreSQL in
production). The Alembic migrations in sql/migrations create exactly these tables."""
from __future__ import annotations

from sqlalchemy import (JSON, Column, DateTime, Float, Integer, MetaData, String, Table, Text,
                        Index)

metadata = MetaData()

calls = Table(
    "calls", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("caller", String(64), nullable=False, index=True),
    Column("dnis", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("queue", String(32), nullable=False, default=""),
    Column("language", String(8), nullable=False, default=""),
    Column("skills", String(255), nullable=False, default=""),
    Column("priority", Integer, nullable=False, default=0),
    Column("repeat_calls", Integer, nullable=False, default=0),
    Column("arrived_at", DateTime(timezone=True), nullable=False, index=True),
    Column("queued_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("wait_seconds", Float),
    Column("talk_seconds", Float),
    Column("agent_id", String(16), nullable=False, default="", index=True),
    Column("outcome", String(24), nullable=False),
    Column("ivr_path", JSON, nullable=False),
    Column("attrs", JSON, nullable=False),
    Column("recording", Text, nullable=False, default=""),
)

call_events = Table(
    "call_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_call_events_call_at", "call_id", "at"),
)
