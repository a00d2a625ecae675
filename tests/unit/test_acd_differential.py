"""The bitset router against the benchmark's naive scan of every (call, agent) pair.

Both implement the same rules, one with integer masks and one with plain
loops, so on realistic seeded snapshots (the benchmark's own generator) they
must return exactly the same assignments, reasons and all. This also keeps
the benchmark's speed-up figure honest: it compares equal work.

The benchmark's queues have ``multilingual_last`` on, as the shipped lines do: the
naive scan's agent choice has the rule's one extra key (fewest languages, after the
skills, before fairness); with the rule off on every line they must agree too.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import benchmarks.routing_bench as bench
from acd import Agent, Call, QueuePolicy, Snapshot, route
from benchmarks.routing_bench import NOW, QUEUES, make_snapshot, naive_route


@pytest.mark.parametrize("seed", range(12))
def test_same_assignments_as_the_naive_scan(seed: int) -> None:
    snapshot = make_snapshot(seed, n_agents=120, n_calls=80)
    fast = route(snapshot, NOW)
    assert fast == naive_route(snapshot, NOW)
    assert fast, "the generator should produce work"


def _tangled(seed: int) -> Snapshot:
    """Few agents, several languages each: sparse, tangled eligibility."""
    rng = random.Random(seed)
    base = make_snapshot(100 + seed, n_agents=60, n_calls=60)
    languages = ("zh", "en", "ja", "ko", "ru")
    agents = tuple(
        replace(a, languages=frozenset(rng.sample(languages, rng.randint(1, 3))), available=rng.random() < 0.6)
        for a in base.agents
    )
    calls = tuple(replace(c, language=rng.choice(languages)) for c in base.calls)
    return Snapshot(calls, agents, QUEUES)


@pytest.mark.parametrize("seed", range(12))
def test_same_assignments_when_agents_are_scarce_and_multilingual(seed: int) -> None:
    snapshot = _tangled(seed)
    assert route(snapshot, NOW) == naive_route(snapshot, NOW)


def test_tangled_snapshots_do_exercise_rebalancing() -> None:
    reasons = {a.reason for seed in range(12) for a in route(_tangled(seed), NOW)}
    assert "rebalanced" in reasons


def _rule_on(snapshot: Snapshot, on: bool = True) -> Snapshot:
    return replace(snapshot, queues={n: replace(p, multilingual_last=on) for n, p in snapshot.queues.items()})


@pytest.mark.parametrize("on", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_same_assignments_with_the_rule_on_and_off(seed: int, on: bool) -> None:
    for snapshot in (_rule_on(make_snapshot(seed, n_agents=120, n_calls=80), on), _rule_on(_tangled(seed), on)):
        assert route(snapshot, NOW) == naive_route(snapshot, NOW)


def test_the_rule_does_change_choices_on_these_snapshots() -> None:
    snapshots = [make_snapshot(seed, n_agents=120, n_calls=80) for seed in range(12)]
    assert any(route(_rule_on(s, False), NOW) != route(_rule_on(s), NOW) for s in snapshots)
