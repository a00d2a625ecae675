"""One whole offer-latency run: set-up, the scenarios in their order, the notes, tear-down.

It starts a test hotline with the integration harness in a temporary folder (the harness
reads HOTLINE_TEST_PORT_BASE when first imported: the entry point,
benchmarks/offer_latency_bench.py, sets it before importing this), the agents' phones,
the benchmark's AMI tap, the INVITE capture and CEL; runs scenario 1 in rounds that
alternate the systems, then scenarios 3 and 2 for ours and for app_queue; and stops
everything, also on Ctrl-C or an error.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.offer.ami_tap import AmiTap, is_agent_dial
from benchmarks.offer.cel import add_bench_ami_user, enable_cel
from benchmarks.offer.report import (
    SCENARIO_NOTE,
    SYSTEMS,
    Results,
    agi_share_note,
    join_note,
    log,
    near_hangup_note,
    routing_note,
    steal_note,
    wire_check_note,
)
from benchmarks.offer.scenarios import AGENT_IDS, FALLBACK_WRAPUP, OUR_WRAPUP, Bench
from benchmarks.offer.sniffer import InviteSniffer
from tests.integration.harness import AGENT_PORT, BASE, Hotline


def steal_seconds() -> float:
    """CPU time the hypervisor gave to something else while this machine's vCPUs wanted to
    run (/proc/stat 'steal', all CPUs); 0.0 where the kernel does not report it."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Rig:
    """What a run starts and must stop: the test hotline in its folder, the AMI tap and the
    capture (None until started)."""

    tmp: Path
    hotline: Hotline
    ami: AmiTap | None = None
    sniffer: InviteSniffer | None = None

    def close(self, keep: bool, ok: bool) -> None:
        """Stop everything; with ``keep`` write what the instruments saw (wire.json,
        ami-events.jsonl) into the folder, and keep the folder when asked or on failure."""
        if self.sniffer is not None:
            self.sniffer.close()
            if keep:
                (self.tmp / "wire.json").write_text(json.dumps({"invites": self.sniffer.seen,
                                                                "agi_dials": self.sniffer.agi_dials}))
        if self.ami is not None:
            self.ami.close()
            if keep:
                with open(self.tmp / "ami-events.jsonl", "w") as f:
                    for e in self.ami.since(0):
                        f.write(json.dumps(e) + "\n")
        self.hotline.stop()
        if ok and not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")


@dataclass
class IdleRounds:
    """Scenario 1 per system: its samples, the AMI event spans of its rounds (for the wire
    check), and the steal time and wall time its rounds took."""

    idle: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in SYSTEMS})
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: {s: [] for s in SYSTEMS})
    steal: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in SYSTEMS})
    spent: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in SYSTEMS})


def set_up(rig: Rig, seed: int, res: Results) -> Bench:
    """Start the hotline, the agents' phones (ring 300 ms), the AMI tap, the capture and
    CEL, and log every agent in; the Bench that runs the scenarios."""
    h = rig.hotline
    log(f"starting hotline instance {h.settings.instance} (SIP {h.settings.sip_port}, "
        f"AMI {h.settings.ami_port}) in {rig.tmp}")
    h.start()
    for a in AGENT_IDS:
        h.agent_phone(a, ring_ms=300)
    rig.ami = AmiTap(h.settings.ami_port, *add_bench_ami_user(h))
    bench = Bench(h, rig.ami, random.Random(seed))
    rig.sniffer = InviteSniffer({port: agent for agent, port in AGENT_PORT.items()},
                                agi_ports=(h.settings.agi_port, BASE + 74))
    res.on_wire = rig.sniffer.start()
    bench.sniffer = rig.sniffer if res.on_wire else None
    try:
        bench.cel_file = enable_cel(h, rig.ami)
    except RuntimeError as exc:
        log(f"{exc}: app_queue's scenario 1 is measured from QueueCallerJoin instead")
    for a in AGENT_IDS:
        h.desk("log_in", a)
        time.sleep(0.05)
    return bench


def idle_rounds(bench: Bench, calls: int, rounds: int, seed: int) -> IdleRounds:
    """Scenario 1 in rounds: ours, app_queue (controller stopped: the dialplan's fallback),
    ours, ... so that both systems meet the same spells of machine noise."""
    got = IdleRounds()
    per_round = math.ceil(calls / rounds)
    for r in range(rounds):
        for system in SYSTEMS:
            n = min(per_round, calls - len(got.idle[system]))
            if n > 0:
                idle_round(bench, got, system, r, rounds, n, seed)
    return got


