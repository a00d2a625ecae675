"""The three offer-latency scenarios, for either system, on one running test hotline.

Each scenario places calls with SIPp through the integration harness, watches them through
the benchmark's AMI tap and returns its samples (seconds, offer moment minus start); the
arithmetic from what was seen to a sample is in samples.py. The scenarios:

1. **idle agent** -- a call is queued while an eligible agent is idle. The two systems take
   turns (``--rounds``, default 4: ours, app_queue, ours, ...; ``--calls`` per system, default
   100, split evenly), so that both meet the same spells of noise from the rest of the
   machine (this is a 2-core virtual machine: one system measured after the other read
   p99s that swapped places from one run to the next). The hypervisor's "steal" time during
   each system's rounds is printed below the table: the tail follows it.
   ours: the call's ``queued`` event in the database (CallSession writes it just before the
   call enters the shared queue; both systems record from the agent's answer, see recordings/). When the session's
   controller leads the router and the last routing step saw nobody waiting (the case
   here), the leader decides from its mirror of the live state (RouterService.fast_offer:
   acd.route's answer for a lone call of that shape, prepared after the last change) and
   the session sends its one AGI command (Dial) at once; the offer's bookkeeping and the
   Lua enqueue-and-claim wait for the agent's DialBegin (a claim that fails withdraws the
   ring). Otherwise: Redis enqueue, the router's step, the Lua claim,
   the hand-over to the owning session, Dial. The split of ours is printed below the table:
   the routing decision, the AGI command on the wire, and Asterisk's own share (that AGI
   command on the wire to the agent's INVITE on the wire).
   app_queue: the caller enters Queue() (see above). Calls dial 12345 and press 1
   (the IVR is skipped at once). A call is placed only when, by the benchmark's own AMI
   view (an agent is busy from DialBegin to its channel's Hangup plus the wrap-up plus
   0.5 s), there is an idle agent for it and for every earlier call not yet offered, and
   at least a random 0.9-2 s after the previous call, and each caller talks a random
   0.8-2.5 s (both systems get the same draws, from ``--seed``; with a fixed talk time
   close to a fixed gap, our offers all fell a few ms after the previous caller's
   hang-up and app_queue's all just before it, so only ours met the tear-down: the
   share of offers within 50 ms of another call's hang-up is printed for both as a
   check). The least gap keeps each call a lone arrival to an idle agent, the case this
   scenario measures (it dates from when the fallback queue had app_queue's default
   ``autofill = no``, under which a second caller arriving while the first one's agent still
   rang waited 2 s for its turn; queues.conf now sets ``autofill = yes``).
2. **agent logs in / is unpaused** -- every agent is unavailable, a call waits, one agent
   becomes available. ours: all agents logged out; the call is waiting once the AMI
   ``MusicOnHoldStart`` of the caller is seen (the session starts the music as it puts the
   call in the shared queue); then ``AgentService.log_in`` (the harness's desk action); the moment is the
   returned record's ``since`` (the clock reading the log-in was applied with, taken just
   before the Redis write). app_queue: every member paused (AMI QueuePause); after
   QueueCallerJoin one member is unpaused; the moment is the ``QueueMemberPause`` (Paused 0)
   event's Timestamp (stamped late like any AMI event, which flatters app_queue by a
   fraction of a millisecond against its 1 s re-check). The agent is freed 0.2-1.2 s after the call queued, stratified (one
   random delay in each 1/trials slice of that second, shuffled), so app_queue's
   once-a-second re-check (wait_our_turn: ast_waitfordigit(RECHECK * 1000)) is met at
   evenly spread phases and not at one fixed by the benchmark. Agents rotate; the freed
   agent is logged out / paused again once it answered; the next trial starts when the
   caller has hung up.
3. **wrap-up ends** -- four "chains" of calls (first calls 1.5 s apart): each chain places
   its next call a random 0-1.5 s after its previous caller hung up, so new calls queue while the agents are in
   wrap-up (the random gap keeps the chains from running in step and from locking the
   phase of app_queue's 1 s re-check or our router's 0.25 s tick to the benchmark). A
   sample is an offer (INVITE to agent X at T) whose call queued at least 50 ms before
   X's wrap-up ended (F); latency = T - F. ours: F = the agent's ``wrap_until`` in Redis
   (polled every 20 ms while the agent is in wrap-up; no event marks the end). Since commit
   bf8da1b the router sleeps exactly until the next wrap-up end (router_service.next_due);
   before, it noticed the end on its 0.25 s tick and this row read 90-150 ms. app_queue (queues.conf wrapuptime = 5): app_queue keeps
   the member's last call end in whole seconds (time(&member->lastcall)) and tests
   ``time(NULL) - wrapuptime < lastcall``, so the member really becomes available at
   floor(end) + 5 s; F is that effective moment, with ``end`` = the ``AgentComplete`` event
   (published immediately before that time() call). Offers straight to an idle agent
   (each chain's first call) are not samples. Wrap-ups of several agents often end in the
   same second (and app_queue's whole-second rounding makes them end at the same instant),
   so callers behind the head may wait for a later re-check:
   row "3b" keeps only the offers whose call was the oldest one waiting at F, i.e. the
   pure "one agent frees, the head caller gets it" figure.

All app_queue runs use the real fallback path: the controller process is stopped
(Hotline.stop_controller), the AGI() request fails and the dialplan sends the citizen to
the ``hotline-fallback`` queue (rrmemory, ringinuse = no, all four agents as static
members). The controller is restarted at the end (it imports the fallback calls) before
everything is stopped.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchmarks.offer.ami_tap import AmiTap, Event, event_is, is_agent_dial, ts
from benchmarks.offer.cel import read_cel
from benchmarks.offer.report import log
from benchmarks.offer.samples import (
    AgentView,
    CallSeen,
    app_queue_wrap_end,
    epoch,
    near_hangups,
    offer_moment,
    queued_and_offered,
    stratified_delays,
    wrapup_samples,
)
from benchmarks.offer.sniffer import InviteSniffer
from hotline.asterisk.channels import agent_of
from hotline.ops.sipp import SippPeer
from tests.integration.harness import AGENTS, BASE, TEST_QUEUE_DEFAULTS, Hotline

AGENT_IDS = [a["id"] for a in AGENTS]
FALLBACK_QUEUE = "hotline-fallback"
FALLBACK_WRAPUP = 5.0  # asterisk_conf/templates/queues.conf.j2
OUR_WRAPUP = float(TEST_QUEUE_DEFAULTS["wrapup_seconds"])
DIGIT_DELAY_MS = 500
IDLE_TALK_MS = (800, 2500)  # scenario 1: each caller's talk time, drawn at random
IDLE_GAP = (0.9, 2.0)  # scenario 1: least time between two calls placed, drawn at random
CHAIN_GAP = (0.0, 1.5)  # scenario 3: a chain's next call, after its previous caller hung up


@dataclass
class Placed:
    """A citizen's call the benchmark placed: its caller number, its SIPp, its Uniqueid once known."""

    caller: str
    peer: SippPeer
    uniqueid: str = ""


