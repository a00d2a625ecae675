"""Agents needed per interval for the 15-second promise, and the staff to schedule.

For each interval of a forecast: the fewest agents ``N`` whose exact Erlang A figures meet
the target (default GB/T 33358-2016: 95 % of answered calls answered within 15 s AND a
connect rate, answered ÷ offered, of at least 95 %), with the expected service level, ASA,
abandonment and occupancy at that ``N``; with shrinkage ``s`` (breaks, training, absence)
the staff to schedule is ``ceil(N / (1 - s))``. Without a patience (``None``) Erlang C is
used instead: nobody hangs up, so the connect rate is 1 and the service level is P(W <= t).

One pool: our router pools every agent who speaks the caller's language, and skills only
rank agents for the first seconds, so the pooled figure is what a hotline of all-round
agents needs. When the forecast splits its calls into groups (lines, languages, skills),
``isolated`` is what the same groups would need as separate pools (the sum of each
group's Erlang A figure): the real need of a mixed roster lies between the two, and the
simulator (``hotline simulate``) says where.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from planning.erlang import ErlangA, erlang_a, erlang_c_asa, erlang_c_service_level
from planning.forecast import Interval, parse_forecast


@dataclass(frozen=True, slots=True)
class Target:
    """What an interval must reach: ``sl`` of answered calls within ``seconds``, and a
    connect rate of at least ``connect``."""

    sl: float = 0.95
    seconds: float = 15.0
    connect: float = 0.95

    def __post_init__(self) -> None:
        if not (0.0 < self.sl < 1.0 and 0.0 <= self.connect < 1.0 and self.seconds >= 0):
            raise ValueError(f"target out of range: {self}")


@dataclass(frozen=True, slots=True)
class Performance:
    """What ``agents`` achieve on one interval's load."""

    agents: int
    sl: float
    connect: float
    asa: float
    abandon: float
    occupancy: float

    def meets(self, target: Target) -> bool:
        return self.sl >= target.sl and self.connect >= target.connect


@dataclass(frozen=True, slots=True)
class IntervalPlan:
    """The plan of one interval: the agents needed and, with shrinkage, to schedule."""

    interval: Interval
    aht: float
    load: float
    performance: Performance
    scheduled: int
    isolated: int | None = None  # the groups as separate pools (None: no groups given)

    @property
    def agents(self) -> int:
        return self.performance.agents


def performance(agents: int, arrival_rate: float, aht: float, patience: float | None, seconds: float) -> Performance:
    """Erlang A figures (Erlang C when ``patience`` is None) of ``agents`` on a load."""
    if patience is None:
        a = arrival_rate * aht
        if a >= agents:  # the queue grows without end
            return Performance(agents, 0.0, 1.0, math.inf, 0.0, 1.0)
        return Performance(agents, erlang_c_service_level(agents, a, aht, seconds), 1.0,
                           erlang_c_asa(agents, a, aht), 0.0, a / agents)
    model: ErlangA = erlang_a(agents, arrival_rate, aht, patience)
    return Performance(agents, model.service_level(seconds), model.connect_rate, model.asa, model.p_abandon,
                       model.occupancy)


def required(arrival_rate: float, aht: float, patience: float | None, target: Target) -> Performance:
    """The fewest agents (at least 1 when any call comes) that meet ``target``.

    The figures only improve with more agents, so a doubling search brackets the answer
    and a bisection finds it: about ``2·log2(load)`` Erlang evaluations.
    """
    if arrival_rate <= 0.0:
        return Performance(0, 1.0, 1.0, 0.0, 0.0, 0.0)

    def check(n: int) -> Performance:
        return performance(n, arrival_rate, aht, patience, target.seconds)

    high = max(1, math.ceil(arrival_rate * aht))
    best = check(high)
    while not best.meets(target):
        high *= 2
        best = check(high)
    low = 0  # fails (or is not a staffing)
    while high - low > 1:
        middle = (low + high) // 2
        trial = check(middle)
        if trial.meets(target):
            high, best = middle, trial
        else:
            low = middle
    return best


