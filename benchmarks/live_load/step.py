"""One step of the load: citizens at one rate through one system, measured.

What a step does, in order:

1. starts the call takers' SIPp (a fresh one each step, so its statistics are the step's);
2. reads the CPU counters of Asterisk, the controller and the Redis (``procstat.Usage``) and
   starts sampling their memory;
3. starts the citizens' SIPp: ``rate`` calls a second for ``seconds`` s to the no-menu number
   (greeting, then the main line), each citizen speaking from the answer and staying at
   most ``greeting + patience + talk`` s (with 2 s to spare); a call taker hangs up ``talk``
   s after answering, which ends the citizen's call too;
4. waits until every citizen is done and Asterisk has no channel left (ours: also until the
   records of the step's callers stop coming), then reads the CPU counters again;
5. counts, per citizen, from the system's own data: ours from the stored records (queued_at
   to answered_at, the controller's clock), app_queue from AMI (QueueCallerJoin to
   AgentConnect, Asterisk's Timestamps); and from the SIP side, independently: calls the
   call takers' SIPp answered and completed, calls the citizens' SIPp failed.

A call **connected** is one a call taker answered (the call takers' SIPp's completed calls);
**failed** = placed minus connected (a citizen refused at the door, one who hung up waiting,
one whose call broke). The waiting time runs from the queue entry to the call taker's answer.
"""
from __future__ import annotations

import asyncio
import resource
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from benchmarks.live_load.peers import Peer, count, failures, start_call_takers, start_citizens
from benchmarks.live_load.procstat import Sampler, Usage
from benchmarks.live_load.report import StepResult
from benchmarks.offer.ami_tap import AmiTap, Event, ts
from hotline.asterisk import process as asterisk_process
from tests.integration.harness import Hotline

FALLBACK_QUEUE = "hotline-fallback"
NO_MENU = "12349"  # ivr/flows/compliant.yaml: the greeting, then the main line


@dataclass(frozen=True)
class Ports:
    """Where the step's SIP peers listen: the call takers' phone and the two media sockets."""

    takers: int
    takers_media: int
    citizens_media: int


@dataclass(frozen=True)
class Load:
    """One step's load: ``rate`` calls a second for ``seconds`` s; ``talk`` s with the call
    taker; a citizen stays ``patience + talk + 2`` s after entering the line (a wait longer
    than ``patience`` cuts the talk short, one longer than that loses the call); ``greeting``
    s of IVR before the queue (ours; 0 for app_queue, which answers and queues at once)."""

    rate: float
    seconds: float
    talk: float
    patience: float
    greeting: float = 0.0
    ring_ms: int = 300

    @property
    def calls(self) -> int:
        return max(1, round(self.rate * self.seconds))

    @property
    def hold_ms(self) -> int:
        return int((self.greeting + self.patience + self.talk + 2.0) * 1000)


def log_in(h: Hotline, agents: Iterable[str]) -> None:
    """Log the agents in as the desk does (``AgentService.log_in``), over one Redis connection
    (the harness's ``desk`` opens one per action: a minute for hundreds of agents)."""
    async def all_in() -> None:
        from redis.asyncio import Redis

        from hotline.live.agent_service import AgentService
        from hotline.live.keys import LiveKeys
        from hotline.live.redis_state import LiveState

        client = Redis.from_url(h.settings.redis_url, decode_responses=True)
        try:
            desk = AgentService(LiveState(client, LiveKeys.for_instance(h.settings.instance)), time.time)
            for agent in agents:
                await desk.log_in(agent)
        finally:
            await client.aclose()

    asyncio.run(all_in())


def active_channels(h: Hotline) -> int:
    """Asterisk's channels in progress (``core show channels count``); -1 if unreadable."""
    try:
        out = asterisk_process.cli(h.settings, "core show channels count", timeout=10)
    except (asterisk_process.AsteriskError, subprocess.TimeoutExpired):
        return -1
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return -1


def app_queue_waits(events: Iterable[Event], callers: set[str]) -> tuple[dict[str, float], dict[str, str]]:
    """From app_queue's AMI events: {caller: wait} of the connected citizens, and {caller:
    what happened} of the others that joined the queue ('abandoned' or 'still waiting')."""
    joined: dict[str, tuple[str, float]] = {}
    connected: dict[str, float] = {}
    abandoned: set[str] = set()
    for e in events:
        kind = e.get("Event")
        if kind == "QueueCallerJoin" and e.get("Queue") == FALLBACK_QUEUE and e.get("CallerIDNum") in callers:
            joined[e["Uniqueid"]] = (e["CallerIDNum"], ts(e))
        elif kind == "AgentConnect" and e.get("Uniqueid") in joined:
            connected.setdefault(e["Uniqueid"], ts(e))
        elif kind == "QueueCallerAbandon" and e.get("Uniqueid") in joined:
            abandoned.add(e["Uniqueid"])
    waits = {joined[u][0]: at - joined[u][1] for u, at in connected.items()}
    others = {caller: ("abandoned" if u in abandoned else "left the queue unanswered")
              for u, (caller, _) in joined.items() if u not in connected}
    return waits, others


