"""``hotline.store.kpi_source`` on a real SQLite file and a real PostgreSQL database (a
throw-away one per module): the designed day of tests/kpi_scenario.py, written by the real
stores, gives the very facts the simulator's path gives and every KPI computed by hand in
tests/unit/test_kpi_definitions.py, identically on both databases, in a fixed number of
queries whatever the number of calls."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import Engine, event, text

from calls.records import CallEvent, CallRecord
from hotline.store.agent_states import AgentStateStore
from hotline.store.calls import CallStore, make_engine, migrate
from hotline.store.kpi_source import KpiSource
from hotline.store.work_orders import WorkOrderStore
from kpi import definitions as d
from kpi.facts import PeriodData, period_from_records
from tests import kpi_scenario as s
from tests.unit.test_kpi_definitions import EXPECTED
from tests.unit.test_records_store import fresh_pg_database
from workorders import FOLDER
from workorders.taxonomy import load_taxonomy

TABLES = ("call_events", "call_legs", "calls", "work_orders", "work_order_days", "agent_states")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'kpi.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    migrate(eng)
    with eng.begin() as conn:  # the PostgreSQL database is shared by this module's tests
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield eng
    finally:
        eng.dispose()


def store_day(engine: Engine) -> None:
    """Write the designed day with the real stores, as the controller would."""
    calls = CallStore(engine)
    for record, events in s.calls():
        calls.save(record, events)
    orders = WorkOrderStore(engine, load_taxonomy(FOLDER / "taxonomy.yaml"), s.TZ)
    for order in s.orders():
        orders.save(order)
    AgentStateStore(engine).append(s.states())


def from_objects() -> PeriodData:
    return period_from_records(s.DAY_START, s.DAY_END, s.calls(), s.orders(), s.states())


def test_the_database_gives_the_simulators_facts_and_the_hand_computed_kpis(engine: Engine) -> None:
    store_day(engine)
    data = KpiSource(engine).load(s.DAY_START, s.DAY_END)
    assert data == from_objects()
    assert [f.call_id for f in data.calls] == ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "cb9"]
    values = d.kpis(data.calls, d.KpiRules(), data.spans, (data.start, data.observed_end))
    for key, expected in EXPECTED.items():
        assert values[key] == pytest.approx(expected, abs=1e-12), key


def test_sqlite_and_postgresql_give_identical_results(tmp_path: Path, pg_url: str) -> None:
    results = []
    for url in (f"sqlite:///{tmp_path / 'same.sqlite3'}", pg_url):
        eng = make_engine(url)
        try:
            migrate(eng)
            with eng.begin() as conn:
                for table in TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))
            store_day(eng)
            data = KpiSource(eng).load(s.DAY_START, s.DAY_END)
            by = {by: d.kpi_rows(data, by, d.KpiRules(), "15m", s.TZ) for by in d.GROUPINGS}
            results.append((data, by, d.rolling_connect(data.calls, d.KpiRules(), data.start, data.end)))
        finally:
            eng.dispose()
    assert results[0] == results[1]


def test_a_period_still_running_is_observed_to_now(engine: Engine) -> None:
    store_day(engine)
    data = KpiSource(engine).load(s.DAY_START, s.DAY_END, now=s.T + 1800)
    assert data.observed_end == s.T + 1800
    assert max(span.end for span in data.spans) == s.T + 1800
    staffed = d.agent_seconds(data.spans, data.start, data.observed_end, d.KpiRules())[1]
    assert staffed == 3 * 1800


def test_the_state_before_the_period_and_a_callback_after_it(engine: Engine) -> None:
    store_day(engine)
    # the period starts at 09:10: agents were logged in before it (their earlier rows say so)
    late = KpiSource(engine).load(s.T + 600, s.DAY_END)
    assert d.agent_seconds(late.spans, late.start, late.end, d.KpiRules())[1] == 3 * 3000 - 600
    # the period ends at 09:20, before the callback try (09:25) that completed c9's request
    early = KpiSource(engine).load(s.DAY_START, s.T + 1200)
    facts = {f.call_id: f for f in early.calls}
    assert "cb9" not in facts and facts["c9"].callback_reached
    assert [f.call_id for f in early.later_tries] == ["cb9"]
    assert d.kpis(early.calls)["callbacks_completed"] == 1 and d.kpis(early.calls)["callback_tries"] == 0


def test_repeat_callers_come_from_the_calls_before_the_period(engine: Engine) -> None:
    store_day(engine)
    data = KpiSource(engine).load(s.DAY_START, s.DAY_END)
    facts = {f.call_id: f for f in data.calls}
    assert facts["c9"].prior_gap == 1100 + 10 * 86400  # c0, ten days before
    short_memory = KpiSource(engine, history_seconds=86400).load(s.DAY_START, s.DAY_END)
    assert {f.call_id: f for f in short_memory.calls}["c9"].prior_gap is None


def test_a_record_saved_twice_counts_its_events_once(engine: Engine) -> None:
    record = CallRecord("r1", "13900000001", "12345", s.T, queued_at=s.T, answered_at=s.T + 30, ended_at=s.T + 90,
                        agent_id="1001", outcome="answered")
    events = [CallEvent("r1", s.T, "offered", {"agent": "1002"}), CallEvent("r1", s.T + 12, "rona", {"agent": "1002"}),
              CallEvent("r1", s.T + 12, "offered", {"agent": "1001"})]
    CallStore(engine).save(record, events)
    CallStore(engine).save(record, events)  # e.g. written again by a survivor
    facts = KpiSource(engine).load(s.DAY_START, s.DAY_END).calls
    assert len(facts) == 1 and facts[0].ronas == ("1002",) and facts[0].offers == ("1002", "1001")


def _count_queries(engine: Engine, work: Any) -> int:
    seen: list[str] = []

    def count(*_args: Any) -> None:
        seen.append("q")
    event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_number_of_queries_does_not_grow_with_the_calls(engine: Engine) -> None:
    store = CallStore(engine)

    def add(n: int, first: int) -> None:
        for i in range(first, first + n):
            at = s.T + 10 * i
            store.save(CallRecord(f"n{i}", f"1390000{i:04d}", "12345", at, queued_at=at + 1, answered_at=at + 3,
                                  ended_at=at + 9, agent_id="1001", outcome="answered"),
                       [CallEvent(f"n{i}", at + 1, "offered", {"agent": "1001"})])

    source = KpiSource(engine)
    add(3, 0)
    few = _count_queries(engine, lambda: source.load(s.DAY_START, s.DAY_END))
    add(60, 3)
    many = _count_queries(engine, lambda: source.load(s.DAY_START, s.DAY_END))
    assert few == many <= 8
    assert d.kpis(source.load(s.DAY_START, s.DAY_END).calls)["answered"] == 63
