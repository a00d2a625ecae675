"""hotline.store.cases on a real SQLite file and a real PostgreSQL database (a throw-away one
per module): migration 0006 (the tables, the agency role's CHECK, back and forth), cases
opened from saved work orders, every field round-tripping, the filters (the SQL overdue
rule agrees with ``cases.lifecycle.overdue``), automatic supervision on opening and on the
overdue sweep, follow-ups scheduled, retried and answered, and concurrent first saves."""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from cases.followup import sampled
from cases.lifecycle import (Accept, AskForMoreTime, CaseState, GrantMoreTime, IllegalTransition, Reply, Transfer,
                             apply, open_case, overdue)
from cases.query import CaseQuery, matches
from cases.rules import CaseRules, load_rules
from cases.supervision import SupervisionRules
from hotline.api.users import UserStore
from hotline.settings import PROJECT_ROOT
from hotline.store.calls import MIGRATIONS, make_engine, migrate
from hotline.store.cases import CaseNotFound, CaseStore, WrongAgency
from outbound.agencies import load_directory
from sql.schema import metadata
from tests.unit.test_records_store import fresh_pg_database
from workorders.config import load_work_order_config
from workorders.model import WorkOrder, validate

S = CaseState
DIRECTORY = load_directory(PROJECT_ROOT / "outbound" / "agencies.yaml")
CONFIG = load_work_order_config(DIRECTORY)
CAL, TZ = CONFIG.calendar, CONFIG.calendar.tz
RULES = load_rules()
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
MINE = {"cases", "case_events", "follow_ups"}


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (f"sqlite:///{tmp_path / 'db' / 'cases.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by this module's tests
        for table in (*sorted(MINE), "api_sessions", "users"):
            conn.execute(text(f"DELETE FROM {table}"))
    try:
        yield engine
    finally:
        engine.dispose()


def store_of(engine: Engine, rules: CaseRules = RULES) -> CaseStore:
    return CaseStore(engine, CAL, CONFIG.taxonomy, rules)


@pytest.fixture
def store(engine: Engine) -> CaseStore:
    return store_of(engine)


def order(number: str = "20261123-0001", now: datetime = MONDAY, **fields: Any) -> WorkOrder:
    draft: dict[str, Any] = {"call_id": f"call-{number}", "caller": "13812345678", "agent_id": "1001", "now": now,
                             "category": "04.01.01", "request": "经十路123号小区停水两天", "district": "lixia",
                             "handling": "transferred", "agency_id": "water"}
    draft.update(fields)
    result = validate(draft, CONFIG.taxonomy, DIRECTORY, CONFIG.districts, CAL)
    assert isinstance(result, WorkOrder), result
    return dataclasses.replace(result, case_number=number)


def kinds(store: CaseStore, number: str) -> list[str]:
    return [e.kind for e in store.events(number)]


# -- migration 0006 -------------------------------------------------------------------------

def _alembic(engine: Engine, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_migration_0006_matches_the_schema_and_goes_back(engine: Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if any(name in repr(d) for name in (*MINE, "users"))] == []
    assert {c["name"] for c in inspect(engine).get_check_constraints("users")} >= {"ck_users_role", "ck_users_agency"}
    users = UserStore(engine)
    users.add_user("bob", "agent", "h", agent_id="1001", roster={"1001"}, now=1.8e9)
    users.add_user("wendy", "agency", "h", agent_id=None, roster=set(), now=1.8e9, agency_id="water",
                   agencies=DIRECTORY.ids)
    assert users.user("wendy") is not None and users.user("wendy").agency_id == "water"  # type: ignore[union-attr]
    with pytest.raises(IntegrityError):  # the table checks it too, whatever writes it
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, role, password_hash, disabled, created_at) "
                              "VALUES ('nobody', 'agency', 'h', false, '2026-01-01 00:00:00')"))
    _alembic(engine, "downgrade", "0005")
    assert not MINE & set(inspect(engine).get_table_names())
    assert "agency_id" not in {c["name"] for c in inspect(engine).get_columns("users")}
    with engine.connect() as conn:  # the agent stays; the agency account could not exist before
        assert conn.execute(text("SELECT username FROM users ORDER BY username")).scalars().all() == ["bob"]
    migrate(engine)
    assert MINE <= set(inspect(engine).get_table_names())
    assert UserStore(engine).user("bob") is not None


