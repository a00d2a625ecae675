"""What the recordings and quality-check routes need: the ``Recordings`` port.

Why a port of its own: the routes must not know SQL or where files live. The controller backs
it with ``hotline.api.recordings_sql.SqlRecordings`` (the index, the access log and the checks
in the instance's database), an API built without one with
``hotline.api.recordings_memory.InMemoryRecordings`` (``ApiDeps``' default and the tests').
Both score a check with the same pure rules (``recordings.quality.score_check``).

Times are aware datetimes. Every async method raises ``Unavailable`` when the database does
not answer. Nothing here imports an I/O library or FastAPI.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hotline.api.ports import DeskError
from recordings.model import AccessEntry, AccessQuery, RecordingPart
from recordings.quality import CheckQuery, ItemError, QualityCheck, QualityForm

__all__ = ["AccessEntry", "AccessQuery", "CheckQuery", "InvalidQualityCheck", "QualityCheck", "QualityForm",
           "RecordedCall", "RecordedCallQuery", "RecordingPart", "Recordings"]


class InvalidQualityCheck(DeskError):
    """The check does not fit the form; ``errors`` names each field (HTTP 422)."""

    error_id = "invalid_request"

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__("invalid quality check: " + "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class RecordedCallQuery:
    """Filters of the supervisors' list of recorded calls (each None: any); newest first.
    ``since``/``until`` bound the call's arrival (``until`` exclusive); ``line`` is the
    record's queue; ``checked``: True only calls with a quality check, False only those
    without one."""

    since: datetime | None = None
    until: datetime | None = None
    agent_id: str | None = None
    line: str | None = None
    outcome: str | None = None
    checked: bool | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class RecordedCall:
    """A stored call with at least one indexed recording part (purged ones included): the
    record's fields a reviewer chooses by, its parts (by name) and its quality checks (oldest
    first). ``caller`` is the full number: whoever shows it masks it (the API does)."""

    call_id: str
    caller: str
    dnis: str
    line: str
    language: str
    agent_id: str
    outcome: str
    arrived_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    parts: tuple[RecordingPart, ...] = ()
    checks: tuple[QualityCheck, ...] = ()


class Recordings(Protocol):
    """The recordings index, its access log and the quality checks."""

    def form(self) -> QualityForm:
        """The quality-check form in force (in memory: no I/O after the first use)."""
        ...

    async def parts(self, call_id: str) -> list[RecordingPart]:
        """The call's indexed parts (purged ones too: they say when the file went)."""
        ...

    async def part(self, call_id: str, part: str) -> RecordingPart | None: ...

    async def recorded_calls(self, query: RecordedCallQuery) -> list[RecordedCall]:
        """Stored calls with an indexed part matching ``query``, newest arrival first (then
        call id, descending), each with all its parts and checks."""
        ...

    async def log_access(self, entry: AccessEntry) -> None:
        """Write one access (or refused attempt) to the log; raises when it cannot be written,
        so nothing is served unlogged."""
        ...

    async def access_log(self, query: AccessQuery) -> list[AccessEntry]: ...

    async def call_agent(self, call_id: str) -> str | None:
        """The agent who took the stored call ("" when nobody did); None when it is not stored."""
        ...

    async def add_check(self, check: QualityCheck) -> QualityCheck:
        """Store a scored check; the check with its id."""
        ...

    async def checks_for_call(self, call_id: str) -> list[QualityCheck]:
        """The call's checks, oldest first."""
        ...

    async def checks(self, query: CheckQuery) -> list[QualityCheck]:
        """Checks matching ``query``, newest first."""
        ...
