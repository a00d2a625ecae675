"""Benchmark of ``acd.route`` against a naive O(calls x agents) router with the same rules.

Run: ``python -m benchmarks.routing_bench`` (about a minute on 2 cores).

Prints the median and p99 time of one ``route()`` call for 500 agents and
300 waiting calls, then a growth table from 50 to 2,000 agents (with 0.6
waiting calls per agent), each size timed for both routers in the same
process on the same snapshots. The naive router is also an oracle: the
benchmark checks that both give identical assignments before timing them.

Synthetic data is seeded and shaped like the 12345 hotline: 90 % Mandarin
callers, six foreign languages, the six big business domains, province and
business-environment lines, repeat callers, callbacks and RONA exclusions,
and 10-30 % of the agents available at any moment.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from acd import (
    Agent,
    Assignment,
    Call,
    QueuePolicy,
    RelaxStep,
    Snapshot,
    fairness_key,
    order_calls,
    route,
)
from acd.model import Reason

DOMAINS = ("traffic", "social_insurance", "public_security", "utilities", "education", "housing")
FOREIGN = ("en", "ja", "ko", "ru", "fr", "de")
NOW = 100_000.0

QUEUES: Mapping[str, QueuePolicy] = {
    "main": QueuePolicy(name="main", multilingual_last=True),  # as the shipped queues.yaml
    "province": QueuePolicy(
        name="province",
        priority=2,
        multilingual_last=True,
        relaxation=(RelaxStep(0, 3), RelaxStep(4, 1), RelaxStep(8, 0)),
    ),
    "business": QueuePolicy(
        name="business",
        priority=2,
        multilingual_last=True,
        line_skills=frozenset({"business_env"}),
        relaxation=(RelaxStep(0, 0), RelaxStep(8, 0, keep_line_skills=False)),
    ),
}


# -- synthetic data -----------------------------------------------------------


def make_agent(rng: random.Random, i: int, available_share: float) -> Agent:
    """One agent: Mandarin, 10 % with a foreign language, 1-3 domains, 5 % business seats."""
    languages = {"zh"} if rng.random() < 0.9 else {"zh", rng.choice(FOREIGN)}
    skills = {d: rng.randint(1, 5) for d in rng.sample(DOMAINS, rng.randint(1, 3))}
    queues: frozenset[str] = frozenset()
    if rng.random() < 0.05:
        skills["business_env"] = rng.randint(2, 5)
        queues = frozenset({"business"})
    return Agent(
        agent_id=f"a{i:05d}",
        languages=frozenset(languages),
        skills=tuple(sorted(skills.items())),
        available=rng.random() < available_share,
        idle_since=NOW - rng.uniform(0, 180),
        queues=queues,
        busy_seconds=rng.uniform(0, 4 * 3600),
    )


def make_call(rng: random.Random, i: int, agent_ids: Sequence[str]) -> Call:
    """One waiting call: 85 % main line, 90 % Mandarin, mostly one domain."""
    queue = rng.choices(("main", "province", "business"), weights=(85, 9, 6))[0]
    language = "zh" if rng.random() < 0.9 else rng.choice(FOREIGN)
    skills = frozenset(rng.sample(DOMAINS, rng.choices((0, 1, 2), weights=(15, 80, 5))[0]))
    excluded = frozenset({rng.choice(agent_ids)}) if rng.random() < 0.03 else frozenset()
    preferred = rng.choice(agent_ids) if rng.random() < 0.01 else None
    return Call(
        call_id=f"c{i:05d}",
        queue=queue,
        arrived_at=NOW - rng.uniform(0, 40),
        language=language,
        skills=skills,
        priority=1 if rng.random() < 0.05 else 0,
        preferred_agent=preferred,
        excluded_agents=excluded,
        callback=rng.random() < 0.03,
    )


def make_snapshot(seed: int, n_agents: int, n_calls: int) -> Snapshot:
    """A seeded snapshot; 10-30 % of agents available (the share is drawn per snapshot)."""
    rng = random.Random(seed)
    share = rng.uniform(0.1, 0.3)
    agents = tuple(make_agent(rng, i, share) for i in range(n_agents))
    ids = [a.agent_id for a in agents]
    calls = tuple(make_call(rng, i, ids) for i in range(n_calls))
    return Snapshot(calls=calls, agents=agents, queues=QUEUES)


# -- naive baseline -----------------------------------------------------------


@dataclass
class _NaiveState:
    owner: dict[str, int]
    agent_of: dict[int, str]
    eligible: dict[int, list[Agent]]
    moved: set[int]
    dead: set[str]


def naive_route(snapshot: Snapshot, now: float) -> tuple[Assignment, ...]:
    """Same rules as ``acd.route``, but every question is a scan of all agents."""
    agents = sorted((a for a in snapshot.agents if a.available), key=lambda a: fairness_key(a, snapshot.tuning))
    order = order_calls(snapshot)
    state = _NaiveState({}, {}, {}, set(), set())
    caps = _naive_caps(snapshot, agents)
    taken: dict[str, int] = {}
    deferred = []
    for pos, call in enumerate(order):
        if call.callback and call.queue in caps and taken.get(call.queue, 0) >= caps[call.queue]:
            deferred.append(pos)
            continue
        _naive_serve(snapshot, now, agents, order, pos, state)
        if call.callback and pos in state.agent_of:
            taken[call.queue] = taken.get(call.queue, 0) + 1
    for pos in deferred:
        _naive_serve(snapshot, now, agents, order, pos, state)
    return tuple(_naive_assignment(snapshot, now, order[p], p, state) for p in sorted(state.agent_of))


def _naive_caps(snapshot: Snapshot, agents: list[Agent]) -> dict[str, int]:
    if all(c.callback for c in snapshot.calls):
        return {}
    return {
        q: int(p.callback_max_share * sum(1 for a in agents if a.serves(q))) for q, p in snapshot.queues.items()
    }


def _naive_eligible(call: Call, policy: QueuePolicy, now: float, agents: list[Agent]) -> list[Agent]:
    step = policy.relaxation[policy.step_index(now - call.arrived_at)]

    def ok(a: Agent) -> bool:
        """Every rule, checked on one pair."""
        if call.language not in a.languages:
            return False
        if not a.serves(call.queue) and not any(a.serves(q) for q in step.overflow_to):
            return False
        if step.keep_line_skills and any(a.level(s) < 1 for s in policy.line_skills):
            return False
        return all(a.level(s) >= step.min_level for s in call.skills)

    found = [a for a in agents if ok(a)]
    rest = [a for a in found if a.agent_id not in call.excluded_agents]
    late = now - call.arrived_at >= policy.sl_target
    return found if (not rest and late) else rest


def _common_level(agent: Agent, skills: frozenset[str]) -> int:
    return min((agent.level(s) for s in skills), default=0)


def _naive_pick(call: Call, policy: QueuePolicy, candidates: list[Agent]) -> Agent:
    for a in candidates:
        if a.agent_id == call.preferred_agent:
            return a
    rank = {a.agent_id: i for i, a in enumerate(candidates)}
    return min(
        candidates,
        key=lambda a: (not a.serves(call.queue), -_common_level(a, policy.line_skills),
                       -_common_level(a, call.skills), len(a.languages) if policy.multilingual_last else 0,
                       rank[a.agent_id]),
    )


def _naive_serve(snapshot: Snapshot, now: float, agents: list[Agent], order: list[Call], pos: int, st: _NaiveState) -> None:
    call = order[pos]
    policy = snapshot.queues[call.queue]
    st.eligible[pos] = _naive_eligible(call, policy, now, agents)
    free = [a for a in st.eligible[pos] if a.agent_id not in st.owner]
    if free:
        _naive_assign(st, pos, _naive_pick(call, policy, free).agent_id)
    elif st.eligible[pos]:
        _naive_augment(snapshot, order, pos, st)


def _naive_assign(st: _NaiveState, pos: int, agent_id: str) -> None:
    st.agent_of[pos] = agent_id
    st.owner[agent_id] = pos


def _naive_augment(snapshot: Snapshot, order: list[Call], root: int, st: _NaiveState) -> None:
    came_from: dict[int, tuple[int, str]] = {}
    frontier: list[int] = [root]
    seen: set[str] = set()
    while frontier:
        following = []
        for pos in frontier:
            free = [a for a in st.eligible[pos] if a.agent_id not in st.owner]
            if free:
                call = order[pos]
                _naive_assign(st, pos, _naive_pick(call, snapshot.queues[call.queue], free).agent_id)
                while pos in came_from:
                    st.moved.add(pos)
                    pos, agent_id = came_from[pos]
                    _naive_assign(st, pos, agent_id)
                return
            for a in st.eligible[pos]:
                if a.agent_id not in st.dead and a.agent_id not in seen:
                    seen.add(a.agent_id)
                    holder = st.owner[a.agent_id]
                    came_from[holder] = (pos, a.agent_id)
                    following.append(holder)
        frontier = following
    st.dead |= seen


def _naive_assignment(snapshot: Snapshot, now: float, call: Call, pos: int, st: _NaiveState) -> Assignment:
    policy = snapshot.queues[call.queue]
    agent_id = st.agent_of[pos]
    agent = next(a for a in snapshot.agents if a.agent_id == agent_id)
    reason: Reason = "best_match"
    if agent_id in call.excluded_agents:
        reason = "excluded_override"
    elif agent_id == call.preferred_agent:
        reason = "preferred"
    elif pos in st.moved:
        reason = "rebalanced"
    waited = now - call.arrived_at
    return Assignment(
        call_id=call.call_id,
        agent_id=agent_id,
        queue=call.queue,
        relax_step=policy.step_index(waited),
        waited=max(waited, 0.0),
        match_level=_common_level(agent, call.skills),
        reason=reason,
    )


# -- timing -------------------------------------------------------------------


def time_calls(fn: Callable[[Snapshot, float], object], snapshots: Sequence[Snapshot], repeat: int) -> list[float]:
    """Seconds per call of ``fn`` over ``snapshots``, ``repeat`` rounds (one sample per call)."""
    samples = []
    for _ in range(repeat):
        for snap in snapshots:
            start = time.perf_counter()
            fn(snap, NOW)
            samples.append(time.perf_counter() - start)
    return samples


def p99(samples: Sequence[float]) -> float:
    """99th percentile (nearest-rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def check_same(snapshots: Sequence[Snapshot]) -> None:
    """Fail loudly if the fast and the naive router ever disagree."""
    for snap in snapshots:
        if route(snap, NOW) != naive_route(snap, NOW):
            raise SystemExit("route() and naive_route() disagree: the comparison would be meaningless")


def headline(n_snapshots: int, repeat: int) -> None:
    """Median and p99 of ``route()`` on 500 agents and 300 waiting calls."""
    snapshots = [make_snapshot(seed, 500, 300) for seed in range(n_snapshots)]
    check_same(snapshots[:20])
    for fn in (route, route):  # first pass warms caches and the allocator
        samples = time_calls(fn, snapshots, repeat)
    made = statistics.mean(len(route(s, NOW)) for s in snapshots)
    print(f"route(): 500 agents, 300 waiting calls, {len(samples)} calls, {made:.0f} assignments on average")
    print(f"  median {statistics.median(samples) * 1e3:.3f} ms   p99 {p99(samples) * 1e3:.3f} ms")


def growth(sizes: Sequence[int], n_snapshots: int) -> None:
    """One table row per size: both routers on the same snapshots, and the speed-up."""
    print()
    print(f"{'agents':>7} {'calls':>6} {'avail':>6} {'assigned':>8} {'route med':>10} {'route p99':>10} "
          f"{'naive med':>10} {'naive p99':>10} {'speed-up':>9}")
    for n in sizes:
        snaps = [make_snapshot(1000 + seed, n, int(n * 0.6)) for seed in range(n_snapshots)]
        check_same(snaps[:3])
        fast = time_calls(route, snaps, 3)
        slow = time_calls(naive_route, snaps, 1)
        avail = statistics.mean(sum(a.available for a in s.agents) for s in snaps)
        made = statistics.mean(len(route(s, NOW)) for s in snaps)
        ratio = statistics.median(slow) / statistics.median(fast)
        print(f"{n:>7} {int(n * 0.6):>6} {avail:>6.0f} {made:>8.0f} {statistics.median(fast) * 1e3:>8.3f}ms "
              f"{p99(fast) * 1e3:>8.3f}ms {statistics.median(slow) * 1e3:>8.2f}ms {p99(slow) * 1e3:>8.2f}ms "
              f"{ratio:>8.1f}x")


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: ``python -m benchmarks.routing_bench``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200, help="snapshots for the 500-agent headline")
    parser.add_argument("--repeat", type=int, default=10, help="rounds over the headline snapshots")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")
    headline(args.snapshots, args.repeat)
    growth((50, 100, 250, 500, 1000, 2000), n_snapshots=20)


if __name__ == "__main__":
    main()
