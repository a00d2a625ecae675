"""What the offer-latency run prints: progress on stderr, the table and its notes on stdout.

Percentiles: median and p99 with linear interpolation between order statistics; with fewer
than 100 samples p99 lies between the two largest samples, so the max is printed as well.

Everything here formats numbers it is given (no I/O but ``print``), so the table's layout
is tested without Asterisk.
"""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from benchmarks.stats import bootstrap_difference, median, p99, percentile

SYSTEMS = ("ours", "app_queue")
ROW_3 = "3 wrap-up ends -> INVITE"
ROW_3B = "3b same, head caller only"
SCENARIO_NOTE = ("scenario 2: ours = AgentService.log_in, app_queue = AMI QueuePause Paused=false; "
                 "scenario 3: app_queue measured from its effective wrap-up end floor(end)+5 s")


def log(msg: str) -> None:
    """Progress on stderr, so that stdout carries only the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Results:
    """The table's rows (milliseconds) and the notes printed below it."""

    rows: list[tuple[str, str, list[float]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    on_wire: bool = False  # offers end at the INVITE captured on the wire (else DialBegin)

    def add(self, scenario: str, system: str, seconds: list[float]) -> None:
        """Keep one row, given in seconds, and say its median on stderr as it comes."""
        self.rows.append((scenario, system, [s * 1000.0 for s in seconds]))
        if seconds:
            log(f"{scenario} / {system}: n={len(seconds)} median={statistics.median(seconds) * 1000:.1f} ms")


def spread(xs_ms: Sequence[float]) -> str:
    """'median a ms, p99 b' for a note (the figures the notes below the table give)."""
    return f"median {statistics.median(xs_ms):.2f} ms, p99 {percentile(xs_ms, 99):.2f}"


def signed_interval(ours: list[float], theirs: list[float], stat: Callable[[Sequence[float]], float]) -> str:
    """ours minus app_queue for one statistic, with its bootstrap interval, signed."""
    diff, lo, hi = bootstrap_difference(ours, theirs, stat)
    return f"{diff:+.2f} ms [{lo:+.2f}, {hi:+.2f}]"


def header_lines(on_wire: bool, machine: str, cores: int | None, port_base: int) -> list[str]:
    """The title (where the offer ends: the wire or DialBegin) and the column heads."""
    return ["",
            f"Offer latency on real Asterisk ({machine}, {cores} cores, port base {port_base}); "
            f"moment the call could be offered -> agent's INVITE out"
            + (" (on the wire)" if on_wire else " (its DialBegin)"),
            f"{'scenario':<30}{'system':<11}{'n':>4}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}"]


def row_line(scenario: str, system: str, xs: list[float]) -> str:
    """One system's row of one scenario; dashes when it has no sample."""
    if not xs:
        return f"{scenario:<30}{system:<11}{0:>4}{'-':>11}{'-':>9}{'-':>9}"
    return (f"{scenario:<30}{system:<11}{len(xs):>4}{statistics.median(xs):>11.1f}"
            f"{percentile(xs, 99):>9.1f}{max(xs):>9.1f}")


def ratio_line(ours: list[float], theirs: list[float]) -> str:
    """How many times app_queue's median and p99 are ours."""
    return (f"{'':<30}{'ratio app_queue/ours':<26}{statistics.median(theirs) / statistics.median(ours):>9.1f}x"
            f"{percentile(theirs, 99) / percentile(ours, 99):>8.1f}x")


def bootstrap_note(scenario: str, ours: list[float], theirs: list[float]) -> str:
    """Whether the run tells which system is faster: the difference with its interval."""
    return (f"scenario {scenario.split()[0]}, ours minus app_queue with its 95 % bootstrap interval: "
            f"median {signed_interval(ours, theirs, median)}, p99 {signed_interval(ours, theirs, p99)} "
            f"(an interval that contains 0 does not tell which is faster)")


def scenarios_shown(by: Mapping[tuple[str, str], list[float]], scenarios: list[str]) -> tuple[list[str], list[str]]:
    """The scenarios to print, and a note when row 3b only repeats row 3 (then it is left out)."""
    if all(by.get((ROW_3B, sy)) == by.get((ROW_3, sy)) for sy in SYSTEMS):
        return ([s for s in scenarios if not s.startswith("3b")],
                ["scenario 3: every sample's call was the head caller when the wrap-up ended (row 3b = row 3)"])
    return scenarios, []


def table_lines(res: Results, machine: str, cores: int | None, port_base: int) -> list[str]:
    """The whole printed table: heads, a row per scenario and system, ratios, then notes."""
    lines = header_lines(res.on_wire, machine, cores, port_base)
    by = {(s, sy): xs for s, sy, xs in res.rows}
    scenarios, extra = scenarios_shown(by, list(dict.fromkeys(s for s, _, _ in res.rows)))
    notes = [*res.notes, *extra]
    for s in scenarios:
        lines += [row_line(s, sy, by.get((s, sy), [])) for sy in SYSTEMS]
        ours, theirs = by.get((s, "ours"), []), by.get((s, "app_queue"), [])
        if ours and theirs:
            lines.append(ratio_line(ours, theirs))
            if min(len(ours), len(theirs)) >= 20:
                notes.append(bootstrap_note(s, ours, theirs))
    return lines + notes


def print_table(res: Results, machine: str, cores: int | None, port_base: int) -> None:
    """Print the table and its notes on stdout."""
    for line in table_lines(res, machine, cores, port_base):
        print(line)


# -- the notes below the table -----------------------------------------------------------
def routing_note(routing: list[float], agi_part: list[float]) -> str:
    """Ours, scenario 1: how much of the offer is the routing decision and the AGI command."""
    agi = (f"; queued -> its AGI Dial on the wire {statistics.median(agi_part) * 1000:.2f} ms"
           f" (p99 {percentile([x * 1000 for x in agi_part], 99):.2f})" if agi_part else "")
    return (f"ours, scenario 1 split: queued -> 'offered' (the routing decision) median "
            f"{statistics.median(routing) * 1000:.2f} ms{agi}; the rest is Asterisk's")


def wire_check_note(system: str, offsets_ms: list[float], dials: int) -> str:
    """The check behind using the wire: INVITE on the wire minus DialBegin's Timestamp."""
    return (f"check, {system}: agent INVITE on the wire (lo capture) minus DialBegin, "
            f"{len(offsets_ms)}/{dials} matched: median {statistics.median(offsets_ms):+.2f} ms, "
            f"min {min(offsets_ms):+.2f}, max {max(offsets_ms):+.2f}")


def steal_note(steal: Mapping[str, float], spent: Mapping[str, float]) -> str:
    """The hypervisor's steal time during each system's rounds: the tail follows it."""
    return ("scenario 1, CPU time the hypervisor took from this machine's vCPUs (/proc/stat steal) "
            "during each system's rounds: " + ", ".join(
                f"{system} {steal[system] * 1000:.0f} ms in {spent[system]:.0f} s" for system in spent))


def near_hangup_note(near_hangup: Mapping[str, tuple[int, int]]) -> str:
    """How many offers met another call's tear-down, per system (k of n)."""
    return ("scenario 1, offers within 50 ms after another call's hang-up (its tear-down runs "
            "alongside): " + ", ".join(f"{system} {k}/{n}" for system, (k, n) in near_hangup.items()))


def join_note(join_part: list[float]) -> str:
    """app_queue's scenario 1 from the late-stamped QueueCallerJoin, for comparison."""
    xs = [x * 1000 for x in join_part]
    return (f"app_queue, scenario 1 from QueueCallerJoin's AMI Timestamp instead of Queue()'s start: "
            f"{spread(xs)} (the manager stamps an "
            f"event when it formats it, after the stasis hand-off: the join is earlier than that)")


def agi_share_note(agi_ms: list[float]) -> str:
    """Asterisk's own share of our offer: AGI Dial on the wire to the INVITE on the wire."""
    return (f"ours: AGI 'EXEC Dial' on the wire -> agent INVITE on the wire (Asterisk's share), "
            f"n={len(agi_ms)}: {spread(agi_ms)}, "
            f"min {min(agi_ms):.2f}, max {max(agi_ms):.2f}")
