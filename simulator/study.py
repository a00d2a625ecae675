"""Skill-routing study: our router against a pooled bound, strict queues and app_queue penalties.

Run: ``python -m simulator.study`` (a few minutes on 2 cores; ``--quick`` for a rough one).

The same callers (drawn once per seed: arrival times, languages, lines, domains, talk
times, patience) meet the same roster under four routing designs (``simulator.baselines``):

(a) ours, as deployed: ``acd.route`` with ``queues/queues.yaml`` (language hard, domains
    relaxed at 5 and 10 s, the business-environment line to its seats first and to everyone
    after 8 s, multilingual seats last among equally skilled agents: ``multilingual_last``);
(a') ours before that last rule: ``multilingual_last`` off, pure fairness among equals
    (``baselines.BeforeTheRule``), to show what the rule changed;
(a'') a rule change we propose, emulated and NOT deployed: ours, and multilingual seats
    kept from Mandarin calls for their first 5 s (``baselines.ReserveMultilingual``);
(b) pooled: one queue, every agent takes every call, *language ignored*: the bound;
(c) strict separate queues per skill, never relaxed;
(d) app_queue-like: per-domain and per-language queues, member penalties, penaltychange
    rules, greedy, re-checked once a second; in two set-ups: (d) every agent is a member
    of every queue of their language (untrained ones at a higher penalty), (d') a domain
    queue's members are only the agents trained in it.

The mix is a 12345 peak hour: about 92 % Mandarin over six business domains (and calls the
IVR tagged with none), about 8 % over six foreign languages, a province line and a
business-environment line, both with priority. Every agent holds two domain skills
(levels 4 and 3); 10 % are bilingual, 6 % are business-environment seats. The load is
stationary (a peak hour held for the measured hours), measured after a warm-up.

First table: every design at equal staffing (the agents ours needs), with the lowest
service level of any caller language (the target is on all calls; a language can miss it
badly while the total meets it). Second: the
fewest agents each design needs to reach 95 % of answered calls within 15 s and a 95 %
connect rate, found by bisection on the roster size (the roster's shares kept), each
size judged on the pooled calls of all seeds.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

from acd import Snapshot, route
from acd.model import Assignment
from planning.staffing import Target, required
from queues.config import default_queues_path, load_queues
from simulator.baselines import AppQueueLike, BeforeTheRule, Pooled, ReserveMultilingual, Strict
from simulator.demand import CallSpec, draw_calls
from simulator.engine import Simulation
from simulator.report import Summary, by_key, summarize
from simulator.roster import build_roster
from simulator.scenario import (
    AgentGroup,
    Arrivals,
    Behaviour,
    Distribution,
    Interval,
    Mix,
    Scenario,
    with_agents,
)

START = 1_790_870_400.0  # 2026-10-02 00:00 +08:00
DOMAINS = ("traffic", "social_insurance", "public_security", "utilities", "education", "housing")
LANGUAGES = {"zh": 0.92, "en": 0.035, "ja": 0.012, "ko": 0.013, "ru": 0.008, "fr": 0.006, "de": 0.006}
LINES = {"main": 0.91, "province": 0.04, "business": 0.05}
SKILLS = {"traffic": 0.16, "social_insurance": 0.15, "public_security": 0.12, "utilities": 0.11,
          "education": 0.11, "housing": 0.09}
TARGET = Target(sl=0.95, seconds=15.0, connect=0.95)


def _group(name: str, share: float, languages: tuple[str, ...], **extra: object) -> AgentGroup:
    """A group of two-skill agents; ``count`` is its share in thousandths (scaled later)."""
    return AgentGroup(name=name, count=round(share * 1000), languages=frozenset(languages), skill_pool=DOMAINS,
                      skills_per_agent=2, levels=(4, 3), **extra)  # type: ignore[arg-type]


GROUPS = (
    _group("mandarin", 0.84, ("zh",)),
    _group("english", 0.05, ("zh", "en")),
    _group("japanese_korean", 0.025, ("zh", "ja", "ko")),
    _group("european", 0.025, ("zh", "ru", "fr", "de")),
    _group("business_env", 0.06, ("zh",), skills=(("business_env", 4),)),
)


def scenario(per_hour: float, hours: float, agents: int) -> Scenario:
    """The study's hotline: a stationary peak of ``per_hour`` calls for ``hours`` hours."""
    whole = int(hours)
    intervals = [Interval(h * 3600.0, 3600.0, per_hour) for h in range(whole)]
    if hours > whole:
        intervals.append(Interval(whole * 3600.0, (hours - whole) * 3600.0, per_hour * (hours - whole)))
    base = Scenario(
        name="skill_study", start=START, queues=load_queues(default_queues_path()),
        arrivals=Arrivals("poisson", tuple(intervals)),
        mix=Mix(lines=tuple(LINES.items()), languages=tuple(LANGUAGES.items()), skills=tuple(SKILLS.items())),
        behaviour=Behaviour(talk=Distribution("lognormal", 220.0, 0.7),
                            patience=Distribution("lognormal", 120.0, 1.0), ring_no_answer=0.02,
                            answer_seconds=3.0, ivr_seconds=0.0, callback_accept=0.0),
        groups=GROUPS)
    return with_agents(base, agents)


