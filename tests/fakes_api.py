"""In-process fakes of the HTTP API's ports (``hotline/api/ports.py``), with real behaviour.

Why not mocks: a mock accepts any call; these keep state and refuse what the real services
refuse. ``FakeAgentDesk`` runs the agents' real state machine (``agents.state.apply``);
``FakeCallDesk`` keeps each agent's call and a small three-party state machine (the real
one will live with the call sessions); ``FakeEventFeed`` delivers what a test pushes. Each
records what it was asked (``asked``), so a test can check that a route reached it, with
which arguments. ``down = True`` makes a fake raise ``Unavailable`` like a lost Redis.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Callable, Iterable

import httpx

from agents.state import (AgentRecord, AgentState, Event, ForceLogOut, IllegalTransition, LogIn, LogOut, Pause,
                          Unpause, apply)
from hotline.api.cases_memory import InMemoryCases
from hotline.api.config import ApiConfig
from hotline.api.deps import ApiDeps
from hotline.api.passwords import Passwords
from hotline.api.ports import IllegalOperation, NoCurrentCall, NotFound, NotYourCall, Unavailable
from hotline.api.users import InMemoryUserStore
from hotline.settings import PROJECT_ROOT
from outbound.agencies import Directory, load_directory

ROSTER = ("1001", "1002", "1003", "1004")
DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
MONDAY_10 = datetime(2026, 11, 30, 10, 0)   # offices open
MONDAY_22 = datetime(2026, 11, 30, 22, 0)   # offices closed, duty lines only


class ManualClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeAgentDesk:
    """The agents of ``roster`` in memory, changed by the real state machine."""

    def __init__(self, roster: Iterable[str], clock: Callable[[], float]) -> None:
        self.clock = clock
        self.records = {agent_id: AgentRecord(agent_id=agent_id, since=clock()) for agent_id in roster}
        self.asked: list[tuple[str, str, tuple[Any, ...]]] = []
        self.down = False

    def _get(self, agent_id: str) -> AgentRecord:
        if self.down:
            raise Unavailable("live state does not answer (fake Redis down)")
        if agent_id not in self.records:
            raise NotFound(f"no agent {agent_id}")
        return self.records[agent_id]

    def _apply(self, agent_id: str, *events: Event) -> AgentRecord:
        record = self._get(agent_id)
        try:
            for event in events:
                record = apply(record, event, self.clock())
        except IllegalTransition as exc:
            raise IllegalOperation(str(exc)) from exc
        self.records[agent_id] = record
        return record

    async def state(self, agent_id: str) -> AgentRecord:
        self.asked.append(("state", agent_id, ()))
        return self._get(agent_id)

    async def states(self) -> list[AgentRecord]:
        self.asked.append(("states", "", ()))
        if self.down:
            raise Unavailable("live state does not answer (fake Redis down)")
        return [self.records[k] for k in sorted(self.records)]

    async def log_in(self, agent_id: str, paused: str | None = None) -> AgentRecord:
        self.asked.append(("log_in", agent_id, (paused,)))
        if self._get(agent_id).state is not AgentState.LOGGED_OUT:
            return self.records[agent_id]
        return self._apply(agent_id, LogIn(), *([Pause(paused)] if paused else []))

    async def ready(self, agent_id: str) -> AgentRecord:
        self.asked.append(("ready", agent_id, ()))
        if self._get(agent_id).state is AgentState.AVAILABLE:
            return self.records[agent_id]
        return self._apply(agent_id, Unpause())

    async def pause(self, agent_id: str, reason: str) -> AgentRecord:
        self.asked.append(("pause", agent_id, (reason,)))
        return self._apply(agent_id, Pause(reason))

    async def log_out(self, agent_id: str) -> AgentRecord:
        self.asked.append(("log_out", agent_id, ()))
        return self._apply(agent_id, LogOut())

    async def force_log_out(self, agent_id: str, reason: str) -> AgentRecord:
        self.asked.append(("force_log_out", agent_id, (reason,)))
        return self._apply(agent_id, ForceLogOut(reason))

    async def ping(self) -> bool:
        return not self.down


# The fake's three-party machine: three_party state -> operation -> new state (None = the
# agent is no longer on the call; "" = back to a two-party call).
_THREE_PARTY: dict[str, dict[str, str | None]] = {
    "": {"consult": "consulting", "conference": "conference", "transfer": None},
    "consulting": {"join": "conference", "cancel": "", "hangup_agency": "", "complete_transfer": None},
    "conference": {"leave": None, "hangup_agency": ""},
}


# The legs table's event names (calls/legs.py) of the desk operations, as ``allowed`` lists them.
_LEG_EVENT = {"consult": "Consult", "conference": "Conference", "transfer": "BlindTransfer", "join": "Join",
              "leave": "Leave", "cancel": "CancelConsult", "hangup_agency": "HangUpAgency",
              "complete_transfer": "CompleteTransfer"}


def _with_allowed(view: dict[str, Any]) -> dict[str, Any]:
    """The view as the live desk gives it: with the operations allowed now."""
    current = (view.get("three_party") or {}).get("state", "")
    allowed = sorted(_LEG_EVENT[op] for op in _THREE_PARTY.get(current, {}))
    three = view.get("three_party")
    return {**view, "allowed": allowed, "three_party": {**three, "allowed": allowed} if three else None}


class FakeCallDesk:
    """One call per agent at most (``give_call``), with the machine above."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.calls: dict[str, dict[str, Any]] = {}
        self.asked: list[tuple[str, str, str, tuple[Any, ...]]] = []
        self.down = False

    def give_call(self, agent_id: str, call_id: str = "1700000000.1", caller: str = "13800000001",
                  queue: str = "main", language: str = "zh") -> None:
        self.calls[agent_id] = {"call_id": call_id, "caller": caller, "queue": queue, "language": language,
                                "state": "answered", "since": self.clock(), "three_party": None}

    async def current_call(self, agent_id: str) -> dict[str, Any] | None:
        if self.down:
            raise Unavailable("fake Asterisk down")
        view = self.calls.get(agent_id)
        return None if view is None else _with_allowed(view)

    def _step(self, op: str, agent_id: str, call_id: str, args: tuple[Any, ...],
              agency: tuple[str, str] | None = None) -> dict[str, Any]:
        self.asked.append((op, agent_id, call_id, args))
        if self.down:
            raise Unavailable("fake Asterisk down")
        view = self.calls.get(agent_id)
        if view is None:
            raise NoCurrentCall(f"agent {agent_id} has no call")
        if view["call_id"] != call_id:
            raise NotYourCall(f"call {call_id} is not agent {agent_id}'s")
        current = (view["three_party"] or {}).get("state", "")
        if op not in _THREE_PARTY.get(current, {}):
            raise IllegalOperation(f"{op} is not possible while the call is {current or 'two-party'}")
        after = _THREE_PARTY[current][op]
        if after is None:
            del self.calls[agent_id]
            return {**view, "state": "left", "three_party": None}
        if after == "":
            view["three_party"] = None
        elif agency is not None:
            view["three_party"] = {"state": after, "agency_id": agency[0], "number": agency[1], "since": self.clock()}
        else:
            view["three_party"] = {**view["three_party"], "state": after}
        return _with_allowed(view)

    async def consult(self, agent_id: str, call_id: str, agency_id: str, numbers: tuple[str, ...]) -> dict[str, Any]:
        return self._step("consult", agent_id, call_id, (agency_id, numbers), (agency_id, numbers[0]))

    async def conference(self, agent_id: str, call_id: str, agency_id: str,
                         numbers: tuple[str, ...]) -> dict[str, Any]:
        return self._step("conference", agent_id, call_id, (agency_id, numbers), (agency_id, numbers[0]))

    async def join(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return self._step("join", agent_id, call_id, ())

    async def leave(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return self._step("leave", agent_id, call_id, ())

    async def cancel(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return self._step("cancel", agent_id, call_id, ())

    async def hangup_agency(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return self._step("hangup_agency", agent_id, call_id, ())

    async def transfer(self, agent_id: str, call_id: str, agency_id: str, numbers: tuple[str, ...],
                       mode: str) -> dict[str, Any]:
        return self._step("transfer", agent_id, call_id, (agency_id, numbers, mode), (agency_id, numbers[0]))

    async def complete_transfer(self, agent_id: str, call_id: str) -> dict[str, Any]:
        return self._step("complete_transfer", agent_id, call_id, ())


class FakeEventFeed:
    """Delivers ``push``ed events to every subscriber of the agent. ``finite``: a
    subscription ends once it has nothing more to deliver (a stream that closes by itself,
    for clients that read a whole response); ``end(agent_id)`` ends the open ones."""

    def __init__(self, finite: bool = False) -> None:
        self.finite = finite
        self.queues: dict[str, list[asyncio.Queue[dict[str, Any] | None]]] = {}
        self.opened = 0
        self.closed = 0

    def subscribers(self, agent_id: str) -> int:
        return len(self.queues.get(agent_id, []))

    def push(self, agent_id: str, event: dict[str, Any]) -> None:
        for queue in self.queues.get(agent_id, []):
            queue.put_nowait(event)

    def end(self, agent_id: str) -> None:
        for queue in self.queues.get(agent_id, []):
            queue.put_nowait(None)

    async def subscribe(self, agent_id: str) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.queues.setdefault(agent_id, []).append(queue)
        self.opened += 1
        try:
            while True:
                if self.finite and queue.empty():
                    return
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self.queues[agent_id].remove(queue)
            self.closed += 1


@dataclass
class World:
    """The fakes behind one app, for tests to steer."""

    clock: ManualClock = field(default_factory=ManualClock)
    users: InMemoryUserStore = field(default_factory=InMemoryUserStore)
    agents: FakeAgentDesk = None  # type: ignore[assignment]
    calls: FakeCallDesk = None  # type: ignore[assignment]
    events: FakeEventFeed = field(default_factory=FakeEventFeed)
    directory: Directory = DIRECTORY
    local_now: datetime = MONDAY_10
    config: ApiConfig = field(default_factory=ApiConfig)
    passwords: Passwords = field(default_factory=Passwords.fast_for_tests)
    cases: InMemoryCases = field(default_factory=InMemoryCases.shipped)  # cases after the call, with the shipped rules

    def __post_init__(self) -> None:
        self.agents = self.agents or FakeAgentDesk(ROSTER, self.clock)
        self.calls = self.calls or FakeCallDesk(self.clock)

    def deps(self) -> ApiDeps:
        return ApiDeps(agents=self.agents, calls=self.calls, events=self.events, users=self.users,
                       directory=lambda: self.directory, roster_ids=lambda: ROSTER, config=self.config,
                       passwords=self.passwords, clock=self.clock, local_now=lambda: self.local_now,
                       cases=self.cases)

    def add_user(self, username: str, role: str, password: str = "password-xxxx",
                 agent_id: str | None = None) -> None:
        self.users.add_user(username, role, self.passwords.hash(password), agent_id=agent_id,
                            roster=set(ROSTER), now=self.clock())


PASSWORD = "password-xxxx"
BASE = "http://hotline.test"


def three_role_world() -> World:
    """A world with one account per role: alice (agent 1001), sam (supervisor), ada (admin)."""
    w = World()
    w.add_user("alice", "agent", agent_id="1001")
    w.add_user("sam", "supervisor")
    w.add_user("ada", "admin")
    return w


def client(app: Any, address: str = "192.0.2.10") -> httpx.AsyncClient:
    """An in-process client of the app (ASGI: no socket); ``address`` is the client address
    the app sees."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=BASE)


async def log_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in and return the answer's body (token, csrf, ...); fails the test otherwise."""
    answer = await http.post("/api/v1/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def bearer(login: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {login['token']}"}
