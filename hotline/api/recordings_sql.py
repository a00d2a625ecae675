"""``SqlRecordings``: the ``Recordings`` port over ``recordings.store.RecordingStore`` (the
instance's database, migrated to 0005), for the composition root to plug into
``ApiDeps.recordings``.

Why an adapter: the store is synchronous (the janitor and the CLI use it as it is); here each
call runs in a worker thread so the event loop never waits on the database, and a database
that does not answer becomes ``Unavailable`` (HTTP 503, and no recording is served unlogged).

The supervisors' list of recorded calls (``recorded_calls``) is a read of its own over the
``calls`` table joined with the recordings index and the quality checks (three queries in one
connection: the page of calls, then their parts and their checks), so the store's janitor
code stays as it is.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Engine, exists, select
from sqlalchemy.exc import InterfaceError, OperationalError

from hotline.api.ports import Unavailable
from hotline.api.ports_recordings import RecordedCall, RecordedCallQuery
from recordings.model import AccessEntry, AccessQuery, RecordingPart
from recordings.quality import SHIPPED_FORM, CheckQuery, QualityCheck, QualityForm, load_form
from recordings.store import RecordingStore, _check, _part, _read, _utc
from sql.schema import calls, quality_checks, recordings

T = TypeVar("T")


class SqlRecordings:
    """Recordings, access log and checks in the database of ``engine``; the form read from
    ``form_path`` now (a bad form stops the start-up, with the file and field named)."""

    def __init__(self, engine: Engine, form_path: Path = SHIPPED_FORM) -> None:
        self.store = RecordingStore(engine)
        self._form = load_form(form_path)

    def form(self) -> QualityForm:
        return self._form

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(work, *args)
        except (OperationalError, InterfaceError) as exc:
            raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc

    async def parts(self, call_id: str) -> list[RecordingPart]:
        return await self._db(self.store.parts, call_id)

    async def part(self, call_id: str, part: str) -> RecordingPart | None:
        return await self._db(self.store.part, call_id, part)

    async def recorded_calls(self, query: RecordedCallQuery) -> list[RecordedCall]:
        return await self._db(self._recorded_calls, query)

    def _recorded_calls(self, query: RecordedCallQuery) -> list[RecordedCall]:
        c = calls.c
        indexed = exists().where(recordings.c.call_id == c.call_id)
        checked = exists().where(quality_checks.c.call_id == c.call_id)
        conditions = [
            indexed,
            c.arrived_at >= _utc(query.since) if query.since is not None else None,
            c.arrived_at < _utc(query.until) if query.until is not None else None,
            c.agent_id == query.agent_id if query.agent_id is not None else None,
            c.queue == query.line if query.line is not None else None,
            c.outcome == query.outcome if query.outcome is not None else None,
            None if query.checked is None else checked if query.checked else ~checked,
        ]
        page = (select(c.call_id, c.caller, c.dnis, c.queue, c.language, c.agent_id, c.outcome, c.arrived_at,
                       c.answered_at, c.ended_at, c.wait_seconds, c.talk_seconds)
                .where(*[x for x in conditions if x is not None])
                .order_by(c.arrived_at.desc(), c.call_id.desc()).limit(query.limit).offset(query.offset))
        with self.store.engine.connect() as conn:
            rows = list(conn.execute(page))
            ids = [r.call_id for r in rows]
            parts: dict[str, list[RecordingPart]] = {i: [] for i in ids}
            checks: dict[str, list[QualityCheck]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(select(recordings).where(recordings.c.call_id.in_(ids))
                                      .order_by(recordings.c.call_id, recordings.c.part)):
                    parts[r.call_id].append(_part(r))
                for r in conn.execute(select(quality_checks).where(quality_checks.c.call_id.in_(ids))
                                      .order_by(quality_checks.c.at, quality_checks.c.id)):
                    checks[r.call_id].append(_check(r))
        return [RecordedCall(call_id=r.call_id, caller=r.caller, dnis=r.dnis, line=r.queue, language=r.language,
                             agent_id=r.agent_id, outcome=r.outcome,
                             arrived_at=_read(r.arrived_at),  # type: ignore[arg-type]
                             answered_at=_read(r.answered_at), ended_at=_read(r.ended_at),
                             wait_seconds=r.wait_seconds, talk_seconds=r.talk_seconds,
                             parts=tuple(parts[r.call_id]), checks=tuple(checks[r.call_id])) for r in rows]

    async def log_access(self, entry: AccessEntry) -> None:
        await self._db(self.store.log_access, entry)

    async def access_log(self, query: AccessQuery) -> list[AccessEntry]:
        return await self._db(self.store.access_log, query)

    async def call_agent(self, call_id: str) -> str | None:
        return await self._db(self.store.call_agent, call_id)

    async def add_check(self, check: QualityCheck) -> QualityCheck:
        return await self._db(self.store.add_check, check)

    async def checks_for_call(self, call_id: str) -> list[QualityCheck]:
        return await self._db(self.store.checks_for_call, call_id)

    async def checks(self, query: CheckQuery) -> list[QualityCheck]:
        return await self._db(self.store.checks, query)
