"""What the live load run prints and writes: one row per rate and system, the rate where each
system first fails, and the results file.

Definitions (the same for both systems):

- **connected**: calls a call taker answered and completed (the call takers' SIPp);
  **failed** = placed minus connected;
- **wait**: queue entry to the call taker's answer, for the connected calls the system
  names (ours: the record's queued_at to answered_at; app_queue: QueueCallerJoin to
  AgentConnect); the ring (300 ms) is in it;
- **SL15**: connected calls answered within 15 s of the queue entry ÷ connected calls (the
  KPI catalogue's service level, kpi/definitions.py); the target is 95 %;
- **CPU ms/call**: user + system CPU of the process from the step's first call to its last
  channel gone (and, ours, its last record written), ÷ calls placed; the controller and the
  Redis count only for ours (app_queue has neither in the call path);
- **RSS MB**: the largest resident set seen (sampled every 0.5 s) during the step;
- **busy**: share of both cores' time that was busy during the step (everything on the
  machine: SIPp's citizens and call takers too, and whatever else ran).

A system **fails** a rate when a call failed or SL15 fell under 95 %.

No I/O here but ``print`` and writing the results file, so the layout is tested alone.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from benchmarks.stats import percentile

SL_SECONDS = 15.0
SL_TARGET = 0.95
SYSTEMS = ("ours", "app_queue")
MB = 1024 * 1024


def log(msg: str) -> None:
    """Progress on stderr, so that stdout carries only the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class StepResult:
    """One rate through one system."""

    system: str
    rate: float
    seconds: float
    placed: int
    connected: int
    answered_by_system: int = 0       # connected calls the system's own data names (records / AMI)
    waits: list[float] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)   # what became of the calls not answered
    sip_failed: int = 0               # citizens' calls SIPp counted as failed
    sip_failures: dict[str, int] = field(default_factory=dict)
    takers_failed: int = 0
    window: float = 0.0               # seconds from the first call to the last channel gone
    placing: float = 0.0              # seconds the citizens' SIPp ran
    cpu: dict[str, float] = field(default_factory=dict)      # seconds, per process
    janitor_cpu: float = 0.0          # the controller's children (ffmpeg compressing recordings)
    load_generator_cpu: float = 0.0   # SIPp (citizens, call takers) and the bench's own helpers
    rss: dict[str, int] = field(default_factory=dict)        # peak bytes, per process
    machine_busy: float = 0.0
    steal: float = 0.0

    @property
    def failed(self) -> int:
        return max(0, self.placed - self.connected)

    @property
    def service_level(self) -> float:
        return sum(w <= SL_SECONDS for w in self.waits) / len(self.waits) if self.waits else 0.0

    @property
    def fails(self) -> bool:
        return self.failed > 0 or self.service_level < SL_TARGET

    def wait_at(self, p: float) -> float | None:
        return percentile(self.waits, p) if self.waits else None

    def cpu_ms_per_call(self, name: str) -> float | None:
        if name not in self.cpu or not self.placed:
            return None
        if name != "asterisk" and self.system != "ours":
            return None
        return self.cpu[name] * 1000.0 / self.placed

    def why(self) -> str:
        """What became of the calls the system did not answer, and the SL, in words."""
        parts = [f"{n} {reason}" for reason, n in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        if self.sip_failures:
            parts.append("citizens' SIPp: " + ", ".join(f"{k} {v}" for k, v in sorted(self.sip_failures.items())))
        if self.takers_failed:
            parts.append(f"call takers' SIPp: {self.takers_failed} calls broken")
        if self.answered_by_system > self.connected:
            parts.append(f"{self.answered_by_system - self.connected} answered by the system but not completed "
                         "with the call taker")
        text = f"{self.failed} failed" + (f" ({'; '.join(parts)})" if parts else "")
        return f"{text}, SL15 {self.service_level:.1%}, machine {self.machine_busy:.0%} busy"

    def summary(self) -> str:
        p50, p99 = self.wait_at(50), self.wait_at(99)
        waits = f"wait p50 {p50:.2f} s p99 {p99:.2f} s" if p50 is not None and p99 is not None else "no wait"
        return (f"{self.system} {self.rate:g}/s: placed {self.placed}, connected {self.connected}, "
                f"failed {self.failed}, "
                f"{waits}, SL15 {self.service_level:.1%}, busy {self.machine_busy:.0%}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(failed=self.failed, service_level=self.service_level, fails=self.fails,
                    wait_percentiles={str(p): self.wait_at(p) for p in (50, 90, 95, 99)},
                    wait_max=max(self.waits) if self.waits else None,
                    cpu_ms_per_call={name: self.cpu_ms_per_call(name) for name in self.cpu})
        return data


def first_failure(results: Iterable[StepResult], system: str) -> StepResult | None:
    """The lowest rate at which ``system`` failed a call or missed the service level."""
    steps = sorted((r for r in results if r.system == system), key=lambda r: r.rate)
    return next((r for r in steps if r.fails), None)


def verdict(results: Sequence[StepResult]) -> list[str]:
    """One line per system: the rate it first fails at, and why; or that it never did."""
    lines = []
    for system in SYSTEMS:
        steps = sorted((r for r in results if r.system == system), key=lambda r: r.rate)
        if not steps:
            continue
        bad = first_failure(steps, system)
        if bad is None:
            lines.append(f"{system}: no failed call and SL15 >= {SL_TARGET:.0%} at every rate, up to "
                         f"{steps[-1].rate:g} calls/s")
            continue
        good = [r.rate for r in steps if r.rate < bad.rate]
        held = f"held up to {max(good):g} calls/s; " if good else ""
        lines.append(f"{system}: {held}first fails at {bad.rate:g} calls/s: {bad.why()}")
    return lines


def _num(value: float | None, fmt: str, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}{fmt}}"


