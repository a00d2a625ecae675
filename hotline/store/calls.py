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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from calls.records import CallEvent, CallRecord, utc
from sql.schema import call_events, call_legs, calls

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


def _epoch(value: datetime | None) -> float | None:
    """Epoch seconds of a stored time (SQLite gives naive UTC datetimes, PostgreSQL aware ones)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def record_of_row(row: Mapping[str, Any]) -> CallRecord:
    """The ``CallRecord`` a ``calls`` row was saved from (``_row`` backwards; times to the
    microsecond the column keeps; ``wait_seconds`` and ``talk_seconds`` are the record's own
    properties again)."""
    return CallRecord(
        call_id=row["call_id"], caller=row["caller"], dnis=row["dnis"], arrived_at=_epoch(row["arrived_at"]) or 0.0,
        source=row["source"], queue=row["queue"] or "", language=row["language"] or "", skills=row["skills"] or "",
        priority=int(row["priority"] or 0), repeat_calls=int(row["repeat_calls"] or 0),
        queued_at=_epoch(row["queued_at"]), answered_at=_epoch(row["answered_at"]), ended_at=_epoch(row["ended_at"]),
        agent_id=row["agent_id"] or "", outcome=row["outcome"], ivr_path=tuple(row["ivr_path"] or ()),
        recording=row["recording"] or "", attrs=dict(row["attrs"] or {}))


def _leg_row(call_id: str, leg: dict[str, Any]) -> dict[str, Any]:
    """A ``call_legs`` row from an ``agency_leg`` event's data (hotline/three_party/rooms.py)."""
    def at(key: str) -> datetime | None:
        return _when(float(leg[key])) if leg.get(key) is not None else None

    return {"call_id": call_id, "leg": int(leg["leg"]), "agency_id": str(leg["agency"]),
            "number": str(leg["number"]), "mode": str(leg.get("mode") or ""), "attempt": int(leg.get("attempt") or 1),
            "dialled_at": at("dialled_at"), "answered_at": at("answered_at"), "ended_at": at("ended_at"),
            "end_reason": leg.get("end")}


class CallStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, record: CallRecord, events: Iterable[CallEvent] = ()) -> None:
        """Insert or replace the record and append its events, in one transaction; each
        ``agency_leg`` event also becomes a ``call_legs`` row (replaced with the record)."""
        row = _row(record)
        events = list(events)
        legs = [_leg_row(record.call_id, e.data) for e in events if e.kind == "agency_leg"]
        with self.engine.begin() as conn:
            conn.execute(calls.delete().where(calls.c.call_id == record.call_id))
            conn.execute(calls.insert().values(**row))
            rows = [{"call_id": e.call_id, "at": _when(e.at), "kind": e.kind, "data": e.data} for e in events]
            if rows:
                conn.execute(call_events.insert(), rows)
            if legs:
                conn.execute(call_legs.delete().where(call_legs.c.call_id == record.call_id))
                conn.execute(call_legs.insert(), legs)

    def legs(self, call_id: str) -> list[dict[str, Any]]:
        """The call's agency legs, in the order they were dialled."""
        with self.engine.connect() as conn:
            q = select(call_legs).where(call_legs.c.call_id == call_id).order_by(call_legs.c.leg)
            return [dict(r) for r in conn.execute(q).mappings()]

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

    def records(self, start: float, end: float) -> list[CallRecord]:
        """The records of the calls that arrived in ``[start, end)`` (epoch seconds), as the
        values they were saved from, in order of arrival (what-if replay: simulator.replay)."""
        with self.engine.connect() as conn:
            q = (select(calls).where(calls.c.arrived_at >= utc(start), calls.c.arrived_at < utc(end))
                 .order_by(calls.c.arrived_at, calls.c.call_id))
            return [record_of_row(r) for r in conn.execute(q).mappings()]


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
