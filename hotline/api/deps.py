"""What the API is built from (``ApiDeps``, given by the composition root) and the per-app
runtime state it adds (``ApiRuntime``: the login limiter, the stop signal for streams).

Why callables for the directory and the roster: ``hotline reload`` (SIGHUP) swaps the
configuration whole; the API reads the one in force at each request
(``lambda: holder.current.directory``), never a copy taken at start-up.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Collection, Iterator, TypeVar

from fastapi import Request, Response

from hotline.api.config import ApiConfig
from hotline.api.limits import LoginLimiter
from hotline.api.passwords import Passwords
from hotline.api.cases_memory import InMemoryCases
from hotline.api.ports_cases import Cases
from hotline.api.ports import Accounts, AgentDesk, CallDesk, EventFeed
from hotline.api.ports_knowledge import KnowledgeBase
from hotline.api.ports_recordings import Recordings
from hotline.api.ports_reports import Reports
from hotline.api.ports_supervision import SupervisionDesk
from hotline.api.ports_wallboard import Wallboard
from hotline.api.ports_work_orders import WorkOrders
from hotline.api.recordings_memory import InMemoryRecordings
from hotline.api.reports_memory import InMemoryReports
from hotline.api.wallboard_memory import InMemoryWallboard
from hotline.supervision.memory import InMemorySupervision
from hotline.api.work_orders_memory import InMemoryWorkOrders
from knowledge.memory import shipped_knowledge
from outbound.agencies import Directory

T = TypeVar("T")


@dataclass(frozen=True)
class ApiDeps:
    """Everything the API talks to. ``clock`` gives epoch seconds (sessions, limits);
    ``local_now`` the local wall time (an agency's office hours)."""

    agents: AgentDesk
    calls: CallDesk
    events: EventFeed
    users: Accounts
    directory: Callable[[], Directory]
    roster_ids: Callable[[], Collection[str]]
    config: ApiConfig = field(default_factory=ApiConfig)
    passwords: Passwords = field(default_factory=Passwords)
    clock: Callable[[], float] = time.time
    local_now: Callable[[], datetime] = datetime.now
    # the call takers' knowledge base; default: the shipped articles in memory, read at first use
    knowledge: KnowledgeBase = field(default_factory=shipped_knowledge)
    # work orders (工单); default: in memory, with the shipped taxonomy read at first use
    work_orders: WorkOrders = field(default_factory=InMemoryWorkOrders.shipped)
    # recordings, their access log and the quality checks; default: in memory, the shipped form read at first use
    recordings: Recordings = field(default_factory=InMemoryRecordings.shipped)
    # KPIs and reports; default: no calls, in memory, the shipped taxonomy read at first use
    reports: Reports = field(default_factory=InMemoryReports.shipped)
    # supervisors' listen / whisper / barge; default: no phones and no calls (nothing to step into)
    supervision: SupervisionDesk = field(default_factory=InMemorySupervision)
    # the supervisors' live wallboard; default: in memory, empty (shipped queues and alert rules read at first use)
    wallboard: Wallboard = field(default_factory=InMemoryWallboard.idle)
    # cases after the call (agencies, follow-ups, supervision); default: in memory, the shipped rules read at first use
    cases: Cases = field(default_factory=InMemoryCases.shipped)
    # a call's operation that meets 409 not_here goes to the controller holding the call
    # (hotline/api/forwarding.py); None: one controller, nothing to forward to
    forward: Callable[[Request, str], Awaitable[Response | None]] | None = None


class ApiRuntime:
    """One app's state: its deps, the failed-login counts, and the stop signal of open event
    streams (``stop_streams``, called by ``serve_api`` on shutdown, so a browser's open
    stream never holds the server up).

    No asyncio object lives here beyond a request: each stream makes its own Event in the
    loop that serves it (an app may be served by more than one loop in tests)."""

    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.limiter = LoginLimiter(deps.config.login_limits)
        self.stopping = False
        self._stop_events: set[asyncio.Event] = set()

    def stop_streams(self) -> None:
        """End every open event stream, and any opened from now on."""
        self.stopping = True
        for event in list(self._stop_events):
            event.set()

    @contextlib.contextmanager
    def stop_signal(self) -> Iterator[asyncio.Event]:
        """An Event set when the streams must stop (already set when they must)."""
        event = asyncio.Event()
        if self.stopping:
            event.set()
        self._stop_events.add(event)
        try:
            yield event
        finally:
            self._stop_events.discard(event)

    async def accounts(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a (blocking) accounts method in a worker thread."""
        return await asyncio.to_thread(method, *args, **kwargs)


def runtime(request: Request) -> ApiRuntime:
    """Dependency: the app's runtime (``app.state.api``)."""
    api = request.app.state.api
    assert isinstance(api, ApiRuntime)
    return api
