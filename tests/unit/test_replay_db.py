"""What-if replay from the database (issue 17, point 5): the store gives back the records it
saved, ``hotline simulate --replay-db`` answers a stored day with a scenario and prints it
beside what really happened, exactly as the JSON-lines path does for the same records, and
the README's replay commands run as typed.

All on real SQLite files, written with the real store (``hotline.store.calls.CallStore``).
"""
from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from calls.records import CallRecord
from hotline.ops.cli import main
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import CallStore, make_engine, migrate
from simulator.engine import Simulation
from simulator.recorder import encode, read_jsonl
from simulator.scenario import parse_scenario
from tests.unit.test_simulator import small

HOTLINE = str(PROJECT_ROOT / ".venv" / "bin" / "hotline")
DAY = "2026-10-02"  # small() and the holiday scenario start on this day (+08:00)
T0 = datetime(2026, 10, 2, 9, 0, tzinfo=timezone.utc).timestamp() - 8 * 3600  # 09:00 in Beijing


def micro(record: CallRecord) -> CallRecord:
    """The record with its times as a timestamp column keeps them (whole microseconds)."""
    def keep(value: float | None) -> float | None:
        return None if value is None else datetime.fromtimestamp(value, timezone.utc).timestamp()

    return replace(record, arrived_at=keep(record.arrived_at), queued_at=keep(record.queued_at),
                   answered_at=keep(record.answered_at), ended_at=keep(record.ended_at))


def store_at(path: Path) -> tuple[str, CallStore]:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    return url, CallStore(engine)


def few_calls() -> list[CallRecord]:
    """Six calls of the morning of DAY: four answered, one abandoned, one callback booked,
    and one that hung up in the IVR (never reached the queue)."""
    def call(n: int, at: float, wait: float, outcome: str, talk: float = 120.0, language: str = "zh") -> CallRecord:
        queued = T0 + at + 20.0
        answered = queued + wait if outcome == "answered" else None
        ended = (answered + talk) if answered is not None else queued + wait
        return CallRecord(call_id=f"c{n}", caller=f"1380000000{n}", dnis="12345", arrived_at=T0 + at, queue="main",
                          language=language, skills="traffic", queued_at=queued, answered_at=answered, ended_at=ended,
                          agent_id="2001" if answered is not None else "", outcome=outcome,
                          ivr_path=({"node": "greeting", "at": T0 + at},), recording=f"/rec/c{n}.wav",
                          attrs={"controller": "itest"})

    return [call(1, 0.0, 2.0, "answered"), call(2, 30.0, 4.0, "answered", language="en"),
            call(3, 60.0, 25.0, "answered"), call(4, 90.0, 40.0, "abandoned"),
            call(5, 120.0, 10.0, "answered"), call(6, 150.0, 30.0, "callback_requested"),
            CallRecord(call_id="c7", caller="13800000007", dnis="12345", arrived_at=T0 + 170, ended_at=T0 + 180,
                       outcome="ivr_hangup")]


def test_the_store_gives_back_the_records_of_a_period_as_it_saved_them(tmp_path: Path) -> None:
    _, store = store_at(tmp_path / "calls.sqlite3")
    calls = few_calls()
    before = CallRecord(call_id="yesterday", caller="1", dnis="12345", arrived_at=T0 - 86_400, outcome="abandoned")
    for record in [*reversed(calls), before]:
        store.save(record)
    got = store.records(T0 - 3600, T0 + 3600)
    assert got == [micro(r) for r in calls]  # in order of arrival, every field back, the day before left out
    assert got[0].wait_seconds == pytest.approx(2.0) and got[0].talk_seconds == pytest.approx(120.0)
    assert store.records(T0 + 3600, T0 + 7200) == []