class Bench:
    """The scenarios, for either system ("ours" or "app_queue": the controller stopped, so
    the dialplan's fallback queue takes the calls), on one running test hotline. Besides
    the samples it keeps the parts printed below the table (routing decision, AGI command,
    QueueCallerJoin, offers near a hang-up)."""

    def __init__(self, hotline: Hotline, ami: AmiTap, rng: random.Random) -> None:
        self.h = hotline
        self.ami = ami
        self.rng = rng
        self.n_calls = 0
        self.routing_part: list[float] = []
        self.head_part: list[float] = []
        self.join_part: list[float] = []
        self.agi_part: list[float] = []
        self.sniffer: InviteSniffer | None = None  # set when packets can be captured
        self.cel_file: Path | None = None  # set when CEL could be turned on
        self.queue_started: dict[str, float] = {}  # app_queue: uniqueid -> Queue() start (CEL)
        self.near_hangup: dict[str, tuple[int, int]] = {}  # scenario 1: offers just after a hang-up, of all

    # -- helpers ------------------------------------------------------------------------
    def offer_moment(self, dial: Event) -> float:
        """The offer's end: the INVITE on the wire when captured, else the DialBegin."""
        return offer_moment(dial, self.sniffer)

    def agent_dial(self, uniqueid: str | None = None) -> Callable[[Event], bool]:
        """A predicate for the DialBegin of a roster agent's leg (of the call ``uniqueid``)."""
        return lambda e: is_agent_dial(e, AGENT_IDS, uniqueid)

    def place(self, hold_ms: int) -> Placed:
        """Place a citizen's call to 12345 that presses 1 and talks ``hold_ms`` once answered."""
        self.n_calls += 1
        caller = f"139{BASE % 100:02d}{self.n_calls:06d}"
        peer = self.h.call(caller, digits="1", hold_ms=hold_ms, digit_delay_ms=DIGIT_DELAY_MS)
        return Placed(caller, peer)

    def uniqueid(self, call: Placed, timeout: float = 5.0) -> str:
        """The call's Uniqueid, from the Newchannel with its caller number (waited for)."""
        if not call.uniqueid:
            e = self.ami.wait(event_is("Newchannel", CallerIDNum=call.caller), timeout,
                              what=f"Newchannel for {call.caller}")
            call.uniqueid = e["Uniqueid"]
        return call.uniqueid

    def known_uniqueid(self, call: Placed) -> str | None:
        """The call's Uniqueid, None when Asterisk never made its channel (the call is left out)."""
        try:
            return self.uniqueid(call, 1.0)
        except TimeoutError:
            return None

    def finish(self, calls: list[Placed], timeout: float = 40.0) -> None:
        """Wait for the callers to hang up (stop those still running at the deadline) and
        log any SIPp that failed."""
        deadline = time.monotonic() + timeout
        for c in calls:
            try:
                c.peer.wait(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                log(f"caller {c.caller} still running at the deadline; stopped")
                c.peer.stop()
        for c in calls:
            if c.peer.proc.returncode not in (0, None):
                log(f"caller {c.caller} exited {c.peer.proc.returncode}: {c.peer.errors()[-300:]}")

    def queued_at(self, call: Placed, timeout: float = 20.0) -> tuple[float, float | None] | None:
        """(queued, offered) epoch seconds from our database, once the record is written."""
        deadline = time.monotonic() + timeout
        uid = self.uniqueid(call)
        while time.monotonic() < deadline:
            if self.h.store.get(uid):
                return queued_and_offered(self.h.store.events(uid))
            time.sleep(0.1)
        return None

    def pause(self, agent: str, paused: bool, reason: str | None = "bench") -> None:
        """Pause or unpause an app_queue member (AMI QueuePause), with a Reason unless None."""
        fields = {"Action": "QueuePause", "Interface": f"PJSIP/{agent}", "Queue": FALLBACK_QUEUE,
                  "Paused": "true" if paused else "false"}
        self.ami.action(fields if reason is None else {**fields, "Reason": reason})

    def set_all_paused(self, paused: bool) -> None:
        """Pause or unpause every app_queue member."""
        for a in AGENT_IDS:
            self.pause(a, paused)

    # -- scenario 1: idle agent ----------------------------------------------------------------
    def idle_agent(self, system: str, n: int, seed: int) -> list[float]:
        """Scenario 1: ``n`` lone calls to an idle agent; the samples, and the parts kept
        for the notes (routing, AGI, QueueCallerJoin, offers near a hang-up)."""
        start = self.ami.mark()
        calls = self._place_when_idle(system, n, seed, start)
        self.finish(calls)
        if system != "ours" and self.cel_file is not None:
            self.queue_started = read_cel(self.cel_file)
        out: list[float] = []
        offers: list[float] = []
        for c in calls:
            got = self._idle_sample(system, c, start)
            if got is not None:
                out.append(got[1] - got[0])
                offers.append(got[1])
        hangups = [ts(e) for e in self.ami.since(start) if e.get("Event") == "Hangup"]
        near, total = self.near_hangup.get(system, (0, 0))
        self.near_hangup[system] = (near + near_hangups(offers, hangups), total + len(offers))
        return out

    def _idle_sample(self, system: str, call: Placed, start: int) -> tuple[float, float] | None:
        """(start, offer moment) of one call of scenario 1; None when it is left out (logged)."""
        uid = self.known_uniqueid(call)
        if uid is None:
            return None
        dial = self.ami.find(self.agent_dial(uid), start)
        if dial is None:
            log(f"{system}: call {call.caller} was never offered")
            return None
        if system == "ours":
            queued = self._ours_start(call, dial)
        else:
            queued = self._app_queue_start(call, uid, dial, start)
        return None if queued is None else (queued, self.offer_moment(dial))

    def _ours_start(self, call: Placed, dial: Event) -> float | None:
        """Ours: the call's ``queued`` event in the database; keeps the split for the notes
        (queued -> 'offered', queued -> AGI Dial on the wire)."""
        got = self.queued_at(call)
        if got is None:
            log(f"ours: no queued event for {call.caller}")
            return None
        queued, offered = got
        if offered is not None:
            self.routing_part.append(offered - queued)
        sent = self.sniffer.agi_dial_before(dial) if self.sniffer is not None else None
        if sent is not None:
            self.agi_part.append(sent - queued)
        return queued

    def _app_queue_start(self, call: Placed, uid: str, dial: Event, start: int) -> float | None:
        """app_queue: Queue()'s start from CEL (QueueCallerJoin's Timestamp without it);
        keeps the offer measured from QueueCallerJoin for the notes, and checks that
        AgentCalled came with DialBegin."""
        join = self.ami.find(event_is("QueueCallerJoin", Uniqueid=uid), start)
        if join is None:
            log(f"app_queue: no QueueCallerJoin for {call.caller}")
            return None
        queued = self.queue_started.get(uid, ts(join))
        if uid not in self.queue_started:
            log(f"app_queue: no CEL Queue() start for {call.caller}; measured from QueueCallerJoin")
        self.join_part.append(self.offer_moment(dial) - ts(join))
        called = self.ami.find(event_is("AgentCalled", Uniqueid=uid), start)
        if called is not None and abs(ts(called) - ts(dial)) > 0.005:
            log(f"app_queue: AgentCalled and DialBegin {1000 * (ts(called) - ts(dial)):.1f} ms apart")
        return queued

    def _place_when_idle(self, system: str, n: int, seed: int, start: int) -> list[Placed]:
        """Place ``n`` calls, each only when the AMI view has an idle agent for it and for
        every earlier call not yet offered, at least a random gap after the previous one."""
        # Talk times and gaps are drawn at random, the same draws for both systems: with a
        # fixed talk time close to the fixed gap, one system's offers fell a few ms after
        # the previous caller's hang-up every time (its tear-down on the other core) and the
        # other's never, which decided the p99 (seen while writing this benchmark).
        pace = random.Random(seed)
        view = AgentView(AGENT_IDS, OUR_WRAPUP if system == "ours" else FALLBACK_WRAPUP)
        calls: list[Placed] = []
        seen, last, gap = start, 0.0, IDLE_GAP[0]
        deadline = time.monotonic() + n * 8 + 30
        while len(calls) < n and time.monotonic() < deadline:
            for e in self.ami.since(seen):
                seen += 1
                view.feed(e)
            idle = view.idle(time.time())
            offered = {e["Uniqueid"] for e in self.ami.since(start) if is_agent_dial(e, AGENT_IDS)}
            pending = sum(1 for c in calls if not c.uniqueid or c.uniqueid not in offered)
            for c in calls:
                if not c.uniqueid:
                    e = self.ami.find(event_is("Newchannel", CallerIDNum=c.caller), start)
                    if e:
                        c.uniqueid = e["Uniqueid"]
            if idle - pending >= 1 and time.monotonic() - last >= gap:
                calls.append(self.place(pace.randint(*IDLE_TALK_MS)))
                last = time.monotonic()
                gap = pace.uniform(*IDLE_GAP)
            time.sleep(0.02)
        return calls

    # -- scenario 2: an agent is freed while the call waits ------------------------------------
    def agent_freed(self, system: str, trials: int) -> list[float]:
        """Scenario 2: per trial, a call waits with every agent unavailable, then one agent
        (rotating) is freed at a stratified delay; the sample runs from the freeing."""
        # app_queue may re-check up to ~1.15 s after the unpause: its callers hold longer.
        hold_ms = 2000 if system == "ours" else 2600
        out: list[float] = []
        delays = stratified_delays(self.rng, trials)
        for k in range(trials):
            agent = AGENT_IDS[k % len(AGENT_IDS)]
            start = self.ami.mark()
            call = self.place(hold_ms)
            try:
                sample = self._freed_trial(system, k, call, agent, delays[k], start)
                if sample is not None:
                    out.append(sample)
            except TimeoutError as exc:
                log(f"{system}: trial {k}: {exc}")
            self.finish([call], timeout=20)
            if system == "ours":
                self._log_out_after_call(agent)
        return out

    def _freed_trial(self, system: str, k: int, call: Placed, agent: str, delay: float, start: int) -> float | None:
        """One trial of scenario 2: wait until the call waits, free ``agent`` after
        ``delay``, take the offer; the agent is made unavailable again for app_queue here
        (ours: once the caller hung up). None when another agent got the call."""
        uid = self.uniqueid(call)
        if system == "ours":
            self.ami.wait(event_is("MusicOnHoldStart", Uniqueid=uid), 10, start, "MusicOnHoldStart (call queued)")
        else:
            self.ami.wait(event_is("QueueCallerJoin", Uniqueid=uid), 10, start, "QueueCallerJoin")
        time.sleep(delay)
        freed = self._log_in(agent) if system == "ours" else self._unpause(agent)
        dial = self.ami.wait(self.agent_dial(uid), 10, start, "DialBegin")
        got = agent_of(dial["DestChannel"])
        sample = None
        if got != agent:
            log(f"{system}: trial {k}: offered to {got}, expected {agent}; sample dropped")
        else:
            sample = self.offer_moment(dial) - freed
        self.ami.wait(event_is("DialEnd", Uniqueid=uid), 10, start, "DialEnd")
        if system != "ours":
            self.pause(agent, True)
        return sample

    def _log_in(self, agent: str) -> float:
        """Ours: log the agent in at the desk; the moment is the record's ``since`` (the
        clock reading the log-in was applied with, taken just before the Redis write)."""
        before = time.time()
        record = self.h.desk("log_in", agent)
        freed: float = record.since
        if str(record.state) != "available" or not before <= freed <= time.time():
            raise TimeoutError(f"log_in of {agent} did not take effect: {record}")
        return freed

    def _unpause(self, agent: str) -> float:
        """app_queue: unpause the member; the moment is its QueueMemberPause event's Timestamp."""
        mark = self.ami.mark()
        self.pause(agent, False, reason=None)
        return ts(self.ami.wait(event_is("QueueMemberPause", Interface=f"PJSIP/{agent}", Paused="0"),
                                5, mark, "QueueMemberPause"))

    def _log_out_after_call(self, agent: str) -> None:
        """Ours: once the agent left the call, log it out again for the next trial."""
        self.h.wait_for(lambda: self.h.agent_state(agent).get("state") in ("wrap_up", "available", "logged_out"),
                        10, f"agent {agent} never left the call")
        self.h.desk("log_out", agent)
        state = self.h.agent_state(agent).get("state")
        if state != "logged_out":
            log(f"ours: agent {agent} still {state} after log_out")

    # -- scenario 3: wrap-up ends while calls wait ---------------------------------------------
    def wrapup_end(self, system: str, seconds: float, hold_ms: int) -> list[float]:
        """Scenario 3: chains of calls for ``seconds``; the samples of offers to an agent
        whose wrap-up ended while the call waited (row 3b, the head callers only, is left
        in ``head_part``)."""
        start = self.ami.mark()
        calls, wrap_ends = self._run_chains(system, seconds, hold_ms)
        self.finish(calls, timeout=20)
        if system != "ours":
            for e in self.ami.since(start):
                if e.get("Event") == "AgentComplete" and e.get("MemberName") in wrap_ends:
                    wrap_ends[e["MemberName"]].add(app_queue_wrap_end(ts(e), FALLBACK_WRAPUP))
        seen = [s for c in calls if (s := self._call_seen(system, c, start)) is not None]
        every, head = wrapup_samples(seen, wrap_ends)
        log(f"{system}: wrap-up scenario: {len(calls)} calls, {len(every)} samples ({len(head)} head of queue), "
            f"{sum(1 for x in seen if x.offered is None)} never offered")
        self.head_part = head
        return every

    def _run_chains(self, system: str, seconds: float, hold_ms: int) -> tuple[list[Placed], dict[str, set[float]]]:
        """One chain of calls per agent, each next call a random CHAIN_GAP after its
        previous caller hung up, for ``seconds``; then the last callers are let finish.
        Returns the calls and, for ours, the wrap-up ends polled from Redis."""
        chains: list[Placed | None] = [None] * len(AGENT_IDS)
        # Without the random gap the chains stay in step and the calls queue at a fixed
        # offset from the wrap-up ends, locking the phase of app_queue's 1 s re-check and of
        # our router's 0.25 s tick to the benchmark's timing. The chains' first calls are
        # staggered 1.5 s apart: started together they are answered together and the
        # agents' wrap-ups end together, for the whole run.
        next_at = [time.monotonic() + 1.5 * i + self.rng.uniform(0, 0.5) for i in range(len(AGENT_IDS))]
        calls: list[Placed] = []
        wrap_ends: dict[str, set[float]] = {a: set() for a in AGENT_IDS}
        deadline = time.monotonic() + seconds
        hard_deadline = deadline + hold_ms / 1000 + 30
        while time.monotonic() < hard_deadline:
            running = self._step_chains(chains, next_at, calls, hold_ms, deadline)
            if system == "ours":
                self._poll_wrap_ends(wrap_ends)
            if not running:
                break
            time.sleep(0.02)
        return calls, wrap_ends

    def _step_chains(self, chains: list[Placed | None], next_at: list[float], calls: list[Placed],
                     hold_ms: int, deadline: float) -> bool:
        """One look at the chains: schedule the next call of a chain whose caller hung up,
        place the calls that are due. False once no call runs and none will be placed."""
        running = False
        now = time.monotonic()
        for i, c in enumerate(chains):
            if c is not None and c.peer.proc.poll() is None:
                running = True
                continue
            if c is not None:  # just finished: schedule the chain's next call
                chains[i] = None
                next_at[i] = now + self.rng.uniform(*CHAIN_GAP)
            if now < deadline:
                running = True
                if now >= next_at[i]:
                    placed = chains[i] = self.place(hold_ms)
                    calls.append(placed)
        return running

    def _poll_wrap_ends(self, wrap_ends: dict[str, set[float]]) -> None:
        """Ours: note each agent's ``wrap_until`` while it is in wrap-up (no event marks
        the end, so Redis is polled every 20 ms)."""
        for a in AGENT_IDS:
            st = self.h.redis.hmget(self.h.keys.agent(a), "state", "wrap_until")
            if st[0] == "wrap_up" and st[1]:
                wrap_ends[a].add(float(st[1]))

    def _call_seen(self, system: str, call: Placed, start: int) -> CallSeen | None:
        """Scenario 3, one call: when it queued, was offered (to whom) or left unanswered."""
        uid = self.known_uniqueid(call)
        if uid is None:
            return None
        dial = self.ami.find(self.agent_dial(uid), start)
        if system == "ours":
            got = self.queued_at(call)
            if got is None:
                return None
            rec = self.h.store.get(uid) or {}
            queued, left = got[0], (epoch(rec["ended_at"]) if rec.get("ended_at") is not None else None)
        else:
            join = self.ami.find(event_is("QueueCallerJoin", Uniqueid=uid), start)
            leave = self.ami.find(event_is("QueueCallerLeave", Uniqueid=uid), start)
            if join is None:
                return None
            queued, left = ts(join), (ts(leave) if leave else None)
        if dial is None:
            return CallSeen(queued, None, left, "")
        return CallSeen(queued, self.offer_moment(dial), None, agent_of(dial["DestChannel"]))
