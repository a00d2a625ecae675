"""The supervisors' live wallboard (监控大屏): ``GET /wallboard`` (the snapshot) and
``GET /wallboard/events`` (Server-Sent Events: a new snapshot on every change). Supervisors
and admins; an agent gets 403 (the wall shows every line's load and every seat's state).

The stream: a comment ``connected`` (with the browser's reconnect delay), then an
``event: snapshot`` whose data is the same JSON as ``GET /wallboard``, again on every change
of the wall's sources (``Wallboard.changes``), at most every ``MIN_GAP`` seconds (changes in
between are folded into one snapshot) and at least every ``MAX_GAP`` seconds (waiting times
and times in state go on, and a figure computed from the stored records may change without
a live change). A snapshot that cannot be made (the live state does not answer) is an
``event: unavailable`` with the error id; the stream goes on and tries again. At each
``heartbeat_seconds`` the session is checked again: a logout or an expiry ends the stream
with ``event: session_ended``. The stream ends when the wall's change feed ends (the
in-memory wall of an API built without a controller: nothing will change) or the server
stops; a browser's ``EventSource`` then reconnects by itself.
"""
# No ``from __future__ import annotations``: FastAPI must see the annotations as objects.
import asyncio
import contextlib
import logging
from typing import Annotated, Any, AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.auth import Allow, Principal, check_session
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.ports import DeskError

Api = Annotated[ApiRuntime, Depends(runtime)]
Staff = Annotated[Principal, Depends(Allow("supervisor", "admin"))]
MIN_GAP = 0.5   # seconds between two snapshots of the stream, at least
MAX_GAP = 5.0   # ... and at most
RETRY_MS = 2000  # the browser's reconnect delay after the stream ended or broke
_END = object()
log = logging.getLogger(__name__)


# -- the snapshot's shape (hotline/wallboard/board.py builds it) ---------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiguresOut(_Out):
    """KPIs of a set of calls (kpi/definitions.py): counts, ratios 0..1, seconds; a ratio
    with nothing to divide by is null (null everywhere before the first computation)."""

    offered: int | None = Field(description="calls that reached the queue")
    answered: int | None
    abandoned: int | None = Field(description="callers who hung up before an answer (callbacks never)")
    short_abandoned: int | None = Field(description="abandoned after less than the short-abandon threshold")
    callbacks_requested: int | None
    connect_rate: float | None = Field(description="answered / (offered - callbacks); GB/T 33358 (>= 95 %)")
    connect_rate_excl_short: float | None
    abandon_rate: float | None
    service_level: float | None = Field(description="answered within the line's sl_target seconds / answered")
    asa: float | None = Field(description="mean wait of answered calls, seconds")


class WaitingOut(_Out):
    call_id: str
    queued_at: float = Field(description="when the caller entered the line (epoch seconds)")
    waited: float = Field(description="seconds waited at the snapshot's time")
    language: str
    skills: list[str]
    priority: int
    offered: bool = Field(description="an agent's phone rings for this caller (not answered yet)")
    agent: str | None


class LineOut(_Out):
    line: str
    title: str
    sl_target_seconds: float | None = Field(description="answer within this many seconds (queues.yaml)")
    sl_goal: float = Field(description="the service level the line must reach (alerts.yaml)")
    waiting: list[WaitingOut] = Field(description="callers not answered yet, longest first")
    waiting_count: int
    offered_count: int
    longest_wait: float | None
    callbacks: int = Field(description="callback requests of the line waiting for their turn")
    today: FiguresOut
    last_15m: FiguresOut


class TotalsOut(_Out):
    waiting: int
    offered: int
    longest_wait: float | None
    callbacks: int
    today: FiguresOut
    last_15m: FiguresOut


class WallAgentOut(_Out):
    agent_id: str
    state: str
    since: float
    in_state: float = Field(description="seconds in the state at the snapshot's time")
    pause_reason: str | None
    pause_pending: str | None = Field(description="a pause that starts when the call's wrap-up ends")
    call_id: str | None
    line: str | None
    calls_taken: int
    wrap_until: float | None


class CallbackOut(_Out):
    call_id: str
    line: str
    queued_at: float
    waited: float
    attempts: int = Field(description="tries the citizen did not answer")
    not_before: float | None = Field(description="a retry waits until then")
    due: bool
    offered: bool
    agent: str | None


class RollingOut(_Out):
    start: float
    end: float
    offered: int = Field(description="calls offered less booked callbacks")
    answered: int
    short_abandoned: int
    connect_rate: float | None
    connect_rate_excl_short: float | None
    goal: float


class CategoryOut(_Out):
    code: str
    name_zh: str
    name_en: str
    last_hour: int
    usual: float = Field(description="mean calls in the same hour of the previous days")
    ratio: float | None


class AlertOut(_Out):
    kind: str = Field(description="service_level, connect_rate, hot_topic or long_wait")
    severity: str = Field(description="critical or warning")
    line: str | None
    category: str | None
    value: float
    threshold: float
    details: dict[str, Any]


