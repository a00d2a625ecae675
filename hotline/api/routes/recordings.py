"""Call recordings for the daily quality checks: the recorded calls to choose from, a call's
recorded parts, one part's audio (with HTTP Range, so a browser's player can seek), and the
access log.

Who may listen: supervisors and admins. Every request for the audio is written to the access
log (who, their role, play or download, when, from which address) *before* a byte is sent,
and a refused one too (an agent's: ``allowed`` false, then 403); a log that cannot be written
means nothing is served (503). Range requests of one playback are each logged: the log is
what was fetched, not a guess of what was heard. The audio route accepts the session cookie
(a GET: no CSRF header needed), so the review page's ``<audio>`` element plays it.

The list of recorded calls shows each caller's number masked but its last 4 digits: a
reviewer chooses calls by time, line, agent and outcome, not by the citizen's number.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
import asyncio
import os
from datetime import datetime, timezone
from typing import Annotated, BinaryIO, Iterator

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime

from hotline.api.auth import AGENT_ID_PATTERN, Allow, Principal, authenticated
from hotline.api.byte_ranges import Unsatisfiable, parse_range
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.models_recordings import AccessEntryOut, Part, RecordedCallOut, RecordingPartOut
from hotline.api.models_work_orders import CALL_ID
from hotline.api.ports import NotFound
from hotline.api.ports_recordings import RecordedCallQuery
from hotline.api.users import USERNAME
from recordings.model import MEDIA_TYPES, SUFFIXES, AccessEntry, AccessQuery, RecordingPart

Api = Annotated[ApiRuntime, Depends(runtime)]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
Admin = Annotated[Principal, Depends(Allow("admin"))]
CallId = Annotated[str, Path(pattern=CALL_ID, description="the call's id")]
PartName = Annotated[Part, Path(description="call (the conversation) or conference (the three-party room)")]
Download = Annotated[bool, Query(description="as a file to save (Content-Disposition: attachment), logged as a "
                                             "download; otherwise played inline")]
LINE = r"^[A-Za-z0-9_.-]{1,32}$"      # a queue's name
OUTCOME = r"^[a-z_]{1,24}$"
CHUNK = 64 * 1024
AUDIO = {media_type: {} for media_type in sorted(set(MEDIA_TYPES.values()))}


def _now(api: ApiRuntime) -> datetime:
    return datetime.fromtimestamp(api.deps.clock(), tz=timezone.utc)


def _client(request: Request) -> str:
    return (request.client.host if request.client else "")[:64]


class AllowListen(Allow):
    """Dependency of the audio route: supervisors and admins. A logged-in user of another
    role is written to the access log as a refused attempt, then answered 403."""

    async def __call__(  # type: ignore[override]
        self,
        principal: Annotated[Principal, Depends(authenticated)],
        request: Request,
        api: Api,
        call_id: CallId,
        part: PartName,
        download: Download = False,
    ) -> Principal:
        if principal.role in self.roles:
            return principal
        await api.deps.recordings.log_access(AccessEntry(
            call_id, part, principal.username, principal.role, "download" if download else "play", False,
            _now(api), _client(request)))
        raise ApiError(403, "forbidden", f"recordings are for supervisors; not allowed for the {principal.role} role")


Listener = Annotated[Principal, Depends(AllowListen("supervisor", "admin"))]


def _chunks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """The bytes to send, read as they are sent (Starlette iterates this in a worker thread)."""
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _open(found: RecordingPart) -> tuple[BinaryIO, int]:
    handle = open(found.path, "rb")  # noqa: SIM115 (closed by _chunks, or by the caller on error)
    return handle, os.fstat(handle.fileno()).st_size


def _moment(value: datetime | None, name: str) -> datetime | None:
    if value is not None and not 2000 <= value.year <= 2999:
        raise ApiError(422, "invalid_request", f"invalid request: {name}: a time between the years 2000 and 2999")
    return value


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["recordings"])

    @r.get("/recordings", response_model=list[RecordedCallOut], responses=error_responses(401, 403, 422, 503))
    async def recorded_calls(
        _who: Staff, api: Api, request: Request,
        since: Annotated[AwareDatetime | None, Query(alias="from", description="arrived at or after (ISO 8601 "
                                                                                "with offset)")] = None,
        until: Annotated[AwareDatetime | None, Query(alias="to", description="arrived before")] = None,
        agent_id: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN, description="taken by this agent")] = None,
        line: Annotated[str | None, Query(pattern=LINE, description="on this line (queue)")] = None,
        outcome: Annotated[str | None, Query(pattern=OUTCOME, description="answered, transferred, ...")] = None,
        checked: Annotated[bool | None, Query(description="false: only calls without a quality check; true: "
                                                           "only checked ones")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[RecordedCallOut]:
        """Stored calls with a recording, to choose which to review (supervisors and admins):
        newest first, each with its parts (where to play them), whether and how it was
        checked. The caller's number is masked but its last 4 digits (privacy)."""
        query = RecordedCallQuery(since=_moment(since, "from"), until=_moment(until, "to"), agent_id=agent_id,
                                  line=line, outcome=outcome, checked=checked, limit=limit, offset=offset)
        found = await api.deps.recordings.recorded_calls(query)
        return [RecordedCallOut.of(c, {p.part: request.url_for("play_recording", call_id=c.call_id,
                                                                part=p.part).path for p in c.parts})
                for c in found]

    @r.get("/calls/{call_id}/recordings", response_model=list[RecordingPartOut],
           responses=error_responses(401, 403, 422, 503))
    async def list_recordings(_who: Staff, api: Api, request: Request, call_id: CallId) -> list[RecordingPartOut]:
        """The call's recorded parts (none while it goes on, or when nobody answered it);
        purged parts say when the retention policy removed them."""
        parts = await api.deps.recordings.parts(call_id)
        return [RecordingPartOut.of(p, request.url_for("play_recording", call_id=call_id, part=p.part).path)
                for p in parts]

    @r.get("/calls/{call_id}/recordings/{part}", name="play_recording", response_class=Response,
           responses={200: {"description": "the whole recording", "content": AUDIO},
                      206: {"description": "the requested byte range (Content-Range)", "content": AUDIO},
                      **error_responses(401, 403, 404, 416, 422, 503)})
    async def play_recording(who: Listener, api: Api, request: Request, call_id: CallId, part: PartName,
                             download: Download = False) -> Response:
        """The part's audio (Opus in OGG, MP3, or WAV before it is compressed), with
        ``Accept-Ranges: bytes``: one ``Range`` is answered 206, none (or several) 200.
        Logged before it is sent."""
        found = await api.deps.recordings.part(call_id, part)
        if found is None or not found.available:
            raise NotFound(f"call {call_id} has no {part} recording" + ("" if found is None else " any more (purged)"))
        try:
            handle, size = await asyncio.to_thread(_open, found)
        except FileNotFoundError:
            raise NotFound(f"the {part} recording of call {call_id} is not on disk") from None
        try:
            wanted = parse_range(request.headers.get("range"), size)
        except Unsatisfiable as exc:
            handle.close()
            raise ApiError(416, "range_not_satisfiable", f"range not satisfiable: {exc}",
                           {"Content-Range": f"bytes */{size}"}) from None
        try:
            await api.deps.recordings.log_access(AccessEntry(
                call_id, part, who.username, who.role, "download" if download else "play", True, _now(api),
                _client(request)))
        except BaseException:
            handle.close()
            raise
        name = f"{call_id}-{part}{SUFFIXES[found.format]}"
        headers = {"Accept-Ranges": "bytes",
                   "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{name}"'}
        if wanted is None:
            headers["Content-Length"] = str(size)
            return StreamingResponse(_chunks(handle, 0, size), status_code=200, media_type=found.media_type,
                                     headers=headers)
        headers.update({"Content-Length": str(wanted.length), "Content-Range": wanted.content_range})
        return StreamingResponse(_chunks(handle, wanted.start, wanted.length), status_code=206,
                                 media_type=found.media_type, headers=headers)

    @r.get("/recordings/access-log", response_model=list[AccessEntryOut], responses=error_responses(401, 403, 422, 503))
    async def access_log(
        _who: Admin, api: Api,
        call_id: Annotated[str | None, Query(pattern=CALL_ID)] = None,
        username: Annotated[str | None, Query(max_length=32, pattern=f"^{USERNAME.pattern}$")] = None,
        since: Annotated[AwareDatetime | None, Query(alias="from", description="at or after (ISO 8601 with offset)")
                         ] = None,
        until: Annotated[AwareDatetime | None, Query(alias="to", description="before (ISO 8601 with offset)")] = None,
        allowed: Annotated[bool | None, Query(description="false: only refused attempts")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> list[AccessEntryOut]:
        """Who played, downloaded or was refused which recording, and what the retention
        purge removed; newest first (admins)."""
        query = AccessQuery(call_id=call_id, username=username, since=_moment(since, "from"),
                            until=_moment(until, "to"), allowed=allowed, limit=limit, offset=offset)
        return [AccessEntryOut.of(e) for e in await api.deps.recordings.access_log(query)]

    return r