# -- opening from work orders ---------------------------------------------------------------

def test_a_transferred_order_opens_a_transferred_case_once(store: CaseStore) -> None:
    case = store.open_case_for(order())
    assert (case.state, case.agency_id, case.transferred_at, case.caller, case.address) == (
        S.TRANSFERRED, "water", MONDAY, "13812345678", "经十路123号")
    assert (case.accept_due, case.reply_due) == (datetime(2026, 11, 25, 10, 0, tzinfo=TZ),
                                                 datetime(2026, 11, 30, 10, 0, tzinfo=TZ))
    assert store.get("20261123-0001") == case and store.by_call("call-20261123-0001") == case
    assert store.open_case_for(order()) == case  # a second save of the same order changes nothing
    assert kinds(store, "20261123-0001") == ["open", "transfer"]
    entries = store.events("20261123-0001")
    assert entries[0].data == {"call_id": "call-20261123-0001", "agent_id": "1001"}
    assert [e.state for e in entries] == ["open", "transferred"] and entries[1].data == {"agency_id": "water"}
    assert all(e.at == MONDAY and e.at.tzinfo is not None for e in entries)


def test_a_direct_order_closes_its_case_and_a_change_to_transferred_transfers_it(store: CaseStore) -> None:
    direct = store.open_case_for(order(handling="direct", agency_id=None))
    assert (direct.state, direct.closed_at, direct.accept_due) == (S.HANDLED_DIRECTLY, MONDAY, None)
    later = MONDAY + timedelta(hours=1)
    moved = store.open_case_for(order(handling="transferred", now=later))
    assert (moved.state, moved.agency_id, moved.transferred_at) == (S.TRANSFERRED, "water", later)
    again = store.open_case_for(order(agency_id="heating", now=later + timedelta(minutes=5)))
    assert (again.state, again.agency_id) == (S.TRANSFERRED, "heating")
    assert kinds(store, "20261123-0001") == ["open", "handle_directly", "transfer", "return", "transfer"]


def test_the_order_needs_its_case_number(store: CaseStore) -> None:
    with pytest.raises(ValueError, match="no case number"):
        store.open_case_for(dataclasses.replace(order(), case_number=None))


def test_every_field_round_trips_and_equals_the_pure_machine(store: CaseStore) -> None:
    store.open_case_for(order())
    pure = open_case("20261123-0001", "call-20261123-0001", MONDAY, CAL, RULES.deadlines, caller="13812345678",
                     category="04.01.01", district="lixia", address="经十路123号", request="经十路123号小区停水两天")
    pure = apply(pure, Transfer("water"), MONDAY, CAL, RULES.deadlines)
    steps = [(Accept(), 1), (AskForMoreTime("需要更换主管道", 2), 30), (GrantMoreTime("同意"), 31),
             (Reply("阀门已更换"), 50)]
    for event, hours in steps:
        at = MONDAY + timedelta(hours=hours)
        stored = store.act("20261123-0001", event, at, "wendy")
        pure = apply(pure, event, at, CAL, RULES.deadlines)
        assert stored == pure
    assert store.get("20261123-0001") == pure
    assert pure.reply_due == datetime(2026, 12, 2, 10, 0, tzinfo=TZ) and pure.extension_days == 2
    assert [e.actor for e in store.events("20261123-0001")][-4:] == ["wendy"] * 4


def test_an_illegal_event_or_another_agency_changes_nothing(store: CaseStore) -> None:
    store.open_case_for(order())
    before = store.get("20261123-0001")
    with pytest.raises(IllegalTransition, match="Reply is illegal in state transferred"):
        store.act("20261123-0001", Reply("done"), MONDAY, "wendy")
    with pytest.raises(WrongAgency, match="not with agency heating"):
        store.act("20261123-0001", Accept(), MONDAY, "harry", agency_id="heating")
    with pytest.raises(CaseNotFound):
        store.act("20261123-9999", Accept(), MONDAY, "wendy")
    assert store.get("20261123-0001") == before and kinds(store, "20261123-0001") == ["open", "transfer"]
    assert store.act("20261123-0001", Accept(), MONDAY, "wendy", agency_id="water").state is S.ACCEPTED


