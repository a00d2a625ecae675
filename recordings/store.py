"""SQL store of the recordings index, the access log, the quality checks and the
supervisors' listen/whisper/barge sessions (SQLAlchemy 2, SQLite or PostgreSQL, tables of
migration 0005).

Why synchronous and small: the janitor runs it in its worker thread, the CLI as it is, and
the API's adapter (``hotline.api.recordings_sql``) in ``asyncio.to_thread``. Every time
crosses the boundary as an aware datetime: written in UTC (SQLite keeps the text, so equal
zones keep the comparisons right), read back as UTC.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import Engine, and_, exists, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recordings.model import AccessEntry, AccessQuery, RecordingPart, SupervisorSession
from recordings.quality import CheckQuery, QualityCheck
from recordings.retention import Candidate
from sql.schema import (calls, quality_checks, recording_access, recordings, supervisor_sessions,
                        work_orders)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a naive time cannot be stored: {moment!r}")
    return moment.astimezone(timezone.utc)


def _read(moment: datetime | None) -> datetime | None:
    """A time read back (SQLite returns it naive: it was written in UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class PendingCall:
    """A stored call whose recorded parts are not indexed yet."""

    call_id: str
    arrived_at: datetime
    ended_at: datetime | None
    recording: str
    attrs: dict[str, Any]


def _part(row: Any) -> RecordingPart:
    return RecordingPart(call_id=row.call_id, part=row.part, path=row.path, format=row.format, bytes=row.bytes,
                         seconds=row.seconds, created_at=_read(row.created_at),  # type: ignore[arg-type]
                         compressed_at=_read(row.compressed_at), purged_at=_read(row.purged_at))


def _access(row: Any) -> AccessEntry:
    return AccessEntry(call_id=row.call_id, part=row.part, username=row.username, role=row.role, action=row.action,
                       allowed=bool(row.allowed), at=_read(row.at), client=row.client, id=row.id)  # type: ignore[arg-type]


def _check(row: Any) -> QualityCheck:
    return QualityCheck(call_id=row.call_id, agent_id=row.agent_id, reviewer=row.reviewer, score=row.score,
                        items=dict(row.items), remarks=row.remarks, keep=bool(row.keep),
                        at=_read(row.at), id=row.id)  # type: ignore[arg-type]


class RecordingStore:
    """Recordings, their access log and the quality checks, in the database of ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the index (the janitor) ------------------------------------------------------------

    def pending_calls(self, arrived_from: datetime, limit: int = 500,
                      after: tuple[datetime, str] | None = None) -> list[PendingCall]:
        """Stored calls that arrived at ``arrived_from`` or later, name a recording, and have
        no indexed part yet; by arrival, then id, from just ``after`` that key (paging)."""
        indexed = exists().where(recordings.c.call_id == calls.c.call_id)
        q = (select(calls.c.call_id, calls.c.arrived_at, calls.c.ended_at, calls.c.recording, calls.c.attrs)
             .where(calls.c.arrived_at >= _utc(arrived_from), calls.c.recording != "", ~indexed)
             .order_by(calls.c.arrived_at, calls.c.call_id).limit(limit))
        if after is not None:
            q = q.where(tuple_(calls.c.arrived_at, calls.c.call_id) > tuple_(_utc(after[0]), after[1]))
        with self.engine.connect() as conn:
            return [PendingCall(r.call_id, _read(r.arrived_at), _read(r.ended_at), r.recording,  # type: ignore[arg-type]
                                dict(r.attrs or {})) for r in conn.execute(q)]

    def index(self, parts: Iterable[RecordingPart]) -> int:
        """Add parts to the index; a part already there (or given twice, or added meanwhile by
        another janitor) is left as it is. The number added."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for p in parts:
            rows.setdefault((p.call_id, p.part), {
                "call_id": p.call_id, "part": p.part, "path": p.path, "format": p.format, "bytes": p.bytes,
                "seconds": p.seconds, "created_at": _utc(p.created_at),
                "compressed_at": _utc(p.compressed_at) if p.compressed_at else None, "purged_at": None})
        if not rows:
            return 0
        dialect = self.engine.dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert if dialect == "sqlite" else None
        with self.engine.begin() as conn:
            if insert is not None:
                statement = (insert(recordings).on_conflict_do_nothing(index_elements=["call_id", "part"])
                             .returning(recordings.c.call_id))
                return sum(len(conn.execute(statement, row).all()) for row in rows.values())
            known = {(row.call_id, row.part) for row in conn.execute(
                select(recordings.c.call_id, recordings.c.part).where(
                    tuple_(recordings.c.call_id, recordings.c.part).in_(list(rows))))}
            fresh = [row for key, row in rows.items() if key not in known]
            if fresh:
                conn.execute(recordings.insert(), fresh)
            return len(fresh)

    def uncompressed(self, limit: int = 100) -> list[RecordingPart]:
        """Indexed WAV parts not compressed (nor purged) yet, oldest first."""
        q = (select(recordings).where(recordings.c.compressed_at.is_(None), recordings.c.purged_at.is_(None),
                                      recordings.c.format == "wav")
             .order_by(recordings.c.created_at, recordings.c.call_id, recordings.c.part).limit(limit))
        with self.engine.connect() as conn:
            return [_part(r) for r in conn.execute(q)]

    def mark_compressed(self, call_id: str, part: str, path: str, fmt: str, size: int, seconds: float,
                        at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(recordings).where(recordings.c.call_id == call_id, recordings.c.part == part)
                         .values(path=path, format=fmt, bytes=size, seconds=seconds, compressed_at=_utc(at)))

    def parts(self, call_id: str) -> list[RecordingPart]:
        q = select(recordings).where(recordings.c.call_id == call_id).order_by(recordings.c.part)
        with self.engine.connect() as conn:
            return [_part(r) for r in conn.execute(q)]

    def part(self, call_id: str, part: str) -> RecordingPart | None:
        q = select(recordings).where(recordings.c.call_id == call_id, recordings.c.part == part)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return _part(row) if row is not None else None

    # -- retention ----------------------------------------------------------------------------

    def purge_candidates(self, created_before: datetime) -> list[Candidate]:
        """Unpurged parts created at or before ``created_before``, with their call's outcome,
        its work order's category and whether a quality check keeps them."""
        kept = exists().where(quality_checks.c.call_id == recordings.c.call_id, quality_checks.c.keep.is_(True))
        q = (select(recordings.c.call_id, recordings.c.part, recordings.c.path, recordings.c.format,
                    recordings.c.bytes, recordings.c.created_at, calls.c.outcome, work_orders.c.category,
                    kept.label("keep"))
             .select_from(recordings.outerjoin(calls, calls.c.call_id == recordings.c.call_id)
                          .outerjoin(work_orders, work_orders.c.call_id == recordings.c.call_id))
             .where(recordings.c.purged_at.is_(None), recordings.c.created_at <= _utc(created_before))
             .order_by(recordings.c.created_at, recordings.c.call_id, recordings.c.part))
        with self.engine.connect() as conn:
            return [Candidate(r.call_id, r.part, r.path, r.format, r.bytes, _read(r.created_at),  # type: ignore[arg-type]
                              r.outcome, r.category, bool(r.keep)) for r in conn.execute(q)]

    def mark_purged(self, parts: Sequence[tuple[str, str]], at: datetime, actor: str) -> int:
        """Mark ``parts`` purged at ``at`` and log one ``purge`` access each, in one transaction."""
        if not parts:
            return 0
        when = _utc(at)
        with self.engine.begin() as conn:
            done = conn.execute(update(recordings)
                                .where(tuple_(recordings.c.call_id, recordings.c.part).in_(list(parts)),
                                       recordings.c.purged_at.is_(None))
                                .values(purged_at=when)).rowcount
            conn.execute(recording_access.insert(), [
                {"call_id": call_id, "part": part, "username": actor, "role": "system", "action": "purge",
                 "allowed": True, "at": when, "client": ""} for call_id, part in parts])
        return int(done or 0)

    # -- the access log -------------------------------------------------------------------------

    def log_access(self, entry: AccessEntry) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(recording_access.insert().values(
                call_id=entry.call_id, part=entry.part, username=entry.username, role=entry.role,
                action=entry.action, allowed=entry.allowed, at=_utc(entry.at), client=entry.client[:64]))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def access_log(self, query: AccessQuery) -> list[AccessEntry]:
        c = recording_access.c
        conditions = [
            c.call_id == query.call_id if query.call_id is not None else None,
            c.username == query.username if query.username is not None else None,
            c.at >= _utc(query.since) if query.since is not None else None,
            c.at < _utc(query.until) if query.until is not None else None,
            c.allowed.is_(query.allowed) if query.allowed is not None else None,
        ]
        q = (select(recording_access).where(*[x for x in conditions if x is not None])
             .order_by(c.at.desc(), c.id.desc()).limit(query.limit).offset(query.offset))
        with self.engine.connect() as conn:
            return [_access(r) for r in conn.execute(q)]

    # -- quality checks ---------------------------------------------------------------------

    def call_agent(self, call_id: str) -> str | None:
        """The agent a stored call names ("" when nobody answered it), None when not stored."""
        with self.engine.connect() as conn:
            return conn.execute(select(calls.c.agent_id).where(calls.c.call_id == call_id)).scalar_one_or_none()

    def add_check(self, check: QualityCheck) -> QualityCheck:
        with self.engine.begin() as conn:
            result = conn.execute(quality_checks.insert().values(
                call_id=check.call_id, agent_id=check.agent_id, reviewer=check.reviewer, score=check.score,
                items=dict(check.items), remarks=check.remarks, keep=check.keep, at=_utc(check.at)))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return QualityCheck(check.call_id, check.agent_id, check.reviewer, check.score, dict(check.items),
                            check.remarks, check.keep, _utc(check.at), new_id)

    def checks_for_call(self, call_id: str) -> list[QualityCheck]:
        q = (select(quality_checks).where(quality_checks.c.call_id == call_id)
             .order_by(quality_checks.c.at, quality_checks.c.id))
        with self.engine.connect() as conn:
            return [_check(r) for r in conn.execute(q)]

    def checks(self, query: CheckQuery) -> list[QualityCheck]:
        c = quality_checks.c
        conditions = [
            c.agent_id == query.agent_id if query.agent_id is not None else None,
            c.at >= _utc(query.since) if query.since is not None else None,
            c.at < _utc(query.until) if query.until is not None else None,
        ]
        q = (select(quality_checks).where(*[x for x in conditions if x is not None])
             .order_by(c.at.desc(), c.id.desc()).limit(query.limit).offset(query.offset))
        with self.engine.connect() as conn:
            return [_check(r) for r in conn.execute(q)]


class SupervisorSessionStore:
    """The audit rows of supervisors' listen / whisper / barge sessions: one row opened when
    ChanSpy starts (``start``), closed when it ends (``end``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, session: SupervisorSession) -> SupervisorSession:
        """Write the session's row; the session with its id."""
        with self.engine.begin() as conn:
            result = conn.execute(supervisor_sessions.insert().values(
                supervisor=session.supervisor, supervisor_phone=session.supervisor_phone,
                agent_id=session.agent_id, call_id=session.call_id, mode=session.mode, channel=session.channel,
                started_at=_utc(session.started_at), ended_at=None, end_reason=None))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return SupervisorSession(session.supervisor, session.supervisor_phone, session.agent_id, session.call_id,
                                 session.mode, session.channel, _utc(session.started_at), id=new_id)

    def end(self, session_id: int, at: datetime, reason: str) -> bool:
        """Close an open session; False when it is unknown or was closed already."""
        with self.engine.begin() as conn:
            done = conn.execute(update(supervisor_sessions)
                                .where(supervisor_sessions.c.id == session_id, supervisor_sessions.c.ended_at.is_(None))
                                .values(ended_at=_utc(at), end_reason=reason[:32])).rowcount
        return bool(done)

    def open_sessions(self) -> list[SupervisorSession]:
        """Sessions not ended (after a controller restart: the ones to check against Asterisk)."""
        return self._select(supervisor_sessions.c.ended_at.is_(None))

    def for_call(self, call_id: str) -> list[SupervisorSession]:
        return self._select(supervisor_sessions.c.call_id == call_id)

    def between(self, since: datetime, until: datetime) -> list[SupervisorSession]:
        """Sessions that started in [since, until)."""
        c = supervisor_sessions.c
        return self._select(and_(c.started_at >= _utc(since), c.started_at < _utc(until)))

    def _select(self, condition: Any) -> list[SupervisorSession]:
        c = supervisor_sessions.c
        q = select(supervisor_sessions).where(condition).order_by(c.started_at, c.id)
        with self.engine.connect() as conn:
            return [SupervisorSession(r.supervisor, r.supervisor_phone, r.agent_id, r.call_id, r.mode, r.channel,
                                      _read(r.started_at), _read(r.ended_at), r.end_reason, r.id)  # type: ignore[arg-type]
                    for r in conn.execute(q)]

