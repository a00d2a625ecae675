"""``InMemoryRecordings``: the ``Recordings`` port in lists and dicts, same rules as the SQL one.

Why: an API built without a database (``ApiDeps``' default, a demo, the API's tests) still
answers the recordings and quality routes: parts are whatever ``add_part`` was given (files
on disk, served like the SQL port's), stored calls whatever ``add_call`` (or ``add_record``,
a call record's fields) was given, and the access log and the checks are kept in order. The
list of recorded calls follows the SQL port's rules: a stored call with at least one part,
filtered and ordered the same way. ``shipped()`` reads the shipped form on first
use, not when it is built (an ``ApiDeps`` is built in many tests that never check a call).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from hotline.api.ports import Unavailable
from hotline.api.ports_recordings import RecordedCall, RecordedCallQuery
from recordings.model import AccessEntry, AccessQuery, RecordingPart
from recordings.quality import SHIPPED_FORM, CheckQuery, QualityCheck, QualityForm, load_form


class InMemoryRecordings:
    """``form`` is called on first use and kept."""

    def __init__(self, form: Callable[[], QualityForm]) -> None:
        self._load_form = form
        self._form: QualityForm | None = None
        self._lock = threading.Lock()
        self.recordings: dict[tuple[str, str], RecordingPart] = {}
        self.calls: dict[str, str] = {}          # call id -> agent id
        self.stored: dict[str, RecordedCall] = {}  # call id -> the record's fields (no parts, no checks)
        self.accesses: list[AccessEntry] = []
        self.quality: list[QualityCheck] = []
        self.down = False                       # True: every call raises Unavailable (a lost database)

    @classmethod
    def shipped(cls, form_path: Path = SHIPPED_FORM) -> "InMemoryRecordings":
        return cls(lambda: load_form(form_path))

    def form(self) -> QualityForm:
        with self._lock:
            if self._form is None:
                self._form = self._load_form()
            return self._form

    def _check_up(self) -> None:
        if self.down:
            raise Unavailable("the database does not answer (in-memory recordings set down)")

    def add_part(self, part: RecordingPart) -> None:
        self.recordings[(part.call_id, part.part)] = part

    def add_call(self, call_id: str, agent_id: str, **fields: Any) -> None:
        """A stored call taken by ``agent_id`` ("" nobody); ``fields``: the other fields of
        ``RecordedCall`` (caller, line, outcome, arrived_at, ...) for the list of recorded calls."""
        self.calls[call_id] = agent_id
        values: dict[str, Any] = {
            "caller": "", "dnis": "", "line": "", "language": "", "outcome": "answered" if agent_id else "abandoned",
            "arrived_at": datetime.fromtimestamp(0, timezone.utc), "answered_at": None, "ended_at": None,
            "wait_seconds": None, "talk_seconds": None, **fields}
        self.stored[call_id] = RecordedCall(call_id=call_id, agent_id=agent_id, **values)

    def add_record(self, record: Any) -> None:
        """A stored call from a call record (``calls.records.CallRecord``'s fields, times in
        epoch seconds), as the SQL store keeps it."""
        def at(ts: float | None) -> datetime | None:
            return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)

        self.add_call(record.call_id, record.agent_id, caller=record.caller, dnis=record.dnis, line=record.queue,
                      language=record.language, outcome=record.outcome, arrived_at=at(record.arrived_at),
                      answered_at=at(record.answered_at), ended_at=at(record.ended_at),
                      wait_seconds=record.wait_seconds, talk_seconds=record.talk_seconds)

    async def parts(self, call_id: str) -> list[RecordingPart]:
        self._check_up()
        return sorted((p for (c, _), p in self.recordings.items() if c == call_id), key=lambda p: p.part)

    async def part(self, call_id: str, part: str) -> RecordingPart | None:
        self._check_up()
        return self.recordings.get((call_id, part))

    async def recorded_calls(self, query: RecordedCallQuery) -> list[RecordedCall]:
        self._check_up()
        found = []
        for call in self.stored.values():
            parts = sorted((p for (c, _), p in self.recordings.items() if c == call.call_id), key=lambda p: p.part)
            checks = sorted((c for c in self.quality if c.call_id == call.call_id), key=lambda c: (c.at, c.id or 0))
            if (parts
                    and (query.since is None or call.arrived_at >= query.since)
                    and (query.until is None or call.arrived_at < query.until)
                    and (query.agent_id is None or call.agent_id == query.agent_id)
                    and (query.line is None or call.line == query.line)
                    and (query.outcome is None or call.outcome == query.outcome)
                    and (query.checked is None or bool(checks) == query.checked)):
                found.append(replace(call, parts=tuple(parts), checks=tuple(checks)))
        found.sort(key=lambda c: (c.arrived_at, c.call_id), reverse=True)
        return found[query.offset:query.offset + query.limit]

    async def log_access(self, entry: AccessEntry) -> None:
        self._check_up()
        self.accesses.append(replace(entry, id=len(self.accesses) + 1))

    async def access_log(self, query: AccessQuery) -> list[AccessEntry]:
        self._check_up()
        found = [e for e in self.accesses
                 if (query.call_id is None or e.call_id == query.call_id)
                 and (query.username is None or e.username == query.username)
                 and (query.since is None or e.at >= query.since)
                 and (query.until is None or e.at < query.until)
                 and (query.allowed is None or e.allowed == query.allowed)]
        found.sort(key=lambda e: (e.at, e.id or 0), reverse=True)
        return found[query.offset:query.offset + query.limit]

    async def call_agent(self, call_id: str) -> str | None:
        self._check_up()
        return self.calls.get(call_id)

    async def add_check(self, check: QualityCheck) -> QualityCheck:
        self._check_up()
        stored = replace(check, id=len(self.quality) + 1)
        self.quality.append(stored)
        return stored

    async def checks_for_call(self, call_id: str) -> list[QualityCheck]:
        self._check_up()
        return sorted((c for c in self.quality if c.call_id == call_id), key=lambda c: (c.at, c.id or 0))

    async def checks(self, query: CheckQuery) -> list[QualityCheck]:
        self._check_up()
        found = [c for c in self.quality
                 if (query.agent_id is None or c.agent_id == query.agent_id)
                 and (query.since is None or c.at >= query.since)
                 and (query.until is None or c.at < query.until)]
        found.sort(key=lambda c: (c.at, c.id or 0), reverse=True)
        return found[query.offset:query.offset + query.limit]