def ours_waits(records: Iterable[Any], callers: set[str]) -> tuple[dict[str, float], dict[str, str]]:
    """From the stored records (``CallRecord``): {caller: wait} of the answered citizens, and
    {caller: outcome} of the others."""
    waits: dict[str, float] = {}
    others: dict[str, str] = {}
    for r in records:
        if r.caller not in callers:
            continue
        if r.outcome == "answered" and r.wait_seconds is not None:
            waits[r.caller] = r.wait_seconds
        else:
            others[r.caller] = r.outcome
    return waits, others


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(h: Hotline, system: str, load: Load, tag: str, pids: Mapping[str, int | None], ports: Ports,
             ami: AmiTap | None = None, log: Callable[[str], None] = print,
             keep: list[Peer] | None = None) -> StepResult:
    """Place the step's calls through whichever system now takes them and measure it (see
    the module doc). ``tag``: two digits that make the step's caller numbers unique;
    ``keep``: where the started SIPp peers are listed, so a failed run still stops them."""
    callers = [f"139{tag}{i:06d}" for i in range(load.calls)]
    mine = set(callers)
    takers = start_call_takers(ports.takers, ports.takers_media, talk_ms=int(load.talk * 1000), ring_ms=load.ring_ms)
    peers = keep if keep is not None else []
    peers.append(takers)
    time.sleep(0.5)
    mark = ami.mark() if ami is not None else 0
    log(f"{system}: {load.rate:g} calls/s for {load.seconds:g} s ({load.calls} calls)")
    usage = Usage(pids).start()
    children = _children_cpu()
    with Sampler(pids) as sampler:
        started = time.time()
        citizens = start_citizens(h.settings.sip_port, callers, load.rate, NO_MENU, load.hold_ms,
                                  ports.citizens_media)
        peers.append(citizens)
        try:
            citizens.wait(timeout=load.seconds + load.hold_ms / 1000 + 150)
        except subprocess.TimeoutExpired:
            log(f"{system}: the citizens' SIPp did not finish; stopped")
            citizens.stop()
        placed_for = time.time() - started
        records = _drain(h, system, mine, started)
        usage.stop()
        children = _children_cpu() - children
    time.sleep(1.2)  # the call takers' statistics file is rewritten every second
    takers_stats = takers.stats()
    citizens_stats = citizens.stats()
    for peer in (takers, citizens):
        peer.close()
        peers.remove(peer)
    events = ami.since(mark) if ami is not None else []
    if system == "ours":
        waits, others = ours_waits(records, mine)
        # a call the controller did not keep (its FastAGI session failed before an agent
        # answered) goes to the dialplan's fallback app_queue: seen there, not in the records
        fell_back = {e.get("CallerIDNum") for e in events if e.get("Event") == "QueueCallerJoin"}
        for caller in mine - waits.keys() - others.keys():
            others[caller] = "fell back to app_queue (no record yet)" if caller in fell_back else "no record"
    else:
        waits, others = app_queue_waits(events, mine)
        for caller in mine - waits.keys() - others.keys():
            others[caller] = "never in the queue"
    reasons = Counter(others.values())
    sip_failed = count(citizens_stats, "FailedCall(C)")
    result = StepResult(
        system=system, rate=load.rate, seconds=load.seconds, placed=count(citizens_stats, "OutgoingCall(C)") or
        load.calls, connected=count(takers_stats, "SuccessfulCall(C)"), answered_by_system=len(waits),
        waits=sorted(waits.values()), reasons=dict(reasons), sip_failed=sip_failed,
        sip_failures=failures(citizens_stats), takers_failed=count(takers_stats, "FailedCall(C)"),
        window=time.time() - started, placing=placed_for,
        cpu={name: usage.own.get(name, 0.0) for name in pids}, janitor_cpu=usage.children.get("controller", 0.0),
        load_generator_cpu=children, rss=dict(sampler.peak), machine_busy=usage.machine_busy_share,
        steal=usage.steal)
    log(result.summary())
    return result


def _drain(h: Hotline, system: str, mine: set[str], started: float, timeout: float = 90.0) -> list[Any]:
    """Wait until Asterisk has no channel left and (ours) the records of the step's callers
    stop coming; return those records (ours) or []."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and active_channels(h) != 0:
        time.sleep(0.5)
    if system != "ours":
        return []
    # the records are read even when channels outlived the wait (a call that is not the
    # step's, say): on a deadline of their own, or none would be read at all
    deadline = time.monotonic() + 30.0
    seen, stable_since = -1, time.monotonic()
    records: list[Any] = []
    while time.monotonic() < deadline:
        records = [r for r in h.store.records(started - 5, time.time() + 5) if r.caller in mine]
        if len(records) == len(mine):
            break
        if len(records) != seen:
            seen, stable_since = len(records), time.monotonic()
        elif time.monotonic() - stable_since > (5 if records else 20):
            break  # none yet: the database may be held a while (the recordings janitor's pass)
        time.sleep(0.5)
    return records
