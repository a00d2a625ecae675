"""The leader's fast offer: deciding a new call from the mirror of the live state, no I/O.

Run: ``python -m benchmarks.fast_offer_bench`` (a few seconds).

When the leader's last routing step saw nobody waiting, a new call is decided in-process
(hotline/routing/offer_book.py ``OfferBook.decide``, asked by ``RouterService.fast_offer``) and the agent is rung before the
Redis claim answers. Its Python cost is on the offer path, so this prints it for 50 to
2,000 agents (half of them idle, hotline-shaped skills), against the same decision with
the snapshot rebuilt from the agent records for every call (what it costs without the
mirror), timed in the same process on the same records. The answer for a call of a shape
seen before is prepared after the previous offer, once its Dial is out: that part is
printed apart ("after"), it is not on any call's offer path.
"""
from __future__ import annotations

import os
import platform
import random
import statistics
import time

from acd import QueuePolicy, route
from agents.roster import RosterAgent
from agents.state import AgentRecord, AgentState
from benchmarks.stats import nearest_rank_p99 as p99
from calls.model import QueuedCall
from calls.snapshot import build_snapshot
from hotline.config import ConfigHolder, HotlineConfig
from hotline.routing.offer_book import OfferBook

DOMAINS = ("traffic", "social_insurance", "public_security", "utilities", "education", "housing")
NOW = 100_000.0
QUEUES = {"main": QueuePolicy("main")}


def hotline_agents(rng: random.Random, n: int) -> tuple[dict[str, RosterAgent], list[AgentRecord]]:
    roster, records = {}, []
    for i in range(n):
        agent_id = str(10_000 + i)
        skills = tuple(sorted({d: rng.randint(1, 5) for d in rng.sample(DOMAINS, rng.randint(1, 3))}.items()))
        roster[agent_id] = RosterAgent(agent_id, agent_id, frozenset({"zh"}), skills)
        state = AgentState.AVAILABLE if rng.random() < 0.5 else AgentState.ON_CALL
        records.append(AgentRecord(agent_id, state, since=NOW - rng.uniform(0, 300)))
    return roster, records


def leader(roster: dict[str, RosterAgent], records: list[AgentRecord]) -> OfferBook:
    """The leader's book after a step that found nobody waiting (which builds the agents,
    off the offer path)."""
    book = OfferBook(ConfigHolder(HotlineConfig(roster, QUEUES, {}, None)))  # type: ignore[arg-type]
    assert book.observe([], records, NOW)
    return book


def measure(n: int, calls: int, seed: int = 12345) -> tuple[list[float], list[float], list[float]]:
    """(on the offer path, after it, baseline) seconds per decision. As live: ``decide``
    (a look-up once the shape was prepared), the Dial would go out, then ``taken``
    reserves the agent in the mirror and ``prepare`` works out the next call's answer."""
    rng = random.Random(seed + n)
    roster, records = hotline_agents(rng, n)
    new = [QueuedCall(f"c{i}", "me", "main", NOW) for i in range(calls)]
    fast, after, rebuilt = [], [], []
    router = leader(roster, records)
    for call in new:
        t0 = time.perf_counter()
        offer = router.decide(call, NOW)
        t1 = time.perf_counter()
        assert offer is not None
        router.taken(call, offer.agent_id, NOW)
        router.prepare(NOW)
        t2 = time.perf_counter()
        fast.append(t1 - t0)
        after.append(t2 - t1)
    for call in new:  # baseline: the same first decision, snapshot rebuilt every time
        t0 = time.perf_counter()
        decided = route(build_snapshot([call], records, roster, QUEUES, NOW), NOW)
        rebuilt.append(time.perf_counter() - t0)
        assert decided
    return fast, after, rebuilt


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    print("fast offer: one new call decided from the leader's mirror (nobody waiting), per decision;")
    print("'after' = reserving the agent in the mirror and preparing the next call's answer, once the Dial is out")
    print(f"{'agents':>7} {'offer med':>10} {'offer p99':>10} {'after med':>10} {'rebuilt med':>12} {'rebuilt p99':>12} {'ratio':>7}")
    for n in (50, 100, 250, 500, 1000, 2000):
        fast, after, rebuilt = measure(n, calls=min(200, n // 4))
        ratio = statistics.median(rebuilt) / statistics.median(fast)
        print(f"{n:>7} {statistics.median(fast) * 1e3:>8.3f}ms {p99(fast) * 1e3:>8.3f}ms "
              f"{statistics.median(after) * 1e3:>8.3f}ms "
              f"{statistics.median(rebuilt) * 1e3:>10.3f}ms {p99(rebuilt) * 1e3:>10.3f}ms {ratio:>6.1f}x")


if __name__ == "__main__":
    main()