class WallboardOut(_Out):
    at: float = Field(description="the snapshot's time (epoch seconds, the server's clock)")
    day_start: float
    kpi_as_of: float | None = Field(description="when the figures of the stored records were computed")
    kpi_stale: bool = Field(description="the last computation failed: the figures are older")
    lines: list[LineOut]
    totals: TotalsOut
    agents: list[WallAgentOut]
    agents_by_state: dict[str, int]
    callbacks: list[CallbackOut]
    rolling_24h: RollingOut
    categories: list[CategoryOut] = Field(description="calls per work-order category in the last hour, busiest first")
    alerts: list[AlertOut] = Field(description="most severe first")


# -- the stream ----------------------------------------------------------------------------------

async def _next(changes: AsyncIterator[Any]) -> Any:
    try:
        return await anext(changes)
    except StopAsyncIteration:
        return _END
    except Exception:
        log.exception("the wallboard's change feed failed; its stream ends")
        return _END


async def _still_logged_in(api: ApiRuntime, token_hash: str) -> bool:
    try:
        await check_session(api, token_hash)
    except ApiError:
        return False
    except DeskError:  # the database does not answer: keep the stream, check again later
        return True
    return True


async def _snapshot_event(api: ApiRuntime, seq: int) -> ServerSentEvent:
    try:
        snapshot = await api.deps.wallboard.snapshot(api.deps.clock())
        body = WallboardOut.model_validate(snapshot).model_dump(mode="json")
    except DeskError as exc:
        return ServerSentEvent(event="unavailable", data={"error": exc.error_id, "message": exc.message})
    except Exception:
        log.exception("wallboard snapshot failed")
        return ServerSentEvent(event="unavailable", data={"error": "internal", "message": "the snapshot failed"})
    return ServerSentEvent(event="snapshot", data=body, id=str(seq))


async def wallboard_stream(api: ApiRuntime, principal: Principal) -> AsyncIterator[ServerSentEvent]:
    """The stream's events (see the module's docstring)."""
    with api.stop_signal() as stop:
        async with contextlib.aclosing(_stream(api, principal, stop)) as stream:
            async for item in stream:
                yield item


async def _stream(api: ApiRuntime, principal: Principal, stop: asyncio.Event) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    changes = api.deps.wallboard.changes()
    stopping = asyncio.ensure_future(stop.wait())
    pending: asyncio.Future[Any] | None = asyncio.ensure_future(_next(changes))
    checked = loop.time()
    seq = 0
    try:
        yield ServerSentEvent(comment="connected", retry=RETRY_MS)
        ended = False
        while not ended:
            seq += 1
            yield await _snapshot_event(api, seq)
            sent, dirty = loop.time(), False
            while True:
                timeout = max(0.0, sent + (MIN_GAP if dirty else MAX_GAP) - loop.time())
                waits = {stopping} if pending is None else {pending, stopping}
                done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if stopping in done:
                    return
                if pending is not None and pending in done:
                    result, pending = pending.result(), None
                    if result is _END:
                        ended = True
                        if not dirty:
                            return
                        break
                    dirty = True
                    pending = asyncio.ensure_future(_next(changes))
                    if loop.time() - sent < MIN_GAP:
                        continue
                break  # a change after the gap, the gap after a change, or the longest gap
            if loop.time() - checked >= api.deps.config.heartbeat_seconds:
                checked = loop.time()
                if not await _still_logged_in(api, principal.token_hash):
                    yield ServerSentEvent(event="session_ended", data={"reason": "logged out or expired"})
                    return
    finally:
        tasks = {stopping} | ({pending} if pending is not None else set())
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)  # the feed's generator must be idle to be closed
        closing = getattr(changes, "aclose", None)
        if closing is not None:
            with contextlib.suppress(Exception):
                await closing()


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(prefix="/wallboard", tags=["wallboard"])

    @r.get("", response_model=WallboardOut, responses=error_responses(401, 403, 503))
    async def wallboard(_who: Staff, api: Api) -> WallboardOut:
        """The wall now: per line the waiting callers and their waits, today's and the last
        15 minutes' KPIs with the line's target; agents by state with their time in state;
        pending callbacks; the rolling 24-hour connect rate; hot topics; alerts
        (supervisors and admins)."""
        return WallboardOut.model_validate(await api.deps.wallboard.snapshot(api.deps.clock()))

    @r.get("/events", response_class=EventSourceResponse, responses=error_responses(401, 403, streaming=True))
    async def wallboard_events(who: Staff, api: Api) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events: ``snapshot`` (the JSON of ``GET /wallboard``) on every change,
        at most every 0.5 s and at least every 5 s; ``unavailable`` when a snapshot cannot be
        made; ``session_ended`` before the stream closes on logout (supervisors and admins)."""
        async for item in wallboard_stream(api, who):
            yield item

    return r