HEAD = (f"{'rate/s':>6} {'system':<10}{'placed':>7}{'conn.':>7}{'failed':>7}"
        f"{'wait p50':>9}{'p95':>7}{'p99':>7}{'max':>7}{'SL15':>8}"
        f"{'CPU ms/call: ctl':>17}{'ast':>7}{'redis':>6}{'RSS MB: ctl':>12}{'ast':>6}{'redis':>6}{'busy':>6}")


def row(r: StepResult) -> str:
    mb = {name: (r.rss.get(name) or 0) / MB or None for name in ("controller", "asterisk", "redis")}
    if r.system != "ours":
        mb["controller"] = mb["redis"] = None
    return (f"{r.rate:>6g} {r.system:<10}{r.placed:>7}{r.connected:>7}{r.failed:>7}"
            f"{_num(r.wait_at(50), '.2f', 9)}{_num(r.wait_at(95), '.2f', 7)}{_num(r.wait_at(99), '.2f', 7)}"
            f"{_num(max(r.waits) if r.waits else None, '.2f', 7)}{r.service_level:>8.1%}"
            f"{_num(r.cpu_ms_per_call('controller'), '.1f', 17)}{_num(r.cpu_ms_per_call('asterisk'), '.1f', 7)}"
            f"{_num(r.cpu_ms_per_call('redis'), '.1f', 6)}"
            f"{_num(mb['controller'], '.0f', 12)}{_num(mb['asterisk'], '.0f', 6)}{_num(mb['redis'], '.0f', 6)}"
            f"{r.machine_busy:>6.0%}")


def table(results: Sequence[StepResult]) -> list[str]:
    """The rows, by rate, ours first."""
    order = {s: i for i, s in enumerate(SYSTEMS)}
    return [HEAD] + [row(r) for r in sorted(results, key=lambda r: (r.rate, order.get(r.system, 9)))]


def notes(results: Sequence[StepResult]) -> list[str]:
    """Below the table: checks of the two counts of connected calls, and the CPU the table
    leaves out (the recordings janitor's ffmpeg, the load generator)."""
    out = []
    for r in results:
        if r.answered_by_system != r.connected:
            out.append(f"{r.system} {r.rate:g}/s: the call takers' SIPp completed {r.connected} calls, the system's "
                       f"own data names {r.answered_by_system} answered")
    janitor = sum(r.janitor_cpu for r in results if r.system == "ours")
    generator = sum(r.load_generator_cpu for r in results)
    window = sum(r.window for r in results)
    out.append(f"not in the table: ffmpeg of the recordings janitor (ours, off the call path) {janitor:.1f} s CPU; "
               f"the load generator (SIPp citizens and call takers) {generator:.1f} s CPU in {window:.0f} s of steps")
    steal = sum(r.steal for r in results)
    if steal:
        out.append(f"CPU time the hypervisor took from this machine's vCPUs during the steps: {steal:.1f} s")
    return out


def print_report(results: Sequence[StepResult], title: str) -> None:
    print()
    print(title)
    for line in table(results):
        print(line)
    for line in verdict(results):
        print(line)
    for line in notes(results):
        print(line)


def write_results(path: Path, results: Sequence[StepResult], params: dict[str, Any], title: str) -> Path:
    """The results file: parameters, every step with its figures, the verdict."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"title": title, "params": params, "steps": [r.to_dict() for r in results],
               "verdict": verdict(results), "notes": notes(results)}
    path.write_text(json.dumps(payload, indent=2))
    return path
