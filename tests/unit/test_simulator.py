"""The simulator: deterministic, never breaks the language rule, writes records by the live
rules, agrees with Erlang A, and its records take the store's and the KPIs' own paths."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from planning.erlang import erlang_a
from planning.validate import Case, replicate
from simulator.available import AvailableAgents
from simulator.demand import draw_calls
from simulator.engine import Simulation
from simulator.recorder import decode, encode, read_jsonl
from simulator.report import summarize
from simulator.scenario import DAY, ScenarioError, load_scenario, parse_scenario, with_agents, with_calls

ROOT = Path(__file__).resolve().parents[2]
HOLIDAY = ROOT / "simulator" / "scenarios" / "holiday_day.yaml"
DOMAINS = ["traffic", "social_insurance", "public_security", "utilities", "education", "housing"]


def small(**behaviour: object) -> dict:
    """Three hours of a small hotline with every feature on: three lines, seven languages,
    domains, missed rings, callbacks, an IVR, shifts and breaks."""
    return {
        "name": "small", "start": "2026-10-02T08:00:00+08:00",
        "arrivals": {"per_day": 1200, "hourly_shares": [1, 1, 1] + [0] * 21},
        "mix": {"lines": {"main": 0.85, "province": 0.07, "business": 0.08},
                "languages": {"zh": 0.7, "en": 0.1, "ja": 0.05, "ko": 0.05, "ru": 0.04, "fr": 0.03, "de": 0.03},
                "skills": {d: 0.14 for d in DOMAINS}},
        "behaviour": {"talk": {"distribution": "lognormal", "mean": 200, "cv": 0.8},
                      "patience": {"distribution": "exponential", "mean": 60}, "ring_no_answer": 0.1,
                      "answer_seconds": 3, "ivr_seconds": 15, "ivr_hangup": 0.02, "callback_accept": 0.5,
                      "callback_answer": 0.6, "rona_pause_seconds": 60, "announcements": True, **behaviour},
        "agents": [
            {"name": "zh", "count": 14, "languages": ["zh"], "skill_pool": DOMAINS, "skills_per_agent": 2,
             "levels": [4, 2], "shift": "00:00-02:00", "breaks": [{"after": "1:00", "length": "0:10"}],
             "break_window": 600},
            {"name": "zh_late", "count": 8, "languages": ["zh"], "skill_pool": DOMAINS, "skills_per_agent": 2,
             "shift": "01:00-03:00"},
            {"name": "en", "count": 3, "languages": ["zh", "en"], "shift": "00:00-03:00"},
            {"name": "asia", "count": 2, "languages": ["zh", "ja", "ko"], "shift": "00:00-03:00"},
            {"name": "europe", "count": 2, "languages": ["zh", "ru", "fr", "de"], "shift": "00:00-03:00"},
            {"name": "business", "count": 3, "languages": ["zh"], "skills": {"business_env": 4},
             "shift": "00:00-03:00"},
        ],
    }


@pytest.fixture(scope="module")
def run() -> Simulation:
    simulation = Simulation(parse_scenario(small()), seed=7)
    simulation.run()
    return simulation


def test_same_seed_same_records_and_agent_log() -> None:
    first, second = Simulation(parse_scenario(small()), seed=3), Simulation(parse_scenario(small()), seed=3)
    first.run()
    second.run()
    assert first.records == second.records and first.states == second.states
    other = Simulation(parse_scenario(small()), seed=4)
    other.run()
    assert other.records != first.records


def test_no_call_is_ever_offered_to_an_agent_without_its_language(run: Simulation) -> None:
    languages = {r.language for r, _ in run.records}
    assert {"en", "ja", "ko", "ru", "fr", "de"} <= languages  # the rule is exercised
    offers = 0
    for record, events in run.records:
        for e in events:
            if e.kind == "offered":
                offers += 1
                assert record.language in run.roster[e.data["agent"]].languages
    assert offers > 300 and summarize((r for r, _ in run.records), run.roster).wrong_language == 0


def test_records_follow_the_live_rules(run: Simulation) -> None:
    outcomes = defaultdict(int)
    for record, events in run.records:
        outcomes[(record.source, record.outcome)] += 1
        kinds = [e.kind for e in events]
        if record.source == "callback":
            assert kinds[0] == "callback_dialled" and kinds[-1] == "ended"
            continue
        assert kinds[0] == "arrived" and events[0].at == record.arrived_at
        assert kinds[-1] == "ended" and events[-1].data["outcome"] == record.outcome
        if record.outcome == "ivr_hangup":
            assert record.queued_at is None and "queued" not in kinds
            continue
        queued = events[kinds.index("queued")]
        assert queued.at == record.queued_at and queued.data["language"] == record.language
        assert record.arrived_at <= record.queued_at <= record.ended_at
        offers = [e for e in events if e.kind == "offered"]
        ronas = [e for e in events if e.kind == "rona"]
        if record.outcome == "answered":
            answered = events[kinds.index("answered")]
            assert answered.data == {"agent": record.agent_id, "at": record.answered_at}
            assert offers[-1].data["agent"] == record.agent_id
            assert [e.data["agent"] for e in ronas] == [e.data["agent"] for e in offers[:-1]]
            assert record.queued_at <= record.answered_at <= record.ended_at
            assert record.wait_seconds == pytest.approx(record.answered_at - record.queued_at)
            assert offers[-1].data["waited"] <= record.wait_seconds + 1e-6
        else:
            assert record.agent_id == "" and record.answered_at is None and "answered" not in kinds
        missed: set[str] = set()
        for e in events:  # a missed agent is rung again for the call only once it waited 15 s (acd.route)
            if e.kind == "offered" and e.data["agent"] in missed:
                assert e.data["waited"] >= run.queues[record.queue].sl_target
            elif e.kind == "rona":
                missed.add(e.data["agent"])
    for kind in [("controller", "answered"), ("controller", "abandoned"), ("controller", "callback_requested"),
                 ("controller", "ivr_hangup"), ("callback", "answered")]:
        assert outcomes[kind] > 0, kind


def test_an_agent_takes_one_call_at_a_time_and_wraps_up_between_calls(run: Simulation) -> None:
    handled = defaultdict(list)
    for record, _ in run.records:
        if record.answered_at is not None:
            handled[record.agent_id].append(record)
    assert len(handled) > 20
    for agent, calls in handled.items():
        calls.sort(key=lambda r: r.answered_at)
        for before, after in zip(calls, calls[1:]):
            wrap = run.queues[before.queue].wrapup_seconds
            assert after.answered_at >= before.ended_at + wrap - 1e-6, agent


def test_callback_tries_point_at_a_booked_request_and_keep_its_place(run: Simulation) -> None:
    booked = {r.call_id: r for r, _ in run.records if r.outcome == "callback_requested"}
    tries = [r for r, _ in run.records if r.source == "callback"]
    assert tries and booked
    for t in tries:
        request = booked[t.attrs["callback_of"]]
        assert t.queued_at == request.queued_at and t.arrived_at >= request.ended_at
        assert t.outcome in ("answered", "callback_retry", "callback_failed")


def test_shifts_and_breaks_go_through_the_agent_state_machine(run: Simulation) -> None:
    scenario = run.scenario
    by_agent = defaultdict(list)
    for change in run.states:
        by_agent[change.agent_id].append(change)
    early = next(s.agent_id for s in run.seats if s.group == "zh")
    late = next(s.agent_id for s in run.seats if s.group == "zh_late")
    assert by_agent[late][0].state == "available" and by_agent[late][0].at == scenario.start + 3600
    assert by_agent[early][-1].state == "logged_out" and by_agent[early][-1].at >= scenario.start + 7200
    breaks = [c for c in by_agent[early] if c.state == "paused" and c.reason == "break"]
    assert len(breaks) == 1
    after = by_agent[early][by_agent[early].index(breaks[0]) + 1]
    assert after.at - breaks[0].at == pytest.approx(600.0)  # the 10-minute break, then back
    for record, _ in run.records:  # nobody answers before their shift
        if record.answered_at is not None and record.agent_id == late:
            assert record.answered_at >= scenario.start + 3600


@pytest.mark.parametrize("callbacks", [0.5, 0.0])
def test_giving_the_router_only_the_agents_and_calls_it_can_use_changes_nothing(callbacks: float) -> None:
    """simulator/available.py and simulator/line.py: exact shortcuts, checked record for record
    on an overloaded afternoon (a long line: the head of the line decides most steps)."""
    data = small(ring_no_answer=0.25, callback_accept=callbacks)
    data["arrivals"] = {"per_day": 2400, "hourly_shares": [1, 1, 1] + [0] * 21}
    scenario = parse_scenario(data)
    runs = []
    for prune, head_first in ((True, True), (False, False)):
        simulation = Simulation(scenario, seed=11, prune=prune, head_first=head_first)
        simulation.run()
        runs.append(simulation.records)
    assert runs[0] == runs[1]
    assert summarize(r for r, _ in runs[0]).abandonment > 0.1  # the line was long


def test_the_kinds_of_agents_keep_the_fairest_of_each() -> None:
    from acd.testing import make_agent, make_call

    pool = AvailableAgents()
    for i, idle in enumerate([50.0, 10.0, 30.0, 20.0]):
        pool.add(make_agent(f"a{i}", idle_since=idle))
    pool.add(make_agent("en", languages=["zh", "en"], idle_since=99.0))
    one = {a.agent_id for a in pool.for_calls([make_call("c1")])}
    assert one == {"a1", "en"}  # the fairest Mandarin agent, and the only English one
    two = {a.agent_id for a in pool.for_calls([make_call("c1"), make_call("c2", excluded=["a1"])])}
    assert two == {"a1", "a3", "a2", "en"}  # the two fairest not named, plus the named one
    pool.discard("a1")
    assert len(pool) == 4 and "a1" not in pool


def test_a_short_single_skill_run_agrees_with_erlang_a() -> None:
    """Two 24-hour days of M/M/10+M at 9 erlangs (about 6,500 calls): loose but meaningful
    bounds (the full table, with intervals, is planning/VALIDATION.md)."""
    case = Case(10, 9.0, patience=60.0)
    exact = erlang_a(case.agents, case.arrival_rate, case.aht, case.patience)
    days = [replicate(case, seed) for seed in (1, 2)]
    abandoned = sum(d.abandoned for d in days) / sum(d.live_offered for d in days)
    sl = sum(d.within_sl for d in days) / sum(d.answered for d in days)
    mean_wait = sum(d.waits_all for d in days) / sum(d.live_offered for d in days)
    assert abandoned == pytest.approx(exact.p_abandon, abs=0.025)
    assert sl == pytest.approx(exact.service_level(15.0), abs=0.03)
    assert abandoned == pytest.approx(mean_wait / case.patience, abs=0.02)  # P(Ab) = θ·E[W]
    assert erlang_a(case.agents - 2, case.arrival_rate, case.aht, case.patience).p_abandon > abandoned + 0.03


def test_records_go_through_the_stores_own_spool_reader_and_into_the_database(tmp_path: Path,
                                                                               run: Simulation) -> None:
    from hotline.store.calls import CallStore, RecordWriter, make_engine, migrate

    spool = tmp_path / "spool.jsonl"
    spool.write_text("".join(encode(r, e) + "\n" for r, e in run.records[:200]))
    engine = make_engine(f"sqlite:///{tmp_path / 'calls.sqlite3'}")
    migrate(engine)
    store = CallStore(engine)
    import asyncio

    assert asyncio.run(RecordWriter(store, spool).replay()) == 200
    record, events = run.records[10]
    row = store.get(record.call_id)
    assert row is not None and row["outcome"] == record.outcome and row["queue"] == record.queue
    assert [e["kind"] for e in store.events(record.call_id)] == [e.kind for e in events]
    assert decode(encode(record, events)) == (record, events)


def test_a_simulated_day_gives_the_kpis_of_its_stored_rows(tmp_path: Path, run: Simulation) -> None:
    """The KPI code reads the simulator's objects and the rows the store made of them alike."""
    facts = pytest.importorskip("kpi.facts")
    from hotline.store.calls import CallStore, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    migrate(engine)
    store = CallStore(engine)
    for record, events in run.records:
        store.save(record, events)
    for record, events in run.records[:300]:
        from_objects = facts.call_facts(facts.rows_of_record(record, events))
        from_rows = facts.call_facts(facts.CallRows(store.get(record.call_id), store.events(record.call_id)))
        assert from_objects.disposition == from_rows.disposition
        assert from_objects.wait == pytest.approx(from_rows.wait, abs=1e-3) if from_rows.wait is not None \
            else from_objects.wait is None
        assert (from_objects.offers, from_objects.ronas) == (from_rows.offers, from_rows.ronas)
    definitions = pytest.importorskip("kpi.definitions")
    period = facts.period_from_records(run.scenario.start, run.scenario.start + DAY, run.records, states=run.states)
    figures = definitions.kpis(period.calls)
    ours = summarize((r for r, _ in run.records), run.roster)
    assert figures["answered"] == ours.answered and figures["abandoned"] == ours.abandoned
    assert figures["service_level"] == pytest.approx(ours.service_level)
    assert figures["connect_rate"] == pytest.approx(ours.connect_rate)