def test_replay_db_prints_the_recorded_day_beside_the_what_if(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    url, store = store_at(tmp_path / "calls.sqlite3")
    for record in few_calls():
        store.save(record)
    scenario = tmp_path / "what-if.yaml"
    scenario.write_text(json.dumps(small()))
    assert main(["simulate", str(scenario), "--replay-db", "--day", DAY, "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"7 calls of {DAY} read from the database" in out, out
    assert "replay of 7 recorded calls with this scenario's roster and queues:" in out, out
    rows = {line[:18].strip(): line[18:].split() for line in out.splitlines()[-8:]}
    assert rows[""] == ["recorded", "what-if"]
    assert rows["offered"][0] == "6" and rows["answered"][0] == "4" and rows["abandoned"][0] == "1"
    assert rows["callbacks booked"][0] == "1"
    assert rows["SL15 (answered)"][0] == "75.0%"  # waits 2, 4, 25, 10 s: three within 15 s
    assert rows["connect rate"][0] == "80.0%" and rows["ASA s"][0] == "10.2"
    assert rows["offered"][1] == "6"  # the same callers (the IVR hang-up never reached the queue)


def test_replay_db_gives_exactly_what_the_jsonl_path_gives_for_the_same_records(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulation = Simulation(parse_scenario(small()), seed=5)
    simulation.run()
    day = [(micro(r), events) for r, events in simulation.records]
    url, store = store_at(tmp_path / "calls.sqlite3")
    for record, events in day:
        store.save(record, events)
    records = tmp_path / "day.jsonl"
    records.write_text("".join(encode(r, e) + "\n" for r, e in day))
    scenario = tmp_path / "fewer.yaml"
    fewer = small()
    fewer["agents"] = [{**g, "count": max(1, g["count"] * 2 // 3)} for g in fewer["agents"]]
    scenario.write_text(json.dumps(fewer))

    def replay(*how: str) -> str:
        assert main(["simulate", str(scenario), "--seed", "3", *how]) == 0
        out = capsys.readouterr().out
        return out[out.index("replay of "):]

    from_file = replay("--replay", str(records))
    from_db = replay("--replay-db", "--day", DAY, "--db", url)
    assert from_db == from_file
    assert f"replay of {sum(r.source != 'callback' and r.outcome != 'ivr_end' for r, _ in day)} recorded" in from_db


def test_replay_db_refuses_an_empty_day_and_a_mix_of_sources(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    url, store = store_at(tmp_path / "calls.sqlite3")
    for record in few_calls():
        store.save(record)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(json.dumps(small()))
    assert main(["simulate", str(scenario), "--replay-db", "--day", "2026-10-03", "--db", url]) == 2
    assert "no call stored for 2026-10-03" in capsys.readouterr().err
    assert main(["simulate", str(scenario), "--replay-db", "--replay", "x.jsonl", "--db", url]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["simulate", str(scenario), "--day", DAY]) == 2
    assert "go with --replay-db" in capsys.readouterr().err
    assert main(["simulate", str(scenario), "--replay-db", "--day", "02/10/2026", "--db", url]) == 2
    assert "not a date" in capsys.readouterr().err


# -- the README's replay commands, as typed in the project folder ------------------------------

def run(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_the_readme_replay_commands_run_as_typed(tmp_path: Path) -> None:
    """``--out`` then ``--replay`` of that file, and ``--replay-db --day`` against the
    configured database (here HOTLINE_DB_URL names a file holding the same simulated day)."""
    written = PROJECT_ROOT / "var" / "holiday-day.jsonl"
    try:
        replay_the_readme_way(tmp_path, written)
    finally:
        written.unlink(missing_ok=True)


def replay_the_readme_way(tmp_path: Path, written: Path) -> None:
    out = run([HOTLINE, "simulate", "simulator/scenarios/holiday_day.yaml", "--seed", "1",
               "--out", "var/holiday-day.jsonl"])
    assert "records written to var/holiday-day.jsonl" in out
    from_file = run([HOTLINE, "simulate", "simulator/scenarios/holiday_day.yaml", "--replay", "var/holiday-day.jsonl"])
    assert "replay of " in from_file and "what-if" in from_file, from_file[-1500:]

    url, store = store_at(tmp_path / "main.sqlite3")
    saved = 0
    for record, events in read_jsonl(written):
        if record.arrived_at < T0 - 3600:  # midnight to 08:00 (a whole day takes long to save)
            store.save(record, events)
            saved += 1
    from_db = run([HOTLINE, "simulate", "simulator/scenarios/holiday_day.yaml", "--replay-db", "--day", DAY],
                  env={"HOTLINE_DB_URL": url})
    assert f"{saved} calls of {DAY} read from the database" in from_db, from_db[-1500:]
    lines = {line[:18].strip(): line[18:].split() for line in from_db.splitlines()}
    assert "what-if" in lines[""] and int(lines["offered"][0]) > 1000, from_db[-1500:]