def test_concurrent_first_saves_open_one_case(store: CaseStore) -> None:
    with ThreadPoolExecutor(4) as pool:
        cases = list(pool.map(lambda _: store.open_case_for(order()), range(4)))
    assert {c.case_number for c in cases} == {"20261123-0001"} and store.count() == 1
    assert kinds(store, "20261123-0001") == ["open", "transfer"]


# -- filters --------------------------------------------------------------------------------

def test_the_filters_agree_with_the_pure_rules(store: CaseStore) -> None:
    at = [MONDAY + timedelta(minutes=i) for i in range(8)]
    store.open_case_for(order("20261123-0001", at[0]))                                       # transferred
    store.open_case_for(order("20261123-0002", at[1], agency_id="heating"))
    store.act("20261123-0002", Accept(), at[1], "h")                                          # accepted
    store.open_case_for(order("20261123-0003", at[2]))
    store.act("20261123-0003", Accept(), at[2], "w")
    store.act("20261123-0003", Reply("ok"), at[2], "w")                                       # replied
    store.open_case_for(order("20261123-0004", at[3], handling="direct", agency_id=None))    # direct
    store.open_case_for(order("20261123-0005", at[4], category="01.01.01", caller="13900000005"))  # emergency
    everything = store.list_cases(CaseQuery(limit=500), MONDAY)
    assert [c.case_number for c in everything] == [f"20261123-000{i}" for i in (5, 4, 3, 2, 1)]
    queries = [CaseQuery(overdue=True), CaseQuery(overdue=False), CaseQuery(agency_id="water"),
               CaseQuery(state=S.ACCEPTED), CaseQuery(supervised=True), CaseQuery(supervised=False),
               CaseQuery(agency_id="water", overdue=True), CaseQuery(caller="13900000005"),
               CaseQuery(opened_from=at[2], opened_to=at[4])]
    for now in (MONDAY, datetime(2026, 11, 25, 10, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)):
        for query in queries:
            expected = [c.case_number for c in everything if matches(c, query, now)]
            assert [c.case_number for c in store.list_cases(query, now)] == expected, (query, now)
    late = datetime(2026, 12, 1, tzinfo=TZ)
    assert {c.case_number: overdue(c, late) for c in everything if overdue(c, late)} == {
        "20261123-0001": ("accept", "reply"), "20261123-0002": ("reply",), "20261123-0005": ("accept", "reply")}
    assert [c.case_number for c in store.list_cases(CaseQuery(limit=2, offset=1), MONDAY)] == [
        "20261123-0004", "20261123-0003"]


def test_the_ranking_reads_the_cases_transferred_in_the_period(store: CaseStore) -> None:
    store.open_case_for(order("20261123-0001", MONDAY))
    store.open_case_for(order("20261123-0002", MONDAY + timedelta(days=1)))
    store.open_case_for(order("20261123-0003", MONDAY, handling="direct", agency_id=None))
    found = store.transferred_between(MONDAY, MONDAY + timedelta(days=1))
    assert [c.case_number for c in found] == ["20261123-0001"]


# -- supervision ------------------------------------------------------------------------------

def test_an_emergency_category_is_supervised_from_the_start(store: CaseStore) -> None:
    case = store.open_case_for(order(category="01.03.02", agency_id="urban_management"))  # a missing manhole cover
    assert case.supervision == ("emergency",) and case.supervised_at == MONDAY
    [entry] = store.supervision_list()
    assert entry.case == case
    assert [(n.kind, n.actor, n.data) for n in entry.notes] == [
        ("flag", "system", {"reason": "emergency", "note": "emergency category 01.03.02"})]


