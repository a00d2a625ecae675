"""The README's benchmark commands, run as typed: they must keep working and print their
tables (the figures themselves are the benchmarks' business, never asserted here)."""
from __future__ import annotations

import os
import subprocess

import pytest

from hotline.settings import PROJECT_ROOT
from tests.integration.harness import BASE

pytestmark = pytest.mark.asterisk


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> str:
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_make_bench_prints_the_three_tables() -> None:
    out = run(["make", "bench"])
    assert "route(): 500 agents, 300 waiting calls" in out and "speed-up" in out
    assert "LiveState.claim (EVALSHA, Lua)" in out and "WATCH/MULTI claim (baseline)" in out
    assert "offer med" in out and "rebuilt med" in out


def test_the_offer_latency_bench_runs_both_systems_and_prints_the_comparison() -> None:
    """The README's scenario-1 command (and what `make bench-offer` runs), on a few calls."""
    out = run([str(PROJECT_ROOT / ".venv/bin/python"), "-m", "benchmarks.offer_latency_bench",
               "--trials", "1", "--wrapup-seconds", "0", "--calls", "4", "--rounds", "2"],
              env={"HOTLINE_TEST_PORT_BASE": str(BASE + 12000)}, timeout=1200)
    assert "1 idle agent -> INVITE        ours" in out and "app_queue" in out, out
    assert "ratio app_queue/ours" in out
