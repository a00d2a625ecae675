"""From what the benchmark saw to samples: pure arithmetic over AMI events, wire times and
database rows, so that each rule of what counts as an offer, a start or a sample is
tested without Asterisk. The scenarios (scenarios.py) gather the inputs."""
from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from typing import Any, Collection, Iterable, Mapping, NamedTuple, Protocol

from benchmarks.offer.ami_tap import Event, agent_leg, is_agent_dial, ts
from hotline.asterisk.channels import agent_of

HEAD_MARGIN = 0.05  # scenario 3: a sample's call queued at least this long before the wrap-up end
NEAR_HANGUP = 0.05  # scenario 1: an offer this soon after another call's hang-up met its tear-down


class InviteTimes(Protocol):
    """What the offer moment needs of the sniffer (the INVITE on the wire for a DialBegin)."""

    def invite_of(self, dial: Event) -> float | None: ...


def offer_moment(dial: Event, invites: InviteTimes | None) -> float:
    """When the agent's INVITE left Asterisk: its packet on the wire when captured,
    else the DialBegin's Timestamp (which the manager stamps about 0.25 ms later)."""
    at = invites.invite_of(dial) if invites is not None else None
    return ts(dial) if at is None else at


def epoch(value: Any) -> float:
    """Epoch seconds of a database time (a datetime, naive meaning UTC, or a number)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


def queued_and_offered(events: Iterable[Mapping[str, Any]]) -> tuple[float, float | None] | None:
    """Ours: (queued, offered) from a call's events in our database (its first of each);
    None when it never queued. 'offered' is the routing decision, before the Dial."""
    rows = list(events)
    queued = [epoch(e["at"]) for e in rows if e["kind"] == "queued"]
    offered = [epoch(e["at"]) for e in rows if e["kind"] == "offered"]
    return (queued[0], offered[0] if offered else None) if queued else None


def near_hangups(offers: Iterable[float], hangups: Collection[float]) -> int:
    """How many offers came within NEAR_HANGUP after some hang-up (its tear-down ran alongside)."""
    return sum(1 for t in offers if any(0 <= t - h <= NEAR_HANGUP for h in hangups))


def stratified_delays(rng: random.Random, trials: int) -> list[float]:
    """Scenario 2: the agent is freed 0.2-1.2 s after the call queued, one random delay in
    each 1/trials slice of that second, shuffled, so that app_queue's 1 s re-check is met
    at evenly spread phases even with few trials."""
    delays = [0.2 + (k + rng.random()) / trials for k in range(trials)]
    rng.shuffle(delays)
    return delays


def app_queue_wrap_end(complete_at: float, wrapup: float) -> float:
    """When app_queue really frees a member after the AgentComplete at ``complete_at``: it
    keeps the call's end in whole seconds (time(&member->lastcall)) and tests
    ``time(NULL) - wrapuptime < lastcall``, so floor(end) + wrap-up."""
    return math.floor(complete_at) + wrapup


class CallSeen(NamedTuple):
    """Scenario 3, one call: when it queued, when it was offered (None if never), when it
    left the queue unanswered (None if it did not or was offered), and to which agent."""

    queued: float
    offered: float | None
    left: float | None
    agent: str


def wrapup_samples(seen: list[CallSeen], wrap_ends: Mapping[str, Collection[float]]) -> tuple[list[float], list[float]]:
    """Scenario 3's samples (every, head): an offer at T to agent X whose call queued at
    least HEAD_MARGIN before X's last wrap-up end F at or before T gives T - F; "head"
    keeps those whose call was the oldest one still waiting at F. Offers straight to an
    idle agent (no wrap-up end just before, or the call came after it) are no samples."""
    every: list[float] = []
    head: list[float] = []
    for queued, t, _, agent in seen:
        if t is None:
            continue
        ends = [f for f in wrap_ends.get(agent, ()) if t - 15 < f <= t + 0.002]
        if not ends or queued >= max(ends) - HEAD_MARGIN:
            continue
        f = max(ends)
        every.append(t - f)
        # Head of the queue at F: no call that queued earlier was still waiting then.
        if not any(o.queued < queued and (o.offered if o.offered is not None else (o.left or 0.0)) > f for o in seen):
            head.append(t - f)
    return every, head


class AgentView:
    """Scenario 1's own view of which agents are idle, from AMI: an agent is busy from
    its DialBegin to its channel's Hangup plus the wrap-up plus 0.5 s. Calls are placed
    only when this view has an idle agent for them, so each is a lone arrival."""

    def __init__(self, agents: Collection[str], wrapup: float) -> None:
        self.agents = agents
        self.wrapup = wrapup
        self.busy_until = {a: 0.0 for a in agents}
        self.in_call: set[str] = set()

    def feed(self, e: Event) -> None:
        """Take one AMI event, in the order they came."""
        if is_agent_dial(e, self.agents):
            self.in_call.add(agent_of(e["DestChannel"]))
        elif e.get("Event") == "Hangup" and (agent := agent_leg(e.get("Channel", ""), self.agents)):
            self.in_call.discard(agent)
            self.busy_until[agent] = ts(e) + self.wrapup + 0.5

    def idle(self, now: float) -> int:
        """How many agents are neither in a call nor in (wrap-up + 0.5 s) at ``now``."""
        return sum(1 for a in self.agents if a not in self.in_call and self.busy_until[a] < now)
