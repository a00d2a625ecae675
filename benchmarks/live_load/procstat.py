"""CPU time and memory of processes, and the machine's CPU, read from /proc.

``cpu_seconds(pid)``: user + system time of the process, all its threads, from
``/proc/<pid>/stat`` (fields 14 and 15, clock ticks); ``children_seconds(pid)``: the same
for its children that it waited for (fields 16 and 17: the controller's ffmpeg runs of the
recordings janitor). ``rss_bytes(pid)``: VmRSS of ``/proc/<pid>/status``. ``machine()``:
the ``cpu`` line of ``/proc/stat`` (busy, idle and steal ticks of all CPUs together).

``Sampler`` reads the RSS of each watched process every ``every`` seconds in a thread and
keeps the peak; the CPU figures are differences of two readings (``Usage``), so a step's
CPU is exact whatever the sampling.

The parsers take text, so they are tested without the processes.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Mapping

TICK = os.sysconf("SC_CLK_TCK")


def parse_stat(text: str) -> tuple[float, float]:
    """(own user+system seconds, waited-for children's user+system seconds) from a
    ``/proc/<pid>/stat`` line; the command name (field 2) may hold spaces and parentheses."""
    fields = text.rsplit(")", 1)[1].split()
    # after the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17)
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def parse_rss(text: str) -> int:
    """VmRSS in bytes from a ``/proc/<pid>/status`` text (0 when absent: a zombie)."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def parse_machine(text: str) -> tuple[float, float, float]:
    """(busy, idle, steal) seconds of all CPUs from ``/proc/stat``'s first line; idle counts
    iowait, busy everything else but steal."""
    values = [int(v) for v in text.splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / TICK, (idle + iowait) / TICK, steal / TICK


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, children's) CPU seconds of a live process; (0, 0) once it is gone."""
    try:
        return parse_stat(_read(f"/proc/{pid}/stat"))
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def rss_bytes(pid: int) -> int:
    try:
        return parse_rss(_read(f"/proc/{pid}/status"))
    except (OSError, ValueError):
        return 0


def machine() -> tuple[float, float, float]:
    return parse_machine(_read("/proc/stat"))


@dataclass
class Usage:
    """CPU seconds spent between ``start()`` and ``stop()``, per watched name; a process that
    is not running (app_queue's steps have no controller) counts 0."""

    pids: Mapping[str, int | None]
    own: dict[str, float] = field(default_factory=dict)
    children: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0
    idle: float = 0.0
    steal: float = 0.0
    _first: dict[str, tuple[float, float]] = field(default_factory=dict)
    _machine: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def start(self) -> "Usage":
        self._first = {name: cpu_seconds(pid) if pid else (0.0, 0.0) for name, pid in self.pids.items()}
        self._machine = machine()
        return self

    def stop(self) -> "Usage":
        for name, pid in self.pids.items():
            own, kids = cpu_seconds(pid) if pid else (0.0, 0.0)
            first = self._first.get(name, (0.0, 0.0))
            self.own[name] = max(0.0, own - first[0])
            self.children[name] = max(0.0, kids - first[1])
        busy, idle, steal = machine()
        self.busy, self.idle, self.steal = (busy - self._machine[0], idle - self._machine[1],
                                            steal - self._machine[2])
        return self

    @property
    def machine_busy_share(self) -> float:
        """Share of the machine's CPU time that was busy (all CPUs), 0..1."""
        total = self.busy + self.idle + self.steal
        return self.busy / total if total > 0 else 0.0


class Sampler:
    """Peak RSS of each watched process, read every ``every`` seconds in a daemon thread."""

    def __init__(self, pids: Mapping[str, int | None], every: float = 0.5) -> None:
        self.pids = {name: pid for name, pid in pids.items() if pid}
        self.every = every
        self.peak: dict[str, int] = {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_bytes(pid))
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