Router = Callable[[Snapshot, float], tuple[Assignment, ...]]


@dataclass(frozen=True)
class Design:
    key: str
    title: str
    make: Callable[[], Router]
    route_every: float | None = None
    acd_order: bool = True  # serves calls in acd's queue order (simulator/line.py)


DESIGNS = (
    Design("a", "(a) ours: acd.route, queues.yaml (multilingual seats last among equals)", lambda: route),
    Design("a_before", "(a') ours before that rule: pure fairness among equals (multilingual_last off)",
           BeforeTheRule),
    Design("a_reserve", "(a'') proposal: (a) and multilingual seats kept from Mandarin calls for 5 s (not deployed)",
           ReserveMultilingual),
    Design("b", "(b) one pooled queue (bound, language ignored)", Pooled),
    Design("c", "(c) strict separate queues per skill", Strict),
    Design("d", "(d) app_queue-like: every agent in every queue of their language, penalties 0-3",
           AppQueueLike, 1.0, acd_order=False),
    Design("d2", "(d') app_queue-like: domain queues hold only their trained agents (penalty 0-1)",
           lambda: AppQueueLike(everyone=False), 1.0, acd_order=False),
)


@dataclass(frozen=True)
class Setup:
    per_hour: float = 1800.0
    warmup: float = 0.5   # hours
    measured: float = 4.0  # hours
    seeds: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True)
class Result:
    """A design's figures at one size: all calls, and per caller language."""

    total: Summary
    languages: dict[str, Summary]

    @property
    def worst_language(self) -> tuple[str, float]:
        return min(((k, s.service_level) for k, s in self.languages.items()), key=lambda x: x[1])


def run(design: Design, setup: Setup, agents: int, specs: dict[int, list[CallSpec]]) -> Result:
    """The design with ``agents`` seats on every seed's callers, summed over the seeds."""
    sc = scenario(setup.per_hour, setup.warmup + setup.measured, agents)
    lo, hi = START + setup.warmup * 3600.0, START + (setup.warmup + setup.measured) * 3600.0
    total: Summary | None = None
    languages: dict[str, Summary] = {}
    for seed in setup.seeds:
        simulation = Simulation(sc, seed=seed, router=design.make(), route_every=design.route_every,
                                seats=build_roster(sc.groups), specs=specs[seed], keep_states=False,
                                head_first=design.acd_order)
        simulation.run()
        records = [r for r, _ in simulation.records if lo <= r.arrived_at < hi]
        part = summarize(records, simulation.roster)
        total = part if total is None else _add(total, part)
        for key, value in by_key(records, "language", simulation.roster).items():
            languages[key] = value if key not in languages else _add(languages[key], value)
    assert total is not None
    return Result(total, languages)


def _add(a: Summary, b: Summary) -> Summary:
    return Summary(*(x + y for x, y in zip(_fields(a), _fields(b))))


def _fields(s: Summary) -> tuple[float, ...]:
    return (s.offered, s.answered, s.abandoned, s.callbacks, s.within_sl, s.waits_answered, s.waits_all,
            s.wrong_language)


def meets(s: Summary) -> bool:
    return s.service_level >= TARGET.sl and s.connect_rate >= TARGET.connect


