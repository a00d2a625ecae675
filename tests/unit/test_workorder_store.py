"""hotline.store.work_orders on a real SQLite file and a real PostgreSQL database (a
throw-away one per module): case numbers by local day, unique under concurrent saves (of
many calls, and of one call); updates keep the number; the citizen's history (only theirs,
within the window, newest first, with each order's category path and status); the survey's
answer; the supervisors' filters (the SQL status agrees with ``status_of``); migration 0004."""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from calls.records import CallEvent, CallRecord
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import MIGRATIONS, CallStore, make_engine, migrate
from hotline.store.work_orders import WorkOrderStore
from outbound.agencies import load_directory
from sql.schema import work_orders
from tests.unit.test_records_store import fresh_pg_database
from workorders.config import load_work_order_config
from workorders.model import STATUSES, OrderQuery, WorkOrder, status_of, validate

DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
CONFIG = load_work_order_config(DIRECTORY)
TZ = CONFIG.calendar.tz
FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (f"sqlite:///{tmp_path / 'db' / 'orders.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by this module's tests
        for table in ("work_orders", "work_order_days", "call_legs", "call_events", "calls"):
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def store(engine: Engine) -> WorkOrderStore:
    return WorkOrderStore(engine, CONFIG.taxonomy, TZ)


def order(call_id: str = "c1", now: datetime = FRIDAY, **fields: Any) -> WorkOrder:
    draft: dict[str, Any] = {"call_id": call_id, "caller": "13812345678", "agent_id": "1001", "now": now,
                             "category": "04.01.01", "request": "小区停水", "district": "lixia", "handling": "direct"}
    draft.update(fields)
    result = validate(draft, CONFIG.taxonomy, DIRECTORY, CONFIG.districts, CONFIG.calendar)
    assert isinstance(result, WorkOrder), result
    return result


def call(call_id: str, caller: str, arrived: datetime, agent_id: str = "1001", **kw: Any) -> CallRecord:
    ts = arrived.timestamp()
    return CallRecord(call_id=call_id, caller=caller, dnis="12345", arrived_at=ts, answered_at=ts + 5,
                      ended_at=ts + 120, agent_id=agent_id, outcome="answered", queue="main", **kw)


# -- case numbers -------------------------------------------------------------------------

def test_the_first_save_draws_the_days_next_number_and_an_update_keeps_it(store: WorkOrderStore) -> None:
    first = store.save(order("c1"))
    second = store.save(order("c2"))
    assert (first.case_number, second.case_number) == ("20261127-0001", "20261127-0002")
    later = FRIDAY + timedelta(days=3)
    updated = store.save(order("c1", now=later, request="补充说明", handling="transferred", agency_id="water"))
    assert updated.case_number == "20261127-0001" and updated.created_at == FRIDAY
    back = store.get("c1")
    assert back == updated
    assert back is not None and back.due_at == datetime(2026, 12, 2, 16, 0, tzinfo=TZ)  # from Monday's transfer
    assert back.created_at.utcoffset() == timedelta(hours=8)
    assert store.get_by_case("20261127-0002") == second
    assert store.get("nope") is None and store.get_by_case("20261127-0099") is None
    assert store.count() == 2


def test_the_day_of_a_case_number_is_the_local_day(store: WorkOrderStore) -> None:
    late = datetime(2026, 11, 30, 23, 50, tzinfo=TZ)          # 15:50 UTC the same day
    after_midnight = datetime(2026, 12, 1, 0, 10, tzinfo=TZ)  # still 30 Nov in UTC
    assert store.save(order("a", now=late)).case_number == "20261130-0001"
    assert store.save(order("b", now=after_midnight)).case_number == "20261201-0001"
    assert store.save(order("c", now=after_midnight.astimezone(timezone.utc))).case_number == "20261201-0002"


def test_case_numbers_are_unique_under_concurrent_saves(store: WorkOrderStore) -> None:
    n, threads = 40, 8
    start = threading.Barrier(threads)

    def save(i: int) -> WorkOrder:
        if i < threads:
            start.wait()  # the first wave starts together
        return store.save(order(f"k{i}"))

    with ThreadPoolExecutor(threads) as pool:
        saved = list(pool.map(save, range(n)))
    numbers = sorted(o.case_number or "" for o in saved)
    assert numbers == [f"20261127-{i:04d}" for i in range(1, n + 1)]
    assert store.count() == n


def test_one_call_saved_from_many_threads_at_once_has_one_number(store: WorkOrderStore) -> None:
    threads = 8
    start = threading.Barrier(threads)

    def save(i: int) -> WorkOrder:
        start.wait()
        return store.save(order("same", notes=f"desk {i}"))

    with ThreadPoolExecutor(threads) as pool:
        saved = list(pool.map(save, range(threads)))
    assert {o.case_number for o in saved} == {"20261127-0001"}
    assert store.count() == 1
    assert store.save(order("next")).case_number == "20261127-0002"  # no number was lost or given twice


def test_the_table_refuses_a_transfer_without_its_agency_whatever_writes_it(store: WorkOrderStore) -> None:
    good = store.save(order("c1", handling="transferred", agency_id="water"))
    with pytest.raises(IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(work_orders.update().where(work_orders.c.call_id == good.call_id).values(agency_id=None))
    with pytest.raises(IntegrityError):
        store.save(dataclasses.replace(order("c2"), urgency="whenever"))


# -- the citizen's history ----------------------------------------------------------------

def test_history_is_the_callers_calls_in_the_window_newest_first(engine: Engine, store: WorkOrderStore) -> None:
    calls = CallStore(engine)
    now = FRIDAY
    me, other = "13812345678", "13900000002"
    calls.save(call("old", me, now - timedelta(days=40)))
    calls.save(call("d20", me, now - timedelta(days=20), agent_id="1002"))
    calls.save(call("d5", me, now - timedelta(days=5), attrs={"satisfaction": "unsatisfied"}))
    calls.save(call("d1", me, now - timedelta(days=1)))
    calls.save(call("theirs", other, now - timedelta(days=2)))
    store.save(order("d20", now=now - timedelta(days=20), category="04.03.01", handling="transferred",
                     agency_id="gas", notes="已派抢修"))
    store.save(order("d5", now=now - timedelta(days=5), request="又停水了"))
    store.save(order("theirs", now=now - timedelta(days=2), caller=other, request="别人的诉求"))

    history = store.history(me, now - timedelta(days=30), now)
    assert [c.call_id for c in history] == ["d1", "d5", "d20"]
    d1, d5, d20 = history
    assert d1.work_order is None and d1.agent_id == "1001" and d1.outcome == "answered" and d1.queue == "main"
    assert d1.arrived_at == now - timedelta(days=1) and d1.arrived_at.utcoffset() == timedelta(hours=8)
    assert d5.work_order is not None and d5.work_order.request == "又停水了"
    assert d5.satisfaction == "unsatisfied" and d5.work_order.status == "supervision"  # the survey's answer
    w = d20.work_order
    assert w is not None and d20.agent_id == "1002"
    assert (w.case_number, w.category.code, w.category.path_zh, w.category.path_en) == (
        "20261107-0001", "04.03.01", ("城市公用事业", "燃气", "燃气泄漏"), ("Utilities", "Gas", "Gas leak"))
    assert (w.status, w.notes, w.handling, w.agency_id, w.urgency) == ("overdue", "已派抢修", "transferred", "gas",
                                                                       "emergency")
    assert [c.call_id for c in store.history(me, now - timedelta(days=10), now)] == ["d1", "d5"]
    assert [c.call_id for c in store.history(me, now - timedelta(days=30), now, limit=1)] == ["d1"]
    assert [c.call_id for c in store.history(other, now - timedelta(days=30), now)] == ["theirs"]


@pytest.mark.parametrize("caller", ["", "anonymous", "unknown"])
def test_a_withheld_number_has_no_history(engine: Engine, store: WorkOrderStore, caller: str) -> None:
    calls = CallStore(engine)
    for i in range(3):
        calls.save(call(f"anon{i}", caller, FRIDAY - timedelta(hours=i)))
    assert store.history(caller, FRIDAY - timedelta(days=30), FRIDAY) == []


# -- the call record: agency legs and the survey ------------------------------------------

def test_stored_call_tells_the_agent_the_caller_and_the_agency_leg(engine: Engine, store: WorkOrderStore) -> None:
    calls = CallStore(engine)
    calls.save(call("plain", "13812345678", FRIDAY))
    calls.save(call("3way", "13812345678", FRIDAY, attrs={"handling": "three_party"}))
    leg = {"leg": 0, "agency": "water", "number": "053186060001", "mode": "consult", "attempt": 1,
           "dialled_at": FRIDAY.timestamp(), "answered_at": None, "ended_at": FRIDAY.timestamp() + 3, "end": "busy"}
    calls.save(call("legged", "13812345678", FRIDAY), [CallEvent("legged", FRIDAY.timestamp(), "agency_leg", leg)])
    plain = store.stored_call("plain")
    assert plain is not None and (plain.caller, plain.agent_id, plain.agency_leg) == ("13812345678", "1001", False)
    assert plain.arrived_at == FRIDAY
    assert store.stored_call("3way").agency_leg is True  # type: ignore[union-attr]
    assert store.stored_call("legged").agency_leg is True  # type: ignore[union-attr]
    assert store.stored_call("nope") is None


def test_the_survey_answer_reaches_the_order_whichever_comes_first(engine: Engine, store: WorkOrderStore) -> None:
    assert store.set_satisfaction("c1", "satisfied") is False  # no order yet
    CallStore(engine).save(call("c1", "13812345678", FRIDAY, attrs={"satisfaction": "basically_satisfied"}))
    assert store.save(order("c1")).satisfaction == "basically_satisfied"  # from the call record
    assert store.set_satisfaction("c1", "unsatisfied") is True
    kept = store.save(order("c1", notes="回访"))
    stored = store.get("c1")
    assert kept.satisfaction == "unsatisfied" and stored is not None and stored.satisfaction == "unsatisfied"
    with pytest.raises(ValueError):
        store.set_satisfaction("c1", "thrilled")


# -- the supervisors' list ----------------------------------------------------------------

def test_filters_and_paging(store: WorkOrderStore) -> None:
    store.save(order("a", now=FRIDAY - timedelta(days=2), category="04.03.01", district="shizhong"))
    store.save(order("b", now=FRIDAY - timedelta(days=1), category="04.01.02", agent_id="1002", caller="13900000002"))
    store.save(order("c", now=FRIDAY, category="11.01.01", handling="transferred", agency_id="social_insurance",
                     three_party=True))

    def ids(**kw: Any) -> list[str]:
        return [o.call_id for o in store.list_orders(OrderQuery(**kw), FRIDAY)]

    assert ids() == ["c", "b", "a"]  # newest first
    assert ids(category="04") == ["b", "a"] and ids(category="04.03") == ["a"] and ids(category="04.03.01") == ["a"]
    assert ids(category="11.01.01") == ["c"] and ids(category="01") == []
    assert ids(district="shizhong") == ["a"] and ids(agent_id="1002") == ["b"] and ids(caller="13900000002") == ["b"]
    assert ids(handling="transferred") == ["c"] and ids(agency_id="social_insurance") == ["c"]
    assert ids(urgency="emergency") == ["a"] and ids(three_party=True) == ["c"] and ids(three_party=False) == ["b", "a"]
    assert ids(case_number="20261126-0001") == ["b"]
    assert ids(created_from=FRIDAY - timedelta(days=1)) == ["c", "b"]
    assert ids(created_to=FRIDAY - timedelta(days=1)) == ["a"]
    assert ids(limit=2) == ["c", "b"] and ids(limit=2, offset=2) == ["a"]


def test_the_status_filter_agrees_with_status_of(store: WorkOrderStore) -> None:
    now = FRIDAY
    store.save(order("direct", now=now))
    store.save(order("unhappy", now=now, satisfaction="unsatisfied"))
    store.save(order("fresh", now=now, handling="transferred", agency_id="water"))
    store.save(order("late", now=now - timedelta(days=10), handling="transferred", agency_id="water"))
    store.save(order("late_unhappy", now=now - timedelta(days=10), handling="transferred", agency_id="water",
                     satisfaction="unsatisfied"))
    every = store.list_orders(OrderQuery(), now)
    seen = set()
    for status in STATUSES:
        found = {o.call_id for o in store.list_orders(OrderQuery(status=status), now)}
        assert found == {o.call_id for o in every if status_of(o, now) == status}, status
        assert found, status  # every status is exercised
        seen |= found
    assert seen == {o.call_id for o in every}
    with pytest.raises(ValueError):
        store.list_orders(OrderQuery(status="lost"), now)


# -- the migration ------------------------------------------------------------------------

def test_migration_0004_adds_the_tables_and_goes_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        migrate(engine)
        assert {"work_orders", "work_order_days"} <= set(inspect(engine).get_table_names())
        assert {i["name"] for i in inspect(engine).get_indexes("work_orders")} >= {
            "uq_work_orders_case_number", "ix_work_orders_caller_created"}
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        assert not {"work_orders", "work_order_days"} & set(inspect(engine).get_table_names())
        migrate(engine)
        store = WorkOrderStore(engine, CONFIG.taxonomy, TZ)
        assert store.save(order()).case_number == "20261127-0001"
    finally:
        engine.dispose()
