"""One whole live load run: the rig, the steps in their order, tear-down.

The systems take turns rate by rate, and the one that starts a rate alternates (ours and
app_queue at the first rate, app_queue and ours at the second, ...): both meet the machine's
spells of noise alike, and the controller is stopped or started only every other step.
Between two steps the agents' wrap-up (5 s) runs out. After an app_queue step its calls are
forgotten (``LoadRig.forget_baseline``): our controller, started again, would otherwise store
them from queue_log and compress their recordings during our steps.
"""
from __future__ import annotations

import argparse
import math
import time

from benchmarks.live_load.report import SYSTEMS, StepResult, log
from benchmarks.live_load.rig import (CITIZENS_MEDIA, FALLBACK_WRAPUP, POOL_PORT, TAKERS_MEDIA, LoadRig,
                                      greeting_seconds, rtp_ports_for)
from benchmarks.live_load.step import Load, Ports, run_step

RING_MS = 300


def plan(rates: list[float], systems: tuple[str, ...] = SYSTEMS) -> list[tuple[str, float]]:
    """(system, rate) in the order they run."""
    steps: list[tuple[str, float]] = []
    for i, rate in enumerate(sorted(rates)):
        pair = SYSTEMS if i % 2 == 0 else SYSTEMS[::-1]
        steps += [(system, rate) for system in pair if system in systems]
    return steps


def agents_for(rate: float, talk: float) -> int:
    """Call takers enough for ``rate``: each is busy ring + talk + wrap-up per call; 15 % more
    so that the agents are not what a step measures."""
    return max(10, math.ceil(1.15 * rate * (RING_MS / 1000 + talk + FALLBACK_WRAPUP + 0.5)))


def run(args: argparse.Namespace) -> tuple[list[StepResult], dict[str, object]]:
    rates = sorted(args.rates)
    greeting = greeting_seconds()
    agents = args.agents or agents_for(rates[-1], args.talk)
    rtp = rtp_ports_for(rates[-1] * (greeting + args.talk + 5.0))
    params: dict[str, object] = {"rates": rates, "systems": list(args.systems), "seconds": args.seconds,
                                 "talk": args.talk,
                                 "patience": args.patience, "agents": agents, "greeting": round(greeting, 3),
                                 "wrapup": FALLBACK_WRAPUP, "ring_ms": RING_MS, "rtp_ports": rtp,
                                 "redis_max_connections": getattr(args, "redis_max_connections", 0)}
    rig = LoadRig(agents, rtp, keep=args.keep, redis_max_connections=getattr(args, "redis_max_connections", 0))
    results: list[StepResult] = []
    ok = False
    try:
        rig.start(log)
        ports = Ports(POOL_PORT, TAKERS_MEDIA, CITIZENS_MEDIA)
        for i, (system, rate) in enumerate(plan(rates, tuple(args.systems))):
            rig.use(system)
            time.sleep(FALLBACK_WRAPUP + 1.0)  # the previous step's wrap-ups run out
            load = Load(rate, args.seconds, args.talk, args.patience, greeting if system == "ours" else 0.0, RING_MS)
            began = time.time()
            results.append(run_step(rig.h, system, load, f"{i:02d}", rig.pids(), ports, ami=rig.ami, log=log,
                                    keep=rig.peers))
            if system == "app_queue":
                rig.forget_baseline(began)
        ok = True
    finally:
        if not ok:
            log(f"run failed; kept {rig.tmp}")
        rig.close(ok)
    return results, params