def plan(intervals: tuple[Interval, ...], aht: float, patience: float | None, target: Target,
         shrinkage: float = 0.0) -> list[IntervalPlan]:
    """The plan of every interval (a row's own ``aht`` wins over ``aht``)."""
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be within [0, 1), got {shrinkage}")
    plans = []
    for interval in intervals:
        handle = interval.aht or aht
        needed = required(interval.arrival_rate, handle, patience, target)
        isolated = None
        if interval.groups:
            isolated = sum(required(count / interval.seconds, handle, patience, target).agents
                           for _, count in interval.groups)
        plans.append(IntervalPlan(interval, handle, interval.arrival_rate * handle, needed,
                                  math.ceil(needed.agents / (1.0 - shrinkage) - 1e-9), isolated))
    return plans


# -- output ---------------------------------------------------------------------------------

COLUMNS = ("start", "calls", "aht", "erlangs", "agents", "sl", "connect", "asa_s", "abandon", "occupancy",
           "scheduled", "isolated")


def _row(p: IntervalPlan) -> dict[str, str]:
    perf = p.performance
    return {"start": p.interval.start, "calls": f"{p.interval.calls:g}", "aht": f"{p.aht:g}",
            "erlangs": f"{p.load:.1f}", "agents": str(perf.agents), "sl": f"{perf.sl:.3f}",
            "connect": f"{perf.connect:.3f}", "asa_s": f"{perf.asa:.1f}", "abandon": f"{perf.abandon:.3f}",
            "occupancy": f"{perf.occupancy:.3f}", "scheduled": str(p.scheduled),
            "isolated": "" if p.isolated is None else str(p.isolated)}


def render_csv(plans: list[IntervalPlan]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in plans:
        writer.writerow(_row(p))
    return out.getvalue()


def render_text(plans: list[IntervalPlan], target: Target, patience: float | None, shrinkage: float) -> str:
    has_groups = any(p.isolated is not None for p in plans)
    columns = [c for c in COLUMNS if c != "isolated" or has_groups]
    rows = [_row(p) for p in plans]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    model = "Erlang C (no abandonment)" if patience is None else f"Erlang A, mean patience {patience:g} s"
    lines = [f"target: {target.sl:.0%} of answered calls within {target.seconds:g} s and connect rate "
             f">= {target.connect:.0%}; {model}; shrinkage {shrinkage:.0%}",
             "  ".join(c.rjust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c].rjust(widths[c]) for c in columns) for r in rows]
    lines.append(_summary(plans, has_groups))
    return "\n".join(lines) + "\n"


def _summary(plans: list[IntervalPlan], has_groups: bool) -> str:
    hours = sum(p.agents * p.interval.seconds for p in plans) / 3600.0
    scheduled = sum(p.scheduled * p.interval.seconds for p in plans) / 3600.0
    calls = sum(p.interval.calls for p in plans)
    peak = max(plans, key=lambda p: p.agents)
    text = (f"calls {calls:,.0f}; peak {peak.agents} agents at {peak.interval.start} "
            f"({peak.scheduled} to schedule); {hours:,.0f} agent-hours on the phones, {scheduled:,.0f} scheduled")
    if has_groups:
        isolated = sum((p.isolated or 0) * p.interval.seconds for p in plans) / 3600.0
        text += (f"\nas isolated pools per group: {isolated:,.0f} agent-hours (+{isolated / hours - 1:.1%}); "
                 "our router pools the groups, the simulator tells how close to the pooled figure a roster gets")
    return text


# -- command --------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    """``hotline plan staffing``: print the plan of a forecast file."""
    intervals = parse_forecast(Path(args.forecast).read_text(encoding="utf-8"))
    target = Target(sl=args.target_sl, seconds=args.target_seconds, connect=args.target_connect)
    patience = None if args.patience <= 0 else args.patience
    plans = plan(intervals, args.aht, patience, target, args.shrinkage)
    print(render_csv(plans) if args.format == "csv" else render_text(plans, target, patience, args.shrinkage), end="")
    return 0
