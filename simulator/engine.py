"""The event loop: a heap of timed events on a virtual clock, driving the live routing code.

What the simulator owns is only what the world does: when a caller rings, how long the IVR
takes, how long a conversation lasts, when a caller gives up, whether an agent misses a
ring, when shifts and breaks start. Every decision and every state change goes through the
project's pure core, called the way the live shell calls it:

* routing: ``router(Snapshot, now)`` (``acd.route`` by default) on the waiting calls and
  the available agents, built with ``calls.snapshot`` as the leader builds them; it runs
  after every instant at which something changed (a call queued or put back, an agent
  free, a relaxation step or callback retry due), as the live router wakes on each change
  and on ``calls.due.next_due``; with ``route_every`` only on a clock tick (a poller like
  app_queue), new calls excepted;
* agents: ``agents.state.apply`` for every event (Reserve, Ring, Answer, Miss, Cancel,
  Hangup, Pause, Unpause, LogIn, LogOut) and ``settle`` when a wrap-up ends;
* calls: ``calls.state.apply`` for every step (Arrived ... Ended); an illegal step raises,
  because in a simulation it can only be a bug.

Time is epoch seconds (``scenario.start`` is the first midnight), so the records carry
real dates. Same seed, same scenario, same router: the same records, bit for bit.
"""
from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import calls.state as cs
from acd import Agent, Assignment, QueuePolicy, Snapshot, route
from acd import Call as RoutedCall
from agents.state import (
    AgentRecord,
    AgentState,
    Answer,
    Cancel,
    Hangup,
    LogIn,
    LogOut,
    Miss,
    Pause,
    Reserve,
    Ring,
    Unpause,
    apply,
    settle,
)
from agents.state import Event as AgentEvent
from calls.model import QueuedCall
from calls.records import CallEvent, CallRecord
from calls.snapshot import build_snapshot, to_acd_call
from calls.waiting import expected_wait_minutes, position_ahead
from simulator.available import AvailableAgents
from simulator.demand import CallSpec, draw_calls
from simulator.line import WaitingLine
from simulator.recorder import AgentStateChange, closing_events, inbound_record, state_changed
from simulator.roster import Seat, build_roster
from simulator.scenario import DAY, Scenario

Router = Callable[[Snapshot, float], tuple[Assignment, ...]]
Sink = Callable[[CallRecord, list[CallEvent]], None]
OWNER = "simulator"
HEAD = 16  # calls of the head of the line routed first (at least 4 per free agent)
RETRY = 1.0  # a break or a shift end that finds the agent ringing is tried again this much later
BREAK, SHIFT_END, RONA = "break", "shift_end", "rona"
DNIS = {"main": "12345", "province": "12345", "business": "12345"}

# event kinds, in the order ties are broken at one instant (then by insertion)
(ARRIVE, IVR_LEFT, QUEUE, ANSWER, MISS, HANGUP, ABANDON, WRAP_END, CB_OFFER, ANNOUNCE, RELAX, DUE,
 CB_PLACED, CB_DIAL_END, CB_HANGUP, SHIFT_ON, BREAK_ON, BREAK_OFF, RONA_OFF, SHIFT_OFF, TICK) = range(21)


