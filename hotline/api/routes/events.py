"""``GET /agents/{agent_id}/events``: a Server-Sent Events stream of the agent's state
changes and call events (the agent themselves, or a supervisor).

Why SSE: one direction is all a desk needs (commands go through the other routes), it is
plain HTTP through any proxy, and a browser's ``EventSource`` reconnects by itself. The
browser cannot set headers on it, so it authenticates with the session cookie (a GET needs
no CSRF header). Each event's ``event:`` is its ``kind``; its ``data:`` is the event as
JSON. A comment line goes out every ``heartbeat_seconds`` without an event (proxies close
silent connections), and at each one the session is checked again: a session that expired
or was logged out ends the stream with an ``event: session_ended``. The stream also ends
when the feed ends or the server stops.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Annotated, Any, AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from hotline.api.auth import AgentAccess, AllowAgent, check_session
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiRuntime, runtime
from hotline.api.errors import ApiError, error_responses
from hotline.api.ports import DeskError

Api = Annotated[ApiRuntime, Depends(runtime)]
SelfOrSupervisor = Annotated[AgentAccess, Depends(AllowAgent("supervisor"))]
_END = object()
_KIND = re.compile(r"[A-Za-z0-9_.-]{1,64}")
log = logging.getLogger(__name__)


async def _next(events: AsyncIterator[dict[str, Any]], agent_id: str) -> Any:
    """The feed's next event, or _END when it ended or failed (a failure is logged: the
    client's EventSource reconnects and subscribes again)."""
    try:
        return await anext(events)
    except StopAsyncIteration:
        return _END
    except Exception:
        log.exception("event feed of agent %s failed; its stream ends", agent_id)
        return _END


def _kind(event: dict[str, Any]) -> str:
    """The ``event:`` line: the event's kind when it is a plain name, else ``message``."""
    kind = str(event.get("kind", ""))
    return kind if _KIND.fullmatch(kind) else "message"


async def _still_logged_in(api: ApiRuntime, token_hash: str) -> bool:
    try:
        await check_session(api, token_hash)
    except ApiError:
        return False
    except DeskError:  # the database does not answer: keep the stream, check again later
        return True
    return True


async def event_stream(api: ApiRuntime, access: AgentAccess) -> AsyncIterator[ServerSentEvent]:
    """The stream's events, heartbeats and end (see the module's docstring)."""
    with api.stop_signal() as stop:
        async with contextlib.aclosing(_stream(api, access, stop)) as stream:
            async for item in stream:
                yield item


async def _stream(api: ApiRuntime, access: AgentAccess, stop: asyncio.Event) -> AsyncIterator[ServerSentEvent]:
    events = api.deps.events.subscribe(access.agent_id)
    stopping = asyncio.ensure_future(stop.wait())
    pending: asyncio.Future[Any] = asyncio.ensure_future(_next(events, access.agent_id))
    try:
        yield ServerSentEvent(comment="connected")
        while True:
            done, _ = await asyncio.wait({pending, stopping}, timeout=api.deps.config.heartbeat_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                return
            if pending not in done:
                if not await _still_logged_in(api, access.principal.token_hash):
                    yield ServerSentEvent(event="session_ended", data={"reason": "logged out or expired"})
                    return
                yield ServerSentEvent(comment="heartbeat")
                continue
            event = pending.result()
            if event is _END:
                return
            yield ServerSentEvent(event=_kind(event), data=event)
            pending = asyncio.ensure_future(_next(events, access.agent_id))
    finally:
        for task in (pending, stopping):
            task.cancel()
        await asyncio.wait({pending, stopping})  # the feed's generator must be idle to be closed
        closing = getattr(events, "aclose", None)
        if closing is not None:
            with contextlib.suppress(Exception):
                await closing()


def router(_config: ApiConfig) -> APIRouter:
    r = APIRouter(tags=["events"])

    @r.get("/agents/{agent_id}/events", response_class=EventSourceResponse,
           responses=error_responses(401, 403, 422, 503, streaming=True))
    async def agent_events(access: SelfOrSupervisor, api: Api) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events: ``agent_state`` and ``call`` events of the agent, a comment
        as heartbeat every 15 s, ``session_ended`` before the stream closes on logout."""
        async for item in event_stream(api, access):
            yield item

    return r