def test_the_third_case_of_one_caller_within_30_days_is_supervised(store: CaseStore) -> None:
    for i, days in enumerate((0, 10, 20)):
        store.open_case_for(order(f"20261123-000{i + 1}", MONDAY + timedelta(days=days), district=f"{'lixia'}",
                                  category=("04.01.01", "06.01.01", "02.01.01")[i]))
    first, second, third = (store.get(f"20261123-000{i}") for i in (1, 2, 3))
    assert first is not None and second is not None and third is not None
    assert (first.supervision, second.supervision, third.supervision) == ((), (), ("repeat_caller",))
    [entry] = store.supervision_list()
    assert entry.notes[0].data["note"] == ("3 cases from 13812345678 within 30 days (this one and "
                                           "20261123-0001, 20261123-0002)")


def test_a_withheld_number_is_never_one_citizen(store: CaseStore) -> None:
    for i in range(4):
        store.open_case_for(order(f"20261123-000{i + 1}", MONDAY + timedelta(hours=i), caller="anonymous",
                                  category=("04.01.01", "06.01.01", "02.01.01", "03.01.01")[i],
                                  request=f"第{i}件事"))
    assert store.supervision_list() == []


def test_the_same_place_reported_again_and_again_is_supervised(engine: Engine) -> None:
    rules = dataclasses.replace(RULES, supervision=SupervisionRules(repeat_caller=None))
    store = store_of(engine, rules)
    numbers = [f"20261123-000{i}" for i in range(1, 6)]
    for i, number in enumerate(numbers):  # five citizens, one district and category, within a week
        store.open_case_for(order(number, MONDAY + timedelta(days=i), caller=f"1390000000{i}",
                                  request=f"暖气不热 {i}", category="04.04.01", agency_id="heating"))
    assert [store.get(n).supervision for n in numbers] == [(), (), (), (), ("repeat_place",)]  # type: ignore[union-attr]
    # three reports of one address, of different categories
    for i, number in enumerate(("20261124-0001", "20261124-0002", "20261124-0003")):
        store.open_case_for(order(number, MONDAY + timedelta(hours=i), caller=f"1380000000{i}", district="huaiyin",
                                  category=("04.01.01", "06.01.01", "02.01.01")[i],
                                  request=("我家在经十路 123 号，停水", "经十路123号施工噪音", "经十路123号门口积水")[i]))
    assert store.get("20261124-0003").supervision == ("repeat_place",)  # type: ignore[union-attr]
    listed = {e.case.case_number: e.notes[0].data["note"] for e in store.supervision_list()}
    assert listed["20261124-0003"] == ("3 cases at 经十路123号 within 7 days (this one and 20261124-0001, "
                                       "20261124-0002)")
    assert list(listed) == ["20261124-0003", "20261123-0005"]  # longest supervised first


def test_the_overdue_sweep_flags_each_overdue_case_once(store: CaseStore) -> None:
    store.open_case_for(order("20261123-0001", MONDAY))
    store.open_case_for(order("20261123-0002", MONDAY + timedelta(days=1)))
    due = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # the first's acceptance deadline
    assert [c.case_number for c in store.sweep_overdue(due - timedelta(seconds=1))] == []
    assert [(c.case_number, c.supervision) for c in store.sweep_overdue(due)] == [("20261123-0001", ("overdue",))]
    assert store.sweep_overdue(due + timedelta(hours=1)) == []
    assert store.supervision_list()[0].notes[0].data == {"reason": "overdue", "note": "deadline missed: accept"}


# -- follow-ups ----------------------------------------------------------------------------------

def replied(store: CaseStore, at: datetime, number: str = "20261123-0001") -> None:
    store.open_case_for(order(number, at - timedelta(hours=2)))
    store.act(number, Accept(), at - timedelta(hours=1), "wendy")
    store.act(number, Reply("已处理"), at, "wendy")