@dataclass(slots=True)
class _Call:
    """One call of the run: its spec, its machine value, its place in line, its events."""

    spec: CallSpec
    call: cs.Call
    queued: QueuedCall | None = None
    events: list[CallEvent] = field(default_factory=list)
    offer: int = 0          # the current ring's number; a later event for an older ring is stale
    agent: str = ""
    record: CallRecord | None = None  # a callback try's record, while it is under way
    record_events: list[CallEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunStats:
    """What one run did, for benchmarks and reports."""

    calls: int
    records: int
    unfinished: int
    routing_steps: int
    events: int
    violations: int  # calls answered by an agent without the caller's language


class Simulation:
    """One run of ``scenario`` with ``router``; ``run()`` plays it to the end.

    ``seats``/``specs`` may be given (a study reuses the callers across designs); records go
    to ``sink`` as each call finishes (default: kept in ``records``), agent log rows to
    ``states``.
    """

    def __init__(self, scenario: Scenario, seed: int = 1, router: Router = route, days: int = 1,
                 route_every: float | None = None, seats: tuple[Seat, ...] | None = None,
                 specs: list[CallSpec] | None = None, sink: Sink | None = None, keep_states: bool = True,
                 prune: bool = True, head_first: bool = True) -> None:
        self.scenario = scenario
        self.queues = scenario.queues
        self.behaviour = scenario.behaviour
        self.router = router
        self.days = days
        self.route_every = route_every
        self.rng = random.Random(f"run-{seed}")
        self.seats = seats if seats is not None else build_roster(scenario.groups)
        self.roster = {s.agent_id: s.agent for s in self.seats}
        self.specs = specs if specs is not None else draw_calls(scenario, seed, days)
        self.records: list[tuple[CallRecord, list[CallEvent]]] = []
        self.sink: Sink = sink if sink is not None else (lambda r, e: self.records.append((r, e)))
        self.states: list[AgentStateChange] = []
        self.keep_states = keep_states
        self.agents = {s.agent_id: AgentRecord(agent_id=s.agent_id, since=scenario.start) for s in self.seats}
        self.available = AvailableAgents()
        self.prune = prune  # give each step only the agents it can use (simulator/available.py)
        self._agent_values: dict[str, tuple[AgentRecord, Agent]] = {}
        self.waiting = WaitingLine(self.queues)
        self.head_first = head_first  # route the head of the line first (simulator/line.py)
        self.calls: dict[str, _Call] = {}
        self.on_shift = 0
        self._break_length: dict[str, float] = {}
        self._heap: list[tuple[float, int, int, object]] = []
        self._seq = itertools.count()
        self._next_arrival = 0
        self._dirty = self._dirty_now = False
        self.now = scenario.start
        self.routing_steps = self.event_count = self.written = self.violations = 0
        self._handlers: dict[int, Callable[[object], None]] = {
            ARRIVE: self._arrive, IVR_LEFT: self._ivr_left, QUEUE: self._queue, ANSWER: self._answer,
            MISS: self._miss, HANGUP: self._hangup, ABANDON: self._abandon, WRAP_END: self._wrap_end,
            CB_OFFER: self._callback_offer, ANNOUNCE: self._announce, RELAX: self._relax, DUE: self._due,
            CB_PLACED: self._callback_placed, CB_DIAL_END: self._callback_dial_end,
            CB_HANGUP: self._callback_hangup, SHIFT_ON: self._shift_on, BREAK_ON: self._break_on,
            BREAK_OFF: self._break_off, RONA_OFF: self._rona_off, SHIFT_OFF: self._shift_off, TICK: self._tick,
        }

    # -- the loop -------------------------------------------------------------------------

    def _at(self, when: float, kind: int, payload: object = None) -> None:
        heapq.heappush(self._heap, (when, kind, next(self._seq), payload))

    def run(self) -> RunStats:
        """Play every event; route after each instant at which the routing picture changed."""
        self._schedule_shifts()
        self._push_next_arrival()
        if self.route_every:
            self._at(self.scenario.start, TICK)
        heap, handlers = self._heap, self._handlers
        while heap:
            now = heap[0][0]
            self.now = now
            while heap and heap[0][0] == now:
                _, kind, _, payload = heapq.heappop(heap)
                self.event_count += 1
                handlers[kind](payload)
            if self._dirty_now or (self._dirty and not self.route_every):
                self._route(now)
        unfinished = sum(1 for c in self.calls.values() if c.call.state is not cs.CallState.ENDED
                         and c.call.outcome is not cs.Outcome.CALLBACK_REQUESTED)
        return RunStats(len(self.specs), self.written, unfinished, self.routing_steps, self.event_count,
                        self.violations)

    def _tick(self, _: object) -> None:
        if self._dirty:
            self._route(self.now)
        if self._heap:  # keep ticking while anything is left to happen
            self._at(self.now + (self.route_every or 1.0), TICK)

    def _route(self, now: float) -> None:
        self._dirty = self._dirty_now = False
        if not self.waiting or not self.available:
            return
        self.routing_steps += 1
        free, waiting = len(self.available), self.waiting
        result: tuple[Assignment, ...] | None = None
        head = max(HEAD, 4 * free)
        if self.head_first and not waiting.callbacks and head < len(waiting):
            result = self._decide(waiting.head(head), now)
            if len(result) < free:  # the head did not take every free agent: the whole line decides
                result = None
        for assignment in result if result is not None else self._decide(waiting.all(), now):
            self._offer(assignment, now)

    def _decide(self, calls: tuple[RoutedCall, ...], now: float) -> tuple[Assignment, ...]:
        agents = self.available.for_calls(calls) if self.prune else self.available.all()
        return self.router(Snapshot(calls=calls, agents=agents, queues=self.queues), now)

    # -- agents ---------------------------------------------------------------------------

    def _agent_event(self, agent_id: str, event: AgentEvent, policy: QueuePolicy | None = None) -> AgentRecord:
        """Apply one event of the agent state machine and follow what it leads to."""
        before = self.agents[agent_id]
        after = apply(before, event, self.now, policy)
        self._agent_became(before, after)
        return after

    def _agent_became(self, before: AgentRecord, after: AgentRecord) -> None:
        agent_id = after.agent_id
        self.agents[agent_id] = after
        if self.keep_states and state_changed(before, after):
            self.states.append(AgentStateChange.of(after, self.now))
        if after.state is AgentState.AVAILABLE:
            self.available.add(self._agent_value(after))
            self._dirty = True
        else:
            self.available.discard(agent_id)
        if after.state is AgentState.PAUSED and (before.state, before.pause_reason) != (after.state, after.pause_reason):
            self._paused(agent_id, after.pause_reason or "")
        if (before.state is AgentState.LOGGED_OUT) != (after.state is AgentState.LOGGED_OUT):
            self.on_shift += 1 if before.state is AgentState.LOGGED_OUT else -1

    def _agent_value(self, record: AgentRecord) -> Agent:
        """The router's view of an available agent, by ``calls.snapshot`` (the leader's own
        translation), kept while the record is unchanged (then it does not depend on the clock)."""
        cached = self._agent_values.get(record.agent_id)
        if cached is not None and cached[0] is record:
            return cached[1]
        value = build_snapshot((), (record,), self.roster, self.queues, self.now).agents[0]
        self._agent_values[record.agent_id] = (record, value)
        return value

    def _paused(self, agent_id: str, reason: str) -> None:
        if reason == SHIFT_END:
            self._agent_event(agent_id, LogOut())
        elif reason == BREAK:
            self._at(self.now + self._break_length.get(agent_id, 900.0), BREAK_OFF, agent_id)
        elif reason == RONA and self.behaviour.rona_pause_seconds > 0:
            self._at(self.now + self.behaviour.rona_pause_seconds, RONA_OFF, agent_id)

    def _schedule_shifts(self) -> None:
        """Each seat's shifts and breaks over the run's days; back-to-back shifts (an all-day
        seat) are one, so no call is cut by a midnight log-out. A shift that passes midnight
        also covers the first morning (the shift that began the evening before)."""
        start = self.scenario.start
        for seat in self.seats:
            spans: list[list[float]] = []
            first = -1 if seat.shift[1] > DAY else 0
            for day in range(first, self.days):
                begin = max(start, start + day * DAY + seat.shift[0])
                end = start + day * DAY + seat.shift[1]
                if spans and abs(spans[-1][1] - begin) < 1e-6:
                    spans[-1][1] = end
                else:
                    spans.append([begin, end])
                for offset, length in seat.breaks:
                    if start + day * DAY + offset >= start:
                        self._at(start + day * DAY + offset, BREAK_ON, (seat.agent_id, length))
            for begin, end in spans:
                self._at(begin, SHIFT_ON, seat.agent_id)
                self._at(end, SHIFT_OFF, seat.agent_id)

    def _shift_on(self, agent_id: object) -> None:
        record = self.agents[str(agent_id)]
        if record.state is AgentState.LOGGED_OUT:
            self._agent_event(record.agent_id, LogIn())
        elif record.pause_reason == SHIFT_END:  # still finishing yesterday's last call: stays on
            self._agent_event(record.agent_id, Unpause())

    def _leave_later(self, agent_id: str, reason: str) -> bool:
        """Pause the agent for ``reason`` (pending while on a call); False to try again later
        (a ringing agent: the live desk would withdraw the ring, the simulator waits for it)."""
        record = self.agents[agent_id]
        if record.state is AgentState.LOGGED_OUT:
            return True
        if record.state in (AgentState.RESERVED, AgentState.RINGING):
            return False
        self._agent_event(agent_id, Pause(reason))
        return True

    def _shift_off(self, agent_id: object) -> None:
        if not self._leave_later(str(agent_id), SHIFT_END):
            self._at(self.now + RETRY, SHIFT_OFF, agent_id)

    def _break_on(self, payload: object) -> None:
        agent_id, length = payload  # type: ignore[misc]
        record = self.agents[agent_id]
        if record.pause_reason == SHIFT_END:
            return
        self._break_length[agent_id] = length
        if not self._leave_later(agent_id, BREAK):
            self._at(self.now + RETRY, BREAK_ON, payload)

    def _break_off(self, agent_id: object) -> None:
        self._unpause_if(str(agent_id), BREAK)

    def _rona_off(self, agent_id: object) -> None:
        self._unpause_if(str(agent_id), RONA)

    def _unpause_if(self, agent_id: str, reason: str) -> None:
        record = self.agents[agent_id]
        if record.state is AgentState.PAUSED and record.pause_reason == reason:
            self._agent_event(agent_id, Unpause())

    def _wrap_end(self, agent_id: object) -> None:
        before = self.agents[str(agent_id)]
        after = settle(before, self.now)
        if after is not before:
            self._agent_became(before, after)

    def _hang_up_agent(self, agent_id: str, policy: QueuePolicy) -> None:
        record = self._agent_event(agent_id, Hangup(), policy)
        self._at(record.wrap_until if record.wrap_until is not None else self.now, WRAP_END, agent_id)

    # -- calls ----------------------------------------------------------------------------

    def _push_next_arrival(self) -> None:
        if self._next_arrival < len(self.specs):
            spec = self.specs[self._next_arrival]
            self._next_arrival += 1
            self._at(self.scenario.start + spec.arrival, ARRIVE, spec)

    def _step(self, c: _Call, event: cs.Event) -> None:
        c.call = cs.apply(c.call, event)

    def _note(self, c: _Call, at: float, kind: str, **data: object) -> None:
        c.events.append(CallEvent(c.spec.call_id, at, kind, data))

    def _arrive(self, payload: object) -> None:
        spec: CallSpec = payload  # type: ignore[assignment]
        self._push_next_arrival()
        dnis = DNIS.get(spec.queue, "12345")
        c = _Call(spec, cs.start(cs.Arrived(self.now, spec.call_id, spec.caller, dnis)))
        self.calls[spec.call_id] = c
        self._note(c, self.now, "arrived", caller=spec.caller, dnis=dnis)
        ivr = self.behaviour.ivr_seconds if spec.ivr is None else spec.ivr
        if spec.leaves_ivr:
            self._at(self.now + (ivr if spec.ivr is not None else ivr / 2.0), IVR_LEFT, c)
        elif ivr > 0:
            self._at(self.now + ivr, QUEUE, c)
        else:
            self._queue(c)

    def _ivr_left(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        self._step(c, cs.CallerLeft(self.now))
        self._finish(c)

    def _queue(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        spec, now = c.spec, self.now
        policy = self.queues[spec.queue]
        self._step(c, cs.Queued(now, spec.queue, spec.language, spec.skills, spec.priority))
        self._note(c, now, "queued", queue=spec.queue, language=spec.language, skills=sorted(spec.skills))
        c.queued = QueuedCall(call_id=spec.call_id, owner=OWNER, queue=spec.queue, arrived_at=now,
                              language=spec.language, skills=spec.skills, priority=spec.priority, caller=spec.caller)
        self._wait(c)
        self._dirty_now = True  # a new call is decided at once, even by a polling router
        if math.isfinite(spec.patience):
            self._at(now + spec.patience, ABANDON, c)
        for step in policy.relaxation[1:]:
            self._at(now + step.after, RELAX, c)
        if policy.announce_interval > 0 and self.behaviour.announcements:
            self._at(now + policy.announce_interval, ANNOUNCE, c)
        elif self.behaviour.callback_accept > 0 and policy.callback_offer_after is not None:
            self._at(now + self._first_offer(policy), CB_OFFER, c)

    @staticmethod
    def _first_offer(policy: QueuePolicy) -> float:
        """The first announcement at or after ``callback_offer_after`` (the offer is spoken in one)."""
        after, every = policy.callback_offer_after or 0.0, policy.announce_interval
        return math.ceil(after / every - 1e-9) * every if every > 0 else after

    def _wait(self, c: _Call) -> None:
        assert c.queued is not None
        self.waiting.put(to_acd_call(c.queued))
        self._dirty = True

    def _relax(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        if c.spec.call_id in self.waiting:
            self._dirty = True

    def _due(self, payload: object) -> None:
        self._dirty = True

    def _offer(self, a: Assignment, now: float) -> None:
        c = self.calls[a.call_id]
        self.waiting.remove(a.call_id)
        policy = self.queues[c.spec.queue]
        self._agent_event(a.agent_id, Reserve(a.call_id, a.queue))
        if self.roster[a.agent_id].languages.isdisjoint({c.spec.language}):
            self.violations += 1
        c.agent, c.offer = a.agent_id, c.offer + 1
        if c.call.state is cs.CallState.CALLBACK_WAITING:
            self._step(c, cs.Offered(now, a.agent_id, a.relax_step))
            self._agent_event(a.agent_id, Ring())
            self._at(now + self.behaviour.answer_seconds, CB_PLACED, c)
            return
        self._note_relaxation(c, a.relax_step, policy)
        assert c.queued is not None
        self._note(c, now, "offered", agent=a.agent_id, relax_step=a.relax_step,
                   waited=round(now - c.queued.arrived_at, 3))
        self._step(c, cs.Offered(now, a.agent_id, a.relax_step))
        self._step(c, cs.DialBegan(now))
        self._agent_event(a.agent_id, Ring())
        if self.rng.random() < self.behaviour.ring_no_answer:
            self._at(now + policy.ring_timeout, MISS, (c, c.offer))
        else:
            self._at(now + self.behaviour.answer_seconds, ANSWER, (c, c.offer))

    def _note_relaxation(self, c: _Call, relax_step: int, policy: QueuePolicy) -> None:
        """``relaxed`` events as the session writes them: each step up to the offer's, once,
        at the moment the queue's policy put it in force; only when skills were asked for."""
        if not c.spec.skills and not policy.line_skills:
            return
        done = {e.data.get("step") for e in c.events if e.kind == "relaxed"}
        queued = c.call.queued_at or c.call.arrived_at
        steps = policy.relaxation
        for index in range(1, min(relax_step, len(steps) - 1) + 1):
            if index not in done:
                step = steps[index]
                self._note(c, queued + step.after, "relaxed", step=index, min_level=step.min_level,
                           keep_line_skills=step.keep_line_skills)

    def _current(self, payload: object) -> _Call | None:
        c, offer = payload  # type: ignore[misc]
        return c if c.offer == offer and c.call.state is cs.CallState.OFFERED else None

    def _answer(self, payload: object) -> None:
        c = self._current(payload)
        if c is None:
            return
        self._agent_event(c.agent, Answer())
        self._step(c, cs.Answered(self.now))
        self._at(self.now + c.spec.talk, HANGUP, c)

    def _miss(self, payload: object) -> None:
        c = self._current(payload)
        if c is None:
            return
        policy = self.queues[c.spec.queue]
        self._agent_event(c.agent, Miss(), policy)
        self._note(c, self.now, "rona", agent=c.agent, status="NOANSWER")
        self._step(c, cs.Missed(self.now, "NOANSWER"))
        assert c.queued is not None
        c.queued = replace(c.queued, excluded=c.queued.excluded | {c.agent})
        c.agent = ""
        self._wait(c)

    def _abandon(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        state = c.call.state
        if state is cs.CallState.QUEUED:
            self.waiting.remove(c.spec.call_id)
        elif state is cs.CallState.OFFERED:
            self._agent_event(c.agent, Cancel())  # the ring is withdrawn: not the agent's miss
            c.offer += 1
        else:
            return
        self._step(c, cs.CallerLeft(self.now))
        self._finish(c)

    def _hangup(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        self._step(c, cs.Ended(self.now))
        self._hang_up_agent(c.agent, self.queues[c.spec.queue])
        self._finish(c)

    def _finish(self, c: _Call) -> None:
        """Write the inbound call's record as the session's wind-up does."""
        spec = c.spec
        record = inbound_record(c.call, spec.caller, DNIS.get(spec.queue, "12345"), ",".join(sorted(spec.skills)))
        self._write(record, c.events + closing_events(c.call, self.now))
        if c.call.state is cs.CallState.ENDED:
            del self.calls[spec.call_id]

    def _write(self, record: CallRecord, events: list[CallEvent]) -> None:
        self.written += 1
        self.sink(record, events)

    # -- waiting announcements and callbacks ------------------------------------------------

    def _announce(self, payload: object) -> None:
        """A waiting announcement (``behaviour.announcements``): position, expected wait and,
        once due, the callback offer, like ``CallSession._announce``."""
        c: _Call = payload  # type: ignore[assignment]
        if c.call.state not in (cs.CallState.QUEUED, cs.CallState.OFFERED):
            return
        policy = self.queues[c.spec.queue]
        if c.call.state is cs.CallState.QUEUED:
            assert c.queued is not None
            others = [self.calls[i].queued for i in self.waiting]
            position = position_ahead(c.queued, [q for q in others if q is not None], self.queues)
            waited = self.now - c.queued.arrived_at
            due = (self.behaviour.callback_accept > 0 and policy.callback_offer_after is not None
                   and waited >= policy.callback_offer_after and c.call.callback_offer is cs.CallbackOffer.NO)
            self._note(c, self.now, "announced", position=position,
                       minutes=expected_wait_minutes(position, self.on_shift), callback_offered=due)
            if due and self._offer_callback(c):
                return
        self._at(self.now + policy.announce_interval, ANNOUNCE, c)

    def _callback_offer(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        if c.call.state is cs.CallState.OFFERED:  # ringing: the next announcement offers it
            policy = self.queues[c.spec.queue]
            self._at(self.now + max(policy.announce_interval, RETRY), CB_OFFER, c)
        elif c.call.state is cs.CallState.QUEUED:
            self._offer_callback(c)

    def _offer_callback(self, c: _Call) -> bool:
        """Offer a callback; True when the caller books it (and hangs up, keeping the place)."""
        self._step(c, cs.CallbackOffered(self.now))
        if not c.spec.books_callback:
            return False
        self._step(c, cs.CallbackBooked(self.now))
        self._note(c, self.now, "callback_booked", number=c.spec.caller)
        self._finish(c)
        assert c.queued is not None
        c.queued = replace(c.queued, callback=True)
        self._wait(c)
        return True

    def _callback_placed(self, payload: object) -> None:
        """The agent answered the callback leg: the citizen's number is dialled."""
        c: _Call = payload  # type: ignore[assignment]
        spec, now = c.spec, self.now
        self._agent_event(c.agent, Answer())
        self._step(c, cs.CallbackPlaced(now))
        policy = self.queues[spec.queue]
        assert c.queued is not None
        attempt = c.call.attempts
        c.record = CallRecord(
            call_id=f"{spec.call_id}-cb{attempt}", caller=spec.caller, dnis="callback", arrived_at=now,
            source="callback", queue=spec.queue, language=spec.language, skills=",".join(sorted(spec.skills)),
            queued_at=c.queued.arrived_at, agent_id=c.agent,
            attrs={"callback_of": spec.call_id, "controller": OWNER, "attempt": attempt,
                   "attempts_allowed": policy.callback_attempts})
        c.record_events = [CallEvent(c.record.call_id, now, "callback_dialled",
                                     {"number": spec.caller, "agent": c.agent, "attempt": attempt})]
        self._at(now + self.behaviour.callback_dial_seconds, CB_DIAL_END, c)

    def _callback_dial_end(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        now, policy = self.now, self.queues[c.spec.queue]
        if self.rng.random() < self.behaviour.callback_answer:
            self._step(c, cs.Answered(now))
            self._at(now + c.spec.talk, CB_HANGUP, c)
            return
        assert c.record is not None and c.queued is not None
        attempt = c.call.attempts
        retry_at = policy.callback_retry_at(attempt, now)
        if retry_at is not None:
            self._step(c, cs.CallbackRetry(now, retry_at, "NOANSWER"))
            c.record_events.append(CallEvent(c.record.call_id, now, "callback_retry",
                                             {"at": retry_at, "attempt": attempt + 1}))
            c.queued = replace(c.queued, excluded=frozenset(), attempts=attempt, not_before=retry_at)
            self._wait(c)
            self._at(retry_at, DUE)
            outcome = cs.Outcome.CALLBACK_RETRY.value
        else:
            self._step(c, cs.CallbackFailed(now, "NOANSWER"))
            outcome = cs.Outcome.CALLBACK_FAILED.value
        self._end_try(c, replace(c.record, outcome=outcome, ended_at=now,
                                 attrs={**c.record.attrs, "dial_status": "NOANSWER"}), "NOANSWER")

    def _callback_hangup(self, payload: object) -> None:
        c: _Call = payload  # type: ignore[assignment]
        self._step(c, cs.Ended(self.now))
        assert c.record is not None
        self._end_try(c, replace(c.record, outcome="answered", answered_at=c.call.answered_at, ended_at=self.now),
                      "ANSWER")

    def _end_try(self, c: _Call, record: CallRecord, status: str) -> None:
        self._hang_up_agent(c.agent, self.queues[c.spec.queue])
        c.record_events.append(CallEvent(record.call_id, self.now, "ended",
                                         {"outcome": record.outcome, "dial_status": status}))
        self._write(record, c.record_events)
        c.record, c.record_events, c.agent = None, [], ""
        if c.call.state is cs.CallState.ENDED:
            del self.calls[c.spec.call_id]


def simulate(scenario: Scenario, seed: int = 1, router: Router = route, days: int = 1,
             route_every: float | None = None) -> tuple[Simulation, RunStats]:
    """Run ``scenario`` once and keep its records in memory."""
    simulation = Simulation(scenario, seed, router, days, route_every)
    return simulation, simulation.run()