def idle_round(bench: Bench, got: IdleRounds, system: str, r: int, rounds: int, n: int, seed: int) -> None:
    """One system's round ``r`` of scenario 1; ours is started before and stopped after it."""
    h, ami = bench.h, bench.ami
    if system == "ours" and r > 0:
        h.start_controller()
        time.sleep(OUR_WRAPUP + 0.5)
    log(f"{system}: idle agent, round {r + 1}/{rounds}")
    begin, stolen, began_round = ami.mark(), steal_seconds(), time.monotonic()
    got.idle[system] += bench.idle_agent(system, n, seed + r)
    got.spans[system].append((begin, ami.mark()))
    got.steal[system] += steal_seconds() - stolen
    got.spent[system] += time.monotonic() - began_round
    if system == "ours":
        log("app_queue: stopping the controller")
        h.stop_controller()
        time.sleep(FALLBACK_WRAPUP + 1)


def ours_later(bench: Bench, res: Results, trials: int, wrapup_seconds: float) -> None:
    """Ours, with the controller started again: scenario 3, then scenario 2 with every
    agent logged out."""
    h = bench.h
    h.start_controller()
    if wrapup_seconds > 0:
        log("ours: wrap-up ends")
        time.sleep(OUR_WRAPUP + 0.5)
        res.add("3 wrap-up ends -> INVITE", "ours", bench.wrapup_end("ours", wrapup_seconds, hold_ms=3500))
        res.add("3b same, head caller only", "ours", bench.head_part)
    log("ours: agent logs in")
    time.sleep(OUR_WRAPUP + 0.5)
    for a in AGENT_IDS:
        h.desk("log_out", a)
    res.add("2 agent logs in -> INVITE", "ours", bench.agent_freed("ours", trials))


def app_queue_later(bench: Bench, res: Results, trials: int, wrapup_seconds: float) -> None:
    """app_queue, with the controller stopped: scenario 3, then scenario 2 with every
    member paused (unpaused again at the end)."""
    log("app_queue: stopping the controller")
    bench.h.stop_controller()
    if wrapup_seconds > 0:
        log("app_queue: wrap-up ends")
        time.sleep(FALLBACK_WRAPUP + 1)
        res.add("3 wrap-up ends -> INVITE", "app_queue",
                bench.wrapup_end("app_queue", wrapup_seconds, hold_ms=6500))
        res.add("3b same, head caller only", "app_queue", bench.head_part)
    log("app_queue: member unpaused")
    bench.set_all_paused(True)
    time.sleep(FALLBACK_WRAPUP + 1)
    res.add("2 agent logs in -> INVITE", "app_queue", bench.agent_freed("app_queue", trials))
    bench.set_all_paused(False)


def wire_notes(bench: Bench, got: IdleRounds) -> list[str]:
    """With the capture: per system, the INVITE on the wire minus DialBegin over scenario
    1's rounds."""
    assert bench.sniffer is not None
    everything = bench.ami.since(0)
    notes = []
    for system, system_spans in got.spans.items():
        dials = [e for begin, end in system_spans for e in everything[begin:end] if is_agent_dial(e, AGENT_IDS)]
        off = [x * 1000 for x in bench.sniffer.offsets(dials)]
        if off:
            notes.append(wire_check_note(system, off, len(dials)))
    return notes


def notes(bench: Bench, got: IdleRounds) -> list[str]:
    """The notes below the table, in their printed order."""
    out = []
    if bench.routing_part:
        out.append(routing_note(bench.routing_part, bench.agi_part))
    if bench.sniffer is not None:
        out += wire_notes(bench, got)
    if got.spent["ours"] and got.spent["app_queue"]:
        out.append(steal_note(got.steal, got.spent))
    if bench.near_hangup:
        out.append(near_hangup_note(bench.near_hangup))
    if bench.join_part:
        out.append(join_note(bench.join_part))
    agi = [x * 1000 for x in bench.sniffer.agi_to_invite()] if bench.sniffer is not None else []
    if agi:
        out.append(agi_share_note(agi))
    return out + [SCENARIO_NOTE]


def measure(bench: Bench, res: Results, args: argparse.Namespace) -> None:
    """Every scenario for both systems, in the order that shares the machine's noise
    fairly, into ``res`` (rows sorted by scenario, then the notes)."""
    got = idle_rounds(bench, args.calls, args.rounds, args.seed)
    for system in SYSTEMS:
        res.add("1 idle agent -> INVITE", system, got.idle[system])
    ours_later(bench, res, args.trials, args.wrapup_seconds)
    app_queue_later(bench, res, args.trials, args.wrapup_seconds)
    res.rows.sort(key=lambda r: r[0])  # scenario 1, 2, 3
    res.notes += notes(bench, got)


def run(args: argparse.Namespace) -> Results:
    """The whole run; the controller is restarted at the end (it imports the fallback
    calls) before everything is stopped."""
    tmp = Path(tempfile.mkdtemp(prefix=f"offer-bench-{BASE}-"))
    rig = Rig(tmp, Hotline(tmp))
    res = Results()
    ok = False
    try:
        bench = set_up(rig, args.seed, res)
        measure(bench, res, args)
        log("restarting the controller")
        rig.hotline.start_controller()
        ok = True
    finally:
        rig.close(args.keep, ok)
    return res

