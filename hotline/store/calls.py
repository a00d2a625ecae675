"""Durable call records: SQLAlchemy 2.x over SQLite (default) or PostgreSQL.

``CallStore`` is synchronous and small; ``RecordWriter`` runs it in a worker thread so the
event loop never blocks on the database, and spools records to a JSON-lines file while the
database is unreachable, replaying them when it answers again: a lost database costs
latency in the reports, never a record.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from calls.records import CallEvent, CallRecord, utc
from sql.schema import call_events, calls

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parents[2] / "sql" / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, pool_pre_ping=True, future=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class UnstorableRecord(ValueError):
    """The record holds a value no timestamp column can take (NaN, infinity, a year past
    9999): retrying cannot help, so the writer sets it aside instead of spooling it."""


def _when(ts: float) -> datetime:
    # datetime refuses such times with ValueError, OverflowError or (past time_t) OSError;
    # the last would pass for "database unavailable" and block the spool for good.
    try:
        return utc(ts)
    except (ValueError, OverflowError, OSError) as exc:
        raise UnstorableRecord(f"time {ts!r} out of range: {exc}") from exc


def _row(record: CallRecord) -> dict[str, Any]:
    return {
        "call_id": record.call_id, "caller": record.caller, "dnis": record.dnis,
        "source": record.source, "queue": record.queue, "language": record.language,
        "skills": record.skills, "priority": record.priority, "repeat_calls": record.repeat_calls,
        "arrived_at": _when(record.arrived_at),
        "queued_at": _when(record.queued_at) if record.queued_at is not None else None,
        "answered_at": _when(record.answered_at) if record.answered_at is not None else None,
        "ended_at": _when(record.ended_at) if record.ended_at is not None else None,
        "wait_seconds": record.wait_seconds, "talk_seconds": record.talk_seconds,
        "agent_id": record.agent_id, "outcome": record.outcome,
        "ivr_path": list(record.ivr_path), "attrs": dict(record.attrs), "recording": record.recording,
    }


class CallStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, record: CallRecord, events: Iterable[CallEvent] = ()) -> None:
        """Insert or replace the record and append its events, in one transaction."""
        row = _row(record)
        with self.engine.begin() as conn:
            conn.execute(calls.delete().where(calls.c.call_id == record.call_id))
            conn.execute(calls.insert().values(**row))
            rows = [{"call_id": e.call_id, "at": _when(e.at), "kind": e.kind, "data": e.data} for e in events]
            if rows:
                conn.execute(call_events.insert(), rows)

    def get(self, call_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.call_id == call_id)).mappings().first()
            return dict(row) if row else None

    def events(self, call_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(call_events).where(call_events.c.call_id == call_id).order_by(call_events.c.id)
            return [dict(r) for r in conn.execute(q).mappings()]

    def known_ids(self, call_ids: Iterable[str]) -> set[str]:
        ids = list(call_ids)
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(select(calls.c.call_id).where(calls.c.call_id.in_(ids))).scalars())

    def count_calls_from(self, caller: str, since: float) -> int:
        """How many calls this number made since ``since`` (epoch): repeat-caller recognition."""
        with self.engine.connect() as conn:
            q = select(func.count()).select_from(calls).where(
                calls.c.caller == caller, calls.c.arrived_at >= utc(since))
            return int(conn.execute(q).scalar_one())

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(calls).order_by(calls.c.arrived_at.desc()).limit(limit)
            return [dict(r) for r in conn.execute(q).mappings()]


def _encode(record: CallRecord, events: list[CallEvent]) -> str:
    payload = {"record": {**record.__dict__, "ivr_path": list(record.ivr_path)},
               "events": [e.__dict__ for e in events]}
    return json.dumps(payload, default=str)


def _decode(line: str) -> tuple[CallRecord, list[CallEvent]]:
    payload = json.loads(line)
    rec = payload["record"]
    rec["ivr_path"] = tuple(rec.get("ivr_path") or ())
    return CallRecord(**rec), [CallEvent(**e) for e in payload["events"]]


class RecordWriter:
    """Writes records off the event loop; spools them to disk while the database is down."""

    def __init__(self, store: CallStore, spool: Path) -> None:
        self.store = store
        self.spool = spool
        self._lock = asyncio.Lock()

    async def write(self, record: CallRecord, events: list[CallEvent]) -> bool:
        """Save now if possible; otherwise spool. Returns True if it reached the database.
        A record the database can never take is set aside in the ``.bad`` file at once:
        raising would stop the caller's work (e.g. the fallback reconciliation) at it."""
        async with self._lock:
            try:
                await asyncio.to_thread(self.store.save, record, events)
            except (DataError, IntegrityError, ValueError) as exc:
                log.error("call %s rejected by the database, moved to %s.bad: %s", record.call_id, self.spool, exc)
                self._set_aside(_encode(record, events))
                return False
            except (SQLAlchemyError, OSError) as exc:
                log.error("database unavailable (%s): call %s spooled to %s", exc, record.call_id, self.spool)
                with self.spool.open("a") as fh:
                    fh.write(_encode(record, events) + "\n")
                return False
            await self._replay_locked()
            return True

    def _set_aside(self, line: str) -> None:
        with open(f"{self.spool}.bad", "a") as bad:
            bad.write(line + "\n")

    async def replay(self) -> int:
        async with self._lock:
            return await self._replay_locked()

    async def _replay_locked(self) -> int:
        if not self.spool.exists() or self.spool.stat().st_size == 0:
            return 0
        lines = [line for line in self.spool.read_text().splitlines() if line.strip()]
        done = 0
        for line in lines:
            try:
                record, events = _decode(line)
                await asyncio.to_thread(self.store.save, record, events)
            except (DataError, IntegrityError) as exc:
                # The database answers but rejects this record (e.g. a caller id longer than
                # the column): retrying cannot help, and it must not block the lines after it.
                log.error("spooled record rejected by the database, moved to %s.bad: %s", self.spool, exc)
                self._set_aside(line)
            except (SQLAlchemyError, OSError):
                break
            except (ValueError, TypeError, KeyError) as exc:
                log.error("unreadable spool line dropped to %s.bad: %s", self.spool, exc)
                self._set_aside(line)
            done += 1
        self.spool.write_text("".join(line + "\n" for line in lines[done:]))
        if done:
            log.info("replayed %d spooled call records", done)
        return done
