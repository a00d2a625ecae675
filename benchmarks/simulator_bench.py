"""How long the simulator takes for a day of calls, and how that grows with calls and agents.

Run: ``python -m benchmarks.simulator_bench`` (about a minute on 2 cores).

Each run simulates one 24-hour day of ``simulator/scenarios/holiday_day.yaml`` (Jinan's
holiday curve, 92 % Mandarin and six foreign languages, three lines, shifts and breaks,
callbacks, missed rings) through the live routing code (``acd.route``, ``agents.state``,
``calls.state``), with the day's calls and the roster scaled: 10k, 30k and 60k calls with
500 agents, then 100, 500 and 1,000 agents with 30k calls. The first run is the baseline;
every row prints its wall and CPU time, its CPU time as a multiple of the baseline's,
measured in the same process (the CPU time of this process only: the machine may be busy
with other work), and the CPU cost per call. The calls are drawn before the clock starts (they are the input);
the time is the simulation itself: routing, state machines, records.

What grows: every routing step builds ``acd``'s bitset index of the *available* agents
(``acd/index.py``), so a day with many idle agents costs more per call than a busy one;
a heavily overloaded day costs more per step because many calls wait in line.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from simulator.demand import draw_calls
from simulator.engine import Simulation
from simulator.report import summarize
from simulator.scenario import Scenario, load_scenario, with_agents, with_calls

SCENARIO = Path(__file__).resolve().parent.parent / "simulator" / "scenarios" / "holiday_day.yaml"
RUNS = ((10_000, 500), (30_000, 500), (60_000, 500), (30_000, 100), (30_000, 1_000))


def scaled(scenario: Scenario, calls: int, agents: int) -> Scenario:
    """The scenario with ``calls`` a day on the same curve and ``agents`` seats in the same proportions."""
    return with_agents(with_calls(scenario, calls), agents)


def one_run(base: Scenario, calls: int, agents: int, seed: int = 1) -> tuple[float, float, Simulation, object]:
    """Wall and CPU seconds of one simulated day (the CPU time is this process's alone, so
    other work on the machine does not count against it)."""
    scenario = scaled(base, calls, agents)
    specs = draw_calls(scenario, seed)
    simulation = Simulation(scenario, seed=seed, specs=specs)
    wall, cpu = time.perf_counter(), time.process_time()
    stats = simulation.run()
    return time.perf_counter() - wall, time.process_time() - cpu, simulation, stats


def main() -> None:
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; scenario {SCENARIO.name}, one 24-hour day")
    base = load_scenario(SCENARIO)
    print(f"{'calls':>7} {'agents':>6} {'wall s':>7} {'CPU s':>6} {'x base':>7} {'us/call':>8} {'steps':>7}"
          f" {'events':>8} {'SL15':>6} {'connect':>8}")
    baseline = None
    for calls, agents in RUNS:
        wall, cpu, simulation, stats = one_run(base, calls, agents)
        baseline = baseline or cpu
        s = summarize(r for r, _ in simulation.records)
        print(f"{stats.calls:>7} {agents:>6} {wall:>7.2f} {cpu:>6.2f} {cpu / baseline:>6.2f}x "
              f"{cpu / stats.calls * 1e6:>8.0f} {stats.routing_steps:>7} {stats.events:>8}"
              f" {s.service_level:>6.1%} {s.connect_rate:>8.1%}")


if __name__ == "__main__":
    main()
