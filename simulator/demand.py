"""The calls of a run, drawn once from the seed before the simulation starts.

Why up front: every design of a study (``simulator.study``) then answers the very same
callers, who arrive at the same moments, talk as long and are as patient (common random
numbers), so the difference between two designs is the designs', not the dice's. Only what
depends on the run itself (which ring is missed, whether a callback reaches the citizen)
is drawn during the run, from a second stream of the same seed.
"""
from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from acd import QueuePolicy
from simulator.scenario import DAY, Arrivals, Behaviour, Mix, Scenario


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One caller: when they ring (seconds from the run's start), what they need and do."""

    call_id: str
    arrival: float
    queue: str
    language: str
    skills: frozenset[str]
    priority: int
    talk: float
    patience: float  # math.inf: never hangs up
    caller: str
    leaves_ivr: bool = False
    books_callback: bool = False
    ivr: float | None = None  # seconds in the IVR (a replayed call's own); None: the scenario's


class _Picker:
    """Draws a key with the given shares (the remainder, if any, is ``rest``)."""

    def __init__(self, shares: Iterable[tuple[object, float]], rest: object = None) -> None:
        pairs = list(shares)
        self.keys = [k for k, _ in pairs] + [rest]
        self.bounds = list(itertools.accumulate(s for _, s in pairs))
        self.bounds.append(math.inf)

    def pick(self, rng: random.Random) -> object:
        return self.keys[bisect.bisect_right(self.bounds, rng.random())]


def arrival_times(arrivals: Arrivals, rng: random.Random, days: int = 1) -> list[float]:
    """Arrival times over ``days`` repeats of the day: a Poisson process with the rate of
    each interval, or exactly each interval's count placed uniformly (``given``)."""
    times: list[float] = []
    for day in range(days):
        for interval in arrivals.intervals:
            begin = day * DAY + interval.offset
            if arrivals.process == "given":
                times.extend(sorted(begin + rng.random() * interval.seconds for _ in range(round(interval.calls))))
                continue
            if interval.calls <= 0:
                continue
            rate, at = interval.calls / interval.seconds, begin
            while True:
                at += rng.expovariate(rate)
                if at >= begin + interval.seconds:
                    break
                times.append(at)
    return times


class _Drawer:
    """Draws each caller's line, language, skills and behaviour (see the scenario's mix)."""

    def __init__(self, mix: Mix, behaviour: Behaviour, queues: Mapping[str, QueuePolicy]) -> None:
        self.lines = _Picker(mix.lines, rest=mix.lines[0][0])
        self.languages = _Picker(mix.languages, rest="zh")
        self.skills = _Picker(mix.skills) if mix.skills else None
        self.priority = _Picker(mix.priority, rest=0) if mix.priority else None
        self.behaviour = behaviour
        self.queues = queues

    def call(self, rng: random.Random, call_id: str, at: float) -> CallSpec:
        queue = str(self.lines.pick(rng))
        policy = self.queues[queue]
        language = str(self.languages.pick(rng))
        if policy.languages and language not in policy.languages:
            language = "zh" if "zh" in policy.languages else min(policy.languages)
        skill = self.skills.pick(rng) if self.skills else None
        skills = frozenset({str(skill)}) if skill and (not policy.domains or skill in policy.domains) else frozenset()
        behaviour = self.behaviour
        patience = behaviour.patience.sample(rng) if behaviour.patience else math.inf
        return CallSpec(
            call_id=call_id, arrival=at, queue=queue, language=language, skills=skills,
            priority=int(self.priority.pick(rng)) if self.priority else 0,  # type: ignore[call-overload]
            talk=behaviour.talk_for(language).sample(rng), patience=patience,
            caller=f"13{rng.randrange(10 ** 9):09d}",
            leaves_ivr=rng.random() < behaviour.ivr_hangup, books_callback=rng.random() < behaviour.callback_accept)


def draw_calls(scenario: Scenario, seed: int, days: int = 1) -> list[CallSpec]:
    """All callers of a run of ``days`` days, in arrival order; the same for the same seed."""
    rng = random.Random(f"demand-{seed}")
    drawer = _Drawer(scenario.mix, scenario.behaviour, scenario.queues)
    return [drawer.call(rng, f"s{seed}-{n:07d}", at)
            for n, at in enumerate(arrival_times(scenario.arrivals, rng, days))]