def test_a_reply_schedules_a_follow_up_outside_the_quiet_hours(store: CaseStore) -> None:
    evening = datetime(2026, 11, 24, 20, 30, tzinfo=TZ)
    replied(store, evening)
    [follow_up] = store.follow_ups("20261123-0001")
    assert (follow_up.reason, follow_up.state, follow_up.ready_at) == ("reply", "scheduled", evening)
    assert follow_up.next_attempt_at == datetime(2026, 11, 25, 8, 30, tzinfo=TZ)  # 21:30 is quiet: next morning
    assert store.scheduled_follow_ups(datetime(2026, 11, 25, 8, 29, tzinfo=TZ)) == []
    assert store.scheduled_follow_ups(datetime(2026, 11, 25, 8, 30, tzinfo=TZ)) == [follow_up]


def test_an_unreachable_citizen_is_tried_three_times_then_the_case_closes(store: CaseStore) -> None:
    replied(store, MONDAY)
    at = MONDAY + timedelta(hours=1)
    for attempt in (1, 2):
        tried, case = store.record_attempt("20261123-0001", "no_answer", at)
        assert (tried.state, tried.attempts, case.state) == ("scheduled", attempt, S.REPLIED)
        assert tried.next_attempt_at is not None and tried.next_attempt_at >= at + timedelta(hours=2)
        at = tried.next_attempt_at
    tried, case = store.record_attempt("20261123-0001", "busy", at)
    assert (tried.state, tried.result, case.state, case.follow_up_result) == (
        "unreachable", "unreachable", S.CLOSED, "unreachable")
    assert case.close_reason == "the citizen could not be reached (3 follow-up calls)"
    assert kinds(store, "20261123-0001")[-5:] == ["follow_up_attempt", "follow_up_attempt", "follow_up_attempt",
                                                  "follow_up_unreachable", "close"]
    with pytest.raises(CaseNotFound, match="no follow-up of case 20261123-0001 is scheduled"):
        store.record_attempt("20261123-0001", "answered", at, satisfied=True)


def test_a_satisfied_answer_closes_and_an_unhappy_one_reopens_and_flags(store: CaseStore) -> None:
    replied(store, MONDAY, "20261123-0001")
    replied(store, MONDAY, "20261123-0002")
    at = MONDAY + timedelta(hours=2)
    _, happy = store.record_attempt("20261123-0001", "answered", at, satisfied=True, solved=True)
    assert (happy.state, happy.satisfied, happy.solved, happy.close_reason) == (
        S.CLOSED, True, True, "the citizen is satisfied (follow-up call)")
    done, unhappy = store.record_attempt("20261123-0002", "answered", at, satisfied=False, solved=False)
    assert (done.state, done.result) == ("done", "unsatisfied")
    assert (unhappy.state, unhappy.reopen_count, unhappy.supervision) == (S.REOPENED, 1, ("unhappy",))
    assert store.scheduled_follow_ups(at + timedelta(days=10)) == []
    # the agency replies again: a new follow-up is scheduled
    store.act("20261123-0002", Accept(), at + timedelta(hours=1), "wendy")
    store.act("20261123-0002", Reply("再次处理"), at + timedelta(hours=2), "wendy")
    assert [f.state for f in store.follow_ups("20261123-0002")] == ["done", "scheduled"]


def test_a_sample_of_direct_cases_is_followed_up(store: CaseStore) -> None:
    picked, skipped = "20261123-0022", "20261123-0001"
    assert sampled(picked, 10) and not sampled(skipped, 10)
    for number in (picked, skipped):
        store.open_case_for(order(number, handling="direct", agency_id=None))
    assert [f.reason for f in store.follow_ups(picked)] == ["direct_sample"] and store.follow_ups(skipped) == []
    _, case = store.record_attempt(picked, "answered", MONDAY + timedelta(hours=2), satisfied=False)
    assert (case.state, case.supervision, case.follow_up_result) == (S.HANDLED_DIRECTLY, ("unhappy",), "unsatisfied")


def test_a_transfer_after_direct_handling_cancels_the_sampled_follow_up(store: CaseStore) -> None:
    store.open_case_for(order("20261123-0022", handling="direct", agency_id=None))
    store.open_case_for(order("20261123-0022", MONDAY + timedelta(minutes=10)))
    assert [f.state for f in store.follow_ups("20261123-0022")] == ["cancelled"]
