"""The values the recordings code passes around: a recorded part of a call, an access to it,
a supervisor's listen/whisper/barge session. Pure data (no I/O), shared by the SQL store,
the janitor, the API's port and its in-memory implementation, so they cannot disagree on
what a recording is.

Times are aware datetimes (UTC when they come from the store).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Mapping

Part = Literal["call", "conference"]
PARTS: tuple[Part, ...] = ("call", "conference")
Format = Literal["wav", "opus", "mp3"]
Action = Literal["play", "download", "purge"]
ACTIONS: tuple[Action, ...] = ("play", "download", "purge")
Mode = Literal["listen", "whisper", "barge"]
MODES: tuple[Mode, ...] = ("listen", "whisper", "barge")

# What a browser is told it receives: Opus in an OGG container plays in every current browser
# (Safari since 17), MP3 everywhere, WAV too (large).
MEDIA_TYPES: Mapping[str, str] = {"opus": "audio/ogg", "mp3": "audio/mpeg", "wav": "audio/wav"}
SUFFIXES: Mapping[str, str] = {"opus": ".ogg", "mp3": ".mp3", "wav": ".wav"}


@dataclass(frozen=True)
class RecordingPart:
    """One recorded part of a call, as indexed. ``path`` is the file on the controller's
    host: the WAV until it was compressed, then the compressed file."""

    call_id: str
    part: Part
    path: str
    format: Format
    bytes: int
    seconds: float | None
    created_at: datetime
    compressed_at: datetime | None = None
    purged_at: datetime | None = None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def available(self) -> bool:
        """Still on disk (not purged by the retention policy)."""
        return self.purged_at is None


@dataclass(frozen=True)
class AccessEntry:
    """One access to a recording (or a refused attempt: ``allowed`` False); ``id`` is given
    by the store."""

    call_id: str
    part: str
    username: str
    role: str
    action: Action
    allowed: bool
    at: datetime
    client: str = ""
    id: int | None = None


@dataclass(frozen=True)
class AccessQuery:
    """Filters of the access log (each None: any); newest first."""

    call_id: str | None = None
    username: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    allowed: bool | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class SupervisorSession:
    """A supervisor's listen / whisper / barge on a call taker's call (ChanSpy), for audit."""

    supervisor: str
    supervisor_phone: str
    agent_id: str
    call_id: str
    mode: Mode
    channel: str
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    id: int | None = None


def part_files(recording: str, attrs: Mapping[str, object]) -> list[tuple[Part, str]]:
    """The recorded parts a call record names: its own recording and, for a three-party
    call, the room's (``attrs.conference_recording``); paths as the record holds them."""
    found: list[tuple[Part, str]] = []
    if recording:
        found.append(("call", recording))
    room = attrs.get("conference_recording") if isinstance(attrs, Mapping) else None
    if isinstance(room, str) and room:
        found.append(("conference", room))
    return found