def needed(design: Design, setup: Setup, specs: dict[int, list[CallSpec]], guess: int,
           cache: dict[tuple[str, int], Result]) -> int:
    """The fewest agents with which ``design`` meets the target (bisection from ``guess``)."""
    def ok(n: int) -> bool:
        if (design.key, n) not in cache:
            cache[(design.key, n)] = run(design, setup, n, specs)
        return meets(cache[(design.key, n)].total)

    low, high = guess, guess
    while ok(low):
        low = max(1, int(low * 0.95))
    while not ok(high):
        high = int(high * 1.05) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle
    return high


def _row(title: str, result: Result, agents: int | str = "") -> str:
    s = result.total
    language, worst = result.worst_language
    return (f"| {title} | {agents} | {s.service_level:.1%} | {s.connect_rate:.1%} | {s.asa:.1f} | "
            f"{s.abandonment:.1%} | {s.wrong_language} | {worst:.0%} ({language}) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-hour", type=float, default=1800.0, help="calls per hour at the peak held")
    parser.add_argument("--hours", type=float, default=4.0, help="measured hours per seed (after 0.5 h warm-up)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 hours: a rough look")
    args = parser.parse_args(argv)
    setup = Setup(args.per_hour, 0.5, 2.0 if args.quick else args.hours,
                  tuple(range(1, 2 if args.quick else args.seeds + 1)))
    started = time.perf_counter()
    sample = scenario(setup.per_hour, setup.warmup + setup.measured, 100)
    specs = {seed: draw_calls(sample, seed) for seed in setup.seeds}
    calls = sum(len(v) for v in specs.values())
    handle = 220.0 + 3.0 + 21.0  # talk, ring, wrap-up (mostly 20 s, 30 s on two lines)
    guess = required(setup.per_hour / 3600.0, handle, None, TARGET).agents
    cache: dict[tuple[str, int], Result] = {}
    counts = {d.key: needed(d, setup, specs, guess, cache) for d in DESIGNS}
    ours = counts["a"]
    print(f"{calls:,} calls ({len(setup.seeds)} seed(s) x {setup.warmup + setup.measured:g} h at "
          f"{setup.per_hour:g} calls/h; measured after {setup.warmup:g} h); target {TARGET.sl:.0%} of answered "
          f"within {TARGET.seconds:g} s and connect rate >= {TARGET.connect:.0%}\n")
    print(f"At equal staffing: {ours} agents (what ours needs)\n")
    print("| design | agents | SL15 | connect | ASA s | abandoned | answered without the caller's language "
          "| lowest SL15 of a language |")
    print("|---|---|---|---|---|---|---|---|")
    for d in DESIGNS:
        if (d.key, ours) not in cache:
            cache[(d.key, ours)] = run(d, setup, ours, specs)
        print(_row(d.title, cache[(d.key, ours)], ours))
    print("\nAgents each design needs for the target:\n")
    print("| design | agents | vs pooled bound | vs ours | SL15 | connect | ASA s | wrong language "
          "| lowest SL15 of a language |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in DESIGNS:
        n = counts[d.key]
        result = cache[(d.key, n)]
        s = result.total
        language, worst = result.worst_language
        print(f"| {d.title} | {n} | {n / counts['b'] - 1:+.1%} | {n / ours - 1:+.1%} | {s.service_level:.1%} | "
              f"{s.connect_rate:.1%} | {s.asa:.1f} | {s.wrong_language} | {worst:.0%} ({language}) |")
    app_queue = [d for d in DESIGNS if d.key in ("d", "d2")]
    for key, name in (("a", "ours"), ("a_before", "ours before the rule (a')"), ("a_reserve", "proposal (a'')")):
        n = counts[key]
        gap = n / counts["b"] - 1
        print(f"\n{name} vs pooled bound: {gap:+.1%} (goal: within +2 %: {'met' if gap <= 0.02 else 'NOT met'})")
        for d in app_queue:
            saving = 1 - n / counts[d.key]
            print(f"{name} vs {d.title.split(' ')[0]}: {-saving:+.1%} agents "
                  f"(goal: at least 5 % fewer: {'met' if saving >= 0.05 else 'NOT met'})")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
