"""A short live load on real Asterisk (issue 17): about 30 s of SIPp citizens through the IVR
and the ACD to SIPp call takers, RTP both ways, every call recorded, with zero failed calls;
and the README's load benchmark command, run as typed with small flags.

The load is the benchmark's own step (benchmarks/live_load/step.py) on the integration
session's hotline, with a pool of call takers added to its roster by a real reload (all on
one SIPp phone, as in tests/integration/load.py). Asserted on the SIP peers' statistics and
on the database: every citizen placed was connected to a call taker, none failed at SIP
level, each has exactly one record, answered, whose recording holds the talk.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from benchmarks.live_load.rig import greeting_seconds
from benchmarks.live_load.step import Load, Ports, log_in, run_step
from hotline.ops import daemons
from hotline.settings import PROJECT_ROOT
from tests.integration.harness import BASE, Hotline

pytestmark = pytest.mark.asterisk

POOL = [f"31{n:02d}" for n in range(1, 25)]  # 24 generalists for the main line
PORTS = Ports(takers=BASE + 1200, takers_media=BASE + 3800, citizens_media=BASE + 3850)
RATE, SECONDS, TALK, PATIENCE = 2.0, 30.0, 4.0, 10.0


@pytest.fixture
def pooled(fresh: Hotline) -> Iterator[Hotline]:
    path = fresh.settings.config_dir / "agents" / "roster.yaml"
    original = path.read_text()
    roster = yaml.safe_load(original)
    roster["agents"] += [{"id": a, "name": f"Load {a}", "languages": ["zh"], "skills": {"traffic": 1},
                          "contact": f"sip:{a}@127.0.0.1:{PORTS.takers}", "login": False} for a in POOL]
    path.write_text(yaml.safe_dump(roster, allow_unicode=True))
    fresh.reload()
    try:
        log_in(fresh, POOL)
        yield fresh
    finally:
        for agent in POOL:  # logged out again, so other tests never see the pool
            fresh.desk("force_log_out", agent, "load test over")
        path.write_text(original)
        fresh.reload()


def test_a_short_live_load_has_no_failed_call_and_every_call_recorded(pooled: Hotline) -> None:
    h = pooled
    pids = {"controller": int(daemons.pid_file(h.settings, "controller").read_text()),
            "asterisk": int(daemons.pid_file(h.settings, "asterisk").read_text())}
    load = Load(RATE, SECONDS, TALK, PATIENCE, greeting=greeting_seconds())
    result = run_step(h, "ours", load, "47", pids, PORTS)
    print("\nlive load:", result.summary(), f"; CPU ms/call controller {result.cpu_ms_per_call('controller'):.1f}, "
          f"Asterisk {result.cpu_ms_per_call('asterisk'):.1f}")
    assert result.placed == load.calls == 60
    assert result.sip_failed == 0 and result.takers_failed == 0, (result.sip_failures, result.takers_failed)
    assert result.connected == result.placed and result.failed == 0, result.why()
    assert result.answered_by_system == result.placed, result.reasons  # one answered record per citizen
    assert result.service_level == 1.0
    callers = {f"13947{i:06d}" for i in range(load.calls)}
    rows = [r for r in h.store.recent(500) if r["caller"] in callers]
    assert len(rows) == len(callers) == len({r["caller"] for r in rows})  # none missing, none doubled
    assert {r["outcome"] for r in rows} == {"answered"} and {r["agent_id"] for r in rows} <= set(POOL)
    for row in rows:  # recorded from the call taker's answer: the whole talk
        h.assert_recorded(row, TALK - 1.0)


def test_the_load_benchmark_command_runs_both_systems_and_writes_its_results() -> None:
    """The README's `make bench-load`, with small flags (LOAD_ARGS), on a port base of its own."""
    out_file = Path(tempfile.mkdtemp(prefix="bench-load-test-")) / "load.json"
    done = subprocess.run(
        ["make", "bench-load", f"LOAD_ARGS=--rates 2 --seconds 8 --talk 3 --out {out_file}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
        env={**os.environ, "HOTLINE_TEST_PORT_BASE": str(BASE + 7000)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "rate/s system" in out and "CPU ms/call" in out, out[-3000:]
    assert "     2 ours" in out and "     2 app_queue" in out, out[-3000:]
    assert f"results written to {out_file}" in out
    results = json.loads(out_file.read_text())
    assert {s["system"] for s in results["steps"]} == {"ours", "app_queue"}
    assert all(s["placed"] == 16 for s in results["steps"]) and len(results["verdict"]) == 2