def test_the_holiday_scenario_loads_and_scales() -> None:
    scenario = load_scenario(HOLIDAY)
    assert scenario.arrivals.per_day == pytest.approx(22_900)
    assert with_calls(scenario, 30_000).arrivals.per_day == pytest.approx(30_000)
    bigger = with_agents(scenario, 500)
    assert bigger.agents == 500 and len(bigger.groups) == len(scenario.groups)
    calls = draw_calls(with_calls(scenario, 2_000), seed=5)
    foreign = sum(c.language != "zh" for c in calls) / len(calls)
    assert 0.05 < foreign < 0.11 and all(c.language == "zh" for c in calls if c.queue == "business")


@pytest.mark.parametrize("change,problem", [
    ({"colour": "blue"}, "unknown key"),
    ({"mix": {"lines": {"main": 0.7, "nowhere": 0.3}}}, "nowhere"),
    ({"mix": {"lines": {"main": 0.8, "business": 0.4}}}, "add up"),
    ({"agents": [{"name": "x", "count": 1, "shift": "8-16"}]}, "not H:MM"),
    ({"agents": [{"name": "x", "count": 1, "queues": ["nowhere"]}]}, "unknown line"),
    ({"behaviour": {"patience": {"distribution": "normal", "mean": 60}}}, "distribution"),
    ({"start": "2026-10-02T00:00:00"}, "time zone"),
])
def test_bad_scenarios_are_refused_naming_the_key(change: dict, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario({**small(), **change})


def test_the_simulate_command_writes_records_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.ops.cli import main

    data = small()
    data["arrivals"] = {"per_day": 300, "hourly_shares": [1, 1, 1] + [0] * 21}
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(json.dumps(data))  # JSON is YAML
    out = tmp_path / "records.jsonl"
    assert main(["simulate", str(scenario_file), "--seed", "2", "--out", str(out), "--report"]) == 0
    printed = capsys.readouterr().out
    assert "records written" in printed and "SL15" in printed and "by language" in printed
    records = list(read_jsonl(out))
    assert len(records) > 250 and all(r.attrs.get("controller") == "simulator" for r, _ in records
                                      if r.source == "controller")


def test_an_all_day_seat_is_not_logged_out_at_midnight_between_days() -> None:
    data = small()
    data["agents"] = [{"name": "all", "count": 6, "languages": ["zh", "en", "ja", "ko", "ru", "fr", "de"]},
                      {"name": "biz", "count": 1, "skills": {"business_env": 3}}]
    data["arrivals"] = {"per_hour": 40}
    simulation = Simulation(parse_scenario(data), seed=1, days=2)
    simulation.run()
    logged_out = [c for c in simulation.states if c.state == "logged_out"]
    assert logged_out and min(c.at for c in logged_out) >= simulation.scenario.start + 2 * DAY
    assert replace(simulation.scenario).agents == 7


def test_a_recorded_day_replays_as_it_was_and_worse_with_fewer_agents(run: Simulation) -> None:
    from simulator.replay import replay_day

    recorded = [r for r, _ in run.records]
    results = {}
    for factor in (1.0, 0.6):
        scenario = with_agents(run.scenario, round(run.scenario.agents * factor))
        day, specs = replay_day(scenario, recorded, seed=1)
        assert day.start == run.scenario.start  # the records' day, at the scenario's time of day
        again = Simulation(day, seed=1, specs=specs, keep_states=False)
        again.run()
        results[factor] = summarize(r for r, _ in again.records)
    real = summarize(recorded)
    assert results[1.0].offered == real.offered
    assert results[1.0].service_level == pytest.approx(real.service_level, abs=0.04)
    assert results[0.6].service_level < results[1.0].service_level - 0.05


def test_planning_and_the_simulator_import_with_io_libraries_blocked() -> None:
    """Like tests/unit/test_architecture.py for the core: no Redis, database, socket or
    event loop behind the simulator, so a simulated day needs none of them."""
    import subprocess
    import sys

    modules = ["planning.erlang", "planning.forecast", "planning.staffing", "planning.validate", "simulator.engine",
               "simulator.baselines", "simulator.study", "simulator.replay", "simulator.cli", "simulator.report"]
    program = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {{'redis', 'sqlalchemy', 'alembic', 'psycopg', 'asyncio', 'socket', 'uvloop',
                                   'aiohttp', 'panoramisk', 'hotline'}}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for module in {modules!r}:
    importlib.import_module(module)
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
