"""The pure parts of the live load benchmark (benchmarks/live_load): /proc parsing, SIPp's
statistics, the waits of each system, the order of the steps, the printed table, the rate
where a system first fails, the results file, and the configuration the rig writes. None of
them needs Asterisk or SIPp."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml

from benchmarks.live_load import procstat
from benchmarks.live_load.peers import count, failures, last_stats
from benchmarks.live_load.report import HEAD, StepResult, notes, row, table, verdict, write_results
from benchmarks.live_load.rig import (FALLBACK_WRAPUP, POOL_PORT, greeting_seconds, pool_ids, remove_recordings_since,
                                      rtp_ports_for, write_config)
from benchmarks.live_load.run import agents_for, plan
from benchmarks.live_load.step import Load, app_queue_waits, ours_waits
from calls.records import CallRecord


def test_proc_stat_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    tick = procstat.TICK
    fields = ["S", "1", "2", "3", "0", "-1", "4194560", "10", "0", "0", "0",
              str(3 * tick), str(2 * tick), str(tick), str(tick), "20", "0", "9"]
    own, children = procstat.parse_stat(f"1234 (python (worker) x) {' '.join(fields)}")
    assert (own, children) == (5.0, 2.0)
    assert procstat.parse_rss("Name:\tasterisk\nVmRSS:\t  20480 kB\nThreads: 40\n") == 20480 * 1024
    assert procstat.parse_rss("Name:\tzombie\n") == 0
    busy, idle, steal = procstat.parse_machine(f"cpu  {tick} 0 {tick} {4 * tick} {tick} 0 0 {tick} 0 0\ncpu0 ...\n")
    assert (busy, idle, steal) == (2.0, 5.0, 1.0)


def test_usage_and_sampler_measure_this_process() -> None:
    usage = procstat.Usage({"me": os.getpid(), "nobody": None}).start()
    with procstat.Sampler({"me": os.getpid(), "nobody": None}, every=0.05) as sampler:
        deadline = time.process_time() + 0.2
        while time.process_time() < deadline:
            pass
    usage.stop()
    assert usage.own["me"] >= 0.15 and usage.own["nobody"] == 0.0
    assert sampler.peak["me"] > 10 * 1024 * 1024 and sampler.peak["nobody"] == 0
    assert 0.0 < usage.machine_busy_share <= 1.0


def test_sipp_statistics_give_the_last_row_by_column() -> None:
    text = ("StartTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);FailedMaxUDPRetrans(C);"
            "FailedCallRejected(C);\n"
            "t0;0;0;0;0;0;\n"
            "t1;60;57;3;2;1;\n")
    stats = last_stats(text)
    assert count(stats, "OutgoingCall(C)") == 60 and count(stats, "SuccessfulCall(C)") == 57
    assert count(stats, "Missing(C)") == 0
    assert failures(stats) == {"FailedMaxUDPRetrans": 2, "FailedCallRejected": 1}
    assert last_stats("") == {} and last_stats("only;a;header;\n") == {}


def test_app_queue_waits_come_from_join_to_agent_connect() -> None:
    def event(kind: str, uid: str, at: float, **extra: str) -> dict[str, str]:
        return {"Event": kind, "Uniqueid": uid, "Timestamp": f"{at:.6f}", **extra}

    events = [event("QueueCallerJoin", "u1", 100.0, Queue="hotline-fallback", CallerIDNum="a"),
              event("QueueCallerJoin", "u2", 101.0, Queue="hotline-fallback", CallerIDNum="b"),
              event("QueueCallerJoin", "u3", 102.0, Queue="hotline-fallback", CallerIDNum="c"),
              event("QueueCallerJoin", "u4", 102.0, Queue="hotline-fallback", CallerIDNum="not ours"),
              event("QueueCallerJoin", "u5", 102.0, Queue="other", CallerIDNum="d"),
              event("AgentConnect", "u1", 100.31),
              event("AgentConnect", "u1", 109.0),  # a second connect of the same call is not a new wait
              event("QueueCallerAbandon", "u2", 131.0),
              event("AgentConnect", "u4", 102.5)]
    waits, others = app_queue_waits(events, {"a", "b", "c", "d"})
    assert waits == {"a": pytest.approx(0.31)}
    assert others == {"b": "abandoned", "c": "left the queue unanswered"}


def test_ours_waits_come_from_the_records() -> None:
    def record(caller: str, outcome: str, answered: float | None) -> CallRecord:
        return CallRecord(call_id=caller, caller=caller, dnis="12349", arrived_at=0.0, queued_at=4.0,
                          answered_at=answered, ended_at=20.0, outcome=outcome)

    waits, others = ours_waits([record("a", "answered", 4.3), record("b", "abandoned", None),
                                record("x", "answered", 5.0)], {"a", "b", "c"})
    assert waits == {"a": pytest.approx(0.3)} and others == {"b": "abandoned"}


def test_a_load_places_rate_times_seconds_calls_and_holds_long_enough() -> None:
    load = Load(rate=2.5, seconds=30, talk=8, patience=30, greeting=4.1)
    assert load.calls == 75 and load.hold_ms == int((4.1 + 30 + 8 + 2) * 1000)
    assert Load(rate=0.01, seconds=10, talk=1, patience=1).calls == 1


def test_the_systems_take_turns_and_the_starter_alternates() -> None:
    assert plan([20, 5, 10]) == [("ours", 5), ("app_queue", 5), ("app_queue", 10), ("ours", 10),
                                 ("ours", 20), ("app_queue", 20)]
    assert agents_for(40, 8) == 635 and agents_for(0.5, 4) == 10
    assert rtp_ports_for(10) == 1000 and rtp_ports_for(520) == 3200
    assert pool_ids(3) == ["50001", "50002", "50003"]
    assert 3.5 < greeting_seconds() < 6


def step(system: str, rate: float, placed: int, connected: int, waits: list[float], **more: object) -> StepResult:
    base = dict(seconds=20, cpu={"controller": 2.0, "asterisk": 4.0, "redis": 0.5},
                rss={"controller": 120 * 1024 * 1024, "asterisk": 200 * 1024 * 1024, "redis": 15 * 1024 * 1024},
                machine_busy=0.5, window=40.0, answered_by_system=connected)
    base.update(more)
    return StepResult(system=system, rate=rate, placed=placed, connected=connected, waits=waits,
                      **base)  # type: ignore[arg-type]


def test_a_step_fails_on_a_failed_call_or_a_missed_service_level() -> None:
    fine = step("ours", 5, 100, 100, [0.3] * 100)
    assert fine.failed == 0 and fine.service_level == 1.0 and not fine.fails
    late = step("ours", 10, 100, 100, [0.3] * 90 + [20.0] * 10)
    assert late.failed == 0 and late.service_level == pytest.approx(0.9) and late.fails
    lost = step("ours", 20, 100, 99, [0.3] * 99, reasons={"abandoned": 1})
    assert lost.failed == 1 and lost.fails and "1 failed (1 abandoned)" in lost.why()
    assert fine.cpu_ms_per_call("controller") == pytest.approx(20.0)
    assert step("app_queue", 5, 100, 100, [0.3] * 100).cpu_ms_per_call("controller") is None


def test_the_table_and_the_verdict() -> None:
    results = [step("ours", 5, 100, 100, [0.3] * 100), step("app_queue", 5, 100, 100, [0.31] * 100),
               step("app_queue", 10, 200, 200, [0.31] * 200),
               step("ours", 10, 200, 190, [0.3] * 180 + [20.0] * 10, reasons={"abandoned": 10}, machine_busy=1.0),
               step("ours", 20, 400, 300, [0.3] * 300, reasons={"abandoned": 100})]
    lines = table(results)
    assert lines[0] == HEAD and len(lines) == 6
    assert lines[1].startswith("     5 ours") and lines[2].startswith("     5 app_queue")
    assert lines[3].startswith("    10 ours") and lines[4].startswith("    10 app_queue")
    assert all(len(line) == len(HEAD) for line in lines)
    ours_row = row(results[0]).split()
    assert ours_row[:5] == ["5", "ours", "100", "100", "0"] and "100.0%" in ours_row
    assert row(results[1]).split()[-7:-4] == ["-", "40.0", "-"]  # app_queue: no controller, no Redis
    said = verdict(results)
    assert said[0] == ("ours: held up to 5 calls/s; first fails at 10 calls/s: 10 failed (10 abandoned), "
                       "SL15 94.7%, machine 100% busy")
    assert said[1] == "app_queue: no failed call and SL15 >= 95% at every rate, up to 10 calls/s"
    mismatch = step("ours", 5, 10, 10, [0.3] * 10, answered_by_system=9)
    assert any("completed 10 calls, the system's own data names 9" in n for n in notes([mismatch]))


def test_the_results_file_holds_every_step_and_the_verdict(tmp_path: Path) -> None:
    results = [step("ours", 5, 100, 100, [0.3] * 100), step("app_queue", 5, 100, 100, [0.31] * 100)]
    path = write_results(tmp_path / "var" / "bench-load.json", results, {"rates": [5]}, "title")
    data = json.loads(path.read_text())
    assert data["params"] == {"rates": [5]} and len(data["steps"]) == 2 and len(data["verdict"]) == 2
    first = data["steps"][0]
    assert first["failed"] == 0 and first["service_level"] == 1.0 and first["wait_percentiles"]["50"] == 0.3
    assert first["cpu_ms_per_call"]["asterisk"] == pytest.approx(40.0)


def test_the_rigs_configuration_loads_with_the_pool_the_wrapup_and_no_survey(tmp_path: Path) -> None:
    from hotline.config import load_config
    from hotline.settings import from_env
    from tests.integration.harness import make_config_dir

    config_dir = make_config_dir(tmp_path)
    write_config(config_dir, pool_ids(30))
    config = load_config(from_env({"HOTLINE_VAR_DIR": str(tmp_path / "var")}, config_dir=config_dir))
    assert sorted(config.roster) == pool_ids(30)
    assert {seat.contact for seat in config.roster.values()} == {f"sip:{a}@127.0.0.1:{POOL_PORT}"
                                                                for a in pool_ids(30)}
    assert config.queues["main"].wrapup_seconds == FALLBACK_WRAPUP
    flow = yaml.safe_load((config_dir / "ivr" / "flows" / "compliant.yaml").read_text())
    assert "survey" not in flow and flow["dnis"] == ["12349"]


def test_only_the_runs_recordings_are_removed(tmp_path: Path) -> None:
    old, new = tmp_path / "old.wav", tmp_path / "new.wav"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    began = time.time() - 1
    new.write_bytes(b"y")
    assert remove_recordings_since(tmp_path, began) == 1 and old.exists() and not new.exists()
    assert remove_recordings_since(tmp_path / "none", began) == 0
